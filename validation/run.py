"""Score the shipped calfdx model on the frozen development set of published case reports.

Loads ``validation/cases.json`` (real case reports, encoded blind to the tables), runs
``calfdx.load_model(setting=...).diagnose(findings)`` on each case and prints, as
markdown: top-1 and top-3 accuracy, DVT-alert sensitivity on the real DVTs (listing the
missed ones), the alert rate on the other cases, triage levels against each final cause's
urgency, and one line per case.

A setting the tables do not define (``suspected_dvt`` before it exists) falls back to
``emergency_department``, with a printed note. The script always exits 0: it measures, it
does not gate. Run it with ``make validate``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import calfdx

CASES_PATH: Final = Path(__file__).with_name("cases.json")
#: Setting used when a case's setting is not in the tables.
FALLBACK_SETTING: Final = "emergency_department"
#: Urgency levels, most urgent first (as in causes.csv and triage).
URGENCY_ORDER: Final = ("emergency", "same_day", "routine", "self_care")


@dataclass(frozen=True, slots=True)
class CaseResult:
    """The model's answer on one case, beside the case's reference diagnosis."""

    case_id: str
    setting: str
    final_cause: str
    cause_urgency: str
    atypical: bool
    top3: tuple[tuple[str, float], ...]
    dvt_probability: float
    dvt_alert: bool
    triage_level: str | None
    error: str | None = None

    @property
    def top1_hit(self) -> bool:
        """Whether the most probable cause is the final cause."""
        return bool(self.top3) and self.top3[0][0] == self.final_cause

    @property
    def top3_hit(self) -> bool:
        """Whether the final cause is among the three most probable causes."""
        return any(cause == self.final_cause for cause, _ in self.top3)

    @property
    def triage_safe(self) -> bool:
        """Whether the triage level is at least as urgent as the final cause's urgency."""
        if self.triage_level not in URGENCY_ORDER:
            return False
        return URGENCY_ORDER.index(self.triage_level) <= URGENCY_ORDER.index(self.cause_urgency)


def load_cases(path: Path = CASES_PATH) -> list[dict[str, Any]]:
    """Return the cases of the development set.

    Parameters
    ----------
    path : Path
        The JSON file (``{"version": 1, "cases": [...]}``).

    Returns
    -------
    list of dict
        One dictionary per case, as stored.
    """
    with path.open(encoding="utf-8") as handle:
        document = json.load(handle)
    cases: list[dict[str, Any]] = document["cases"]
    return cases


def run_cases(cases: list[dict[str, Any]]) -> tuple[list[CaseResult], list[str]]:
    """Diagnose every case with the shipped tables in the case's setting.

    Parameters
    ----------
    cases : list of dict
        Cases as returned by :func:`load_cases`.

    Returns
    -------
    results : list of CaseResult
        One per case, in input order.
    notes : list of str
        Settings that fell back to ``FALLBACK_SETTING``.
    """
    base = calfdx.load_model()
    urgency = {cause.id: cause.urgency for cause in base.causes}
    models: dict[str, calfdx.Model] = {}
    notes: list[str] = []
    results: list[CaseResult] = []
    for case in cases:
        wanted = str(case["setting"])
        setting = wanted if wanted in base.settings else FALLBACK_SETTING
        if setting != wanted and wanted not in models:
            notes.append(
                f"setting {wanted!r} is not in the tables; its cases use {FALLBACK_SETTING!r}."
            )
        if wanted not in models:
            models[wanted] = calfdx.load_model(setting=setting)
        final_cause = str(case["final_cause"])
        diagnosis: calfdx.Diagnosis | None = None
        problem: str | None = None
        try:
            diagnosis = models[wanted].diagnose(dict(case["findings"]))
        except calfdx.CalfdxError as error:
            problem = str(error).splitlines()[0]
        triage = None if diagnosis is None else diagnosis.triage
        results.append(
            CaseResult(
                case_id=str(case["id"]),
                setting=setting,
                final_cause=final_cause,
                cause_urgency=urgency.get(final_cause, "routine"),
                atypical=bool(case["atypical"]),
                top3=() if diagnosis is None else tuple(diagnosis.top(3)),
                dvt_probability=float("nan") if diagnosis is None else diagnosis.dvt_probability,
                dvt_alert=diagnosis is not None and diagnosis.dvt_alert,
                triage_level=None if triage is None else triage.level,
                error=problem,
            )
        )
    return results, notes


def _ratio(numerator: int, denominator: int) -> str:
    if denominator == 0:
        return "n/a"
    return f"{numerator}/{denominator} ({numerator / denominator:.0%})"


def report(results: list[CaseResult], notes: list[str]) -> str:
    """Render the results as markdown.

    Parameters
    ----------
    results : list of CaseResult
        As returned by :func:`run_cases`.
    notes : list of str
        Setting fallbacks to mention.

    Returns
    -------
    str
        Markdown: a summary table, a triage table, missed DVTs and one line per case.
    """
    scored = [r for r in results if r.error is None]
    dvts = [r for r in scored if r.final_cause == "dvt"]
    others = [r for r in scored if r.final_cause != "dvt"]
    atypical = [r for r in scored if r.atypical]
    lines = ["# calfdx on published case reports (validation/cases.json)", ""]
    lines += [f"Note: {note}" for note in notes]
    if notes:
        lines.append("")
    lines += [
        "| measure | value |",
        "| --- | --- |",
        f"| cases | {len(results)} (scored {len(scored)}, errors {len(results) - len(scored)}) |",
        f"| top-1 accuracy | {_ratio(sum(r.top1_hit for r in scored), len(scored))} |",
        f"| top-3 accuracy | {_ratio(sum(r.top3_hit for r in scored), len(scored))} |",
        f"| top-3 accuracy, atypical cases | "
        f"{_ratio(sum(r.top3_hit for r in atypical), len(atypical))} |",
        f"| DVT-alert sensitivity (real DVTs) | "
        f"{_ratio(sum(r.dvt_alert for r in dvts), len(dvts))} |",
        f"| DVT-alert rate on non-DVT cases | "
        f"{_ratio(sum(r.dvt_alert for r in others), len(others))} |",
        f"| triage at least as urgent as the cause | "
        f"{_ratio(sum(r.triage_safe for r in scored), len(scored))} |",
        "",
        "## Triage level by the final cause's urgency",
        "",
        "| cause urgency | n | " + " | ".join(URGENCY_ORDER) + " | none | safe |",
        "| --- | --- | " + " | ".join("---" for _ in URGENCY_ORDER) + " | --- | --- |",
    ]
    for level in URGENCY_ORDER:
        group = [r for r in scored if r.cause_urgency == level]
        if not group:
            continue
        counts = Counter(r.triage_level for r in group)
        cells = " | ".join(str(counts.get(t, 0)) for t in URGENCY_ORDER)
        safe = sum(r.triage_safe for r in group)
        lines.append(f"| {level} | {len(group)} | {cells} | {counts.get(None, 0)} | {safe} |")
    missed = [r for r in dvts if not r.dvt_alert]
    lines += ["", f"## Missed DVTs ({len(missed)} of {len(dvts)})", ""]
    lines += [f"- {r.case_id}: P(dvt)={r.dvt_probability:.3f}" for r in missed] or ["- none"]
    lines += ["", "## Per case", ""]
    for r in results:
        if r.error is not None:
            lines.append(f"- {r.case_id} [{r.final_cause}] ERROR: {r.error}")
            continue
        top = ", ".join(f"{cause} {p:.2f}" for cause, p in r.top3)
        mark = "top1" if r.top1_hit else ("top3" if r.top3_hit else "miss")
        lines.append(
            f"- {r.case_id} [{r.final_cause}{', atypical' if r.atypical else ''}] "
            f"{mark}; top3: {top}; P(dvt)={r.dvt_probability:.3f}"
            f"{' ALERT' if r.dvt_alert else ''}; triage={r.triage_level} "
            f"({'safe' if r.triage_safe else 'UNDER'}, cause {r.cause_urgency}); "
            f"setting={r.setting}"
        )
    return "\n".join(lines)


def main() -> int:
    """Run the development set and print the markdown report; always return 0."""
    results, notes = run_cases(load_cases())
    sys.stdout.write(report(results, notes) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
