"""Check the optional table files of a folder: red_flags.csv, triage.csv and targets.csv.

These files hold decision support (red flags, triage thresholds) and the published figures the
model must reproduce. Like the checks of the required files (``_validate.py``), each function
checks every row against the vocabulary, collects every problem and returns what could be read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ._rows import (
    _check_choice,
    _check_identifier,
    _check_provenance,
    _check_text,
    _Collector,
    _duplicate,
    _parse_min_ratio,
    _parse_number,
    _Row,
    parse_number,
)
from ._schema import (
    CAUSE_NODE,
    SCORE_TIERS,
    STATISTICS,
    URGENCY_LEVELS,
    Cause,
    Finding,
    RedFlag,
    Source,
    Target,
)


def _red_flags(
    rows: list[_Row],
    findings: Mapping[str, Finding],
    sources: Mapping[str, Source],
    out: _Collector,
) -> tuple[RedFlag, ...]:
    name = "red_flags.csv"
    flags: list[RedFlag] = []
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        ok = _check_identifier(name, row, "flag", "flag", out)
        ok &= _check_choice(name, row, "level", URGENCY_LEVELS, out)
        _check_text(name, row, "message", out)
        _check_provenance(name, row, sources, out)
        condition: list[tuple[str, str]] = []
        for term in row.values["condition"].split("&"):
            finding, sep, state = (part.strip() for part in term.partition("="))
            if not sep or finding not in findings or state not in findings[finding].states:
                allowed = list(findings[finding].states) if finding in findings else None
                detail = (
                    f"unknown state {state!r} for finding {finding!r}; allowed: {allowed}"
                    if allowed
                    else f"unknown finding {finding!r}"
                    if sep
                    else "expected finding=state"
                )
                out.add(
                    name,
                    row.line,
                    "condition",
                    f"each term must be finding=state, joined by ' & '; {detail}. "
                    f"Got {term.strip()!r} instead.",
                )
                ok = False
            condition.append((finding, state))
        if ok and not _duplicate(seen, (row.values["flag"],), name, row, out):
            flags.append(
                RedFlag(
                    row.values["flag"],
                    row.values["level"],  # type: ignore[arg-type]  # checked above
                    tuple(condition),
                    row.values["message"],
                    row.values["source_type"],  # type: ignore[arg-type]  # checked above
                    row.values["source_id"],
                    row.values["reasoning"],
                )
            )
    return tuple(flags)


def _triage(
    rows: list[_Row], sources: Mapping[str, Source], out: _Collector
) -> tuple[dict[str, float] | None, dict[str, float]]:
    name = "triage.csv"
    thresholds: dict[str, float] = {}
    evidence: dict[str, float] = {}
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        ok = _check_choice(name, row, "level", URGENCY_LEVELS, out)
        _check_provenance(name, row, sources, out)
        value = parse_number(row.values["threshold"])
        if value is None or not 0.0 <= value <= 1.0:
            out.add(
                name,
                row.line,
                "threshold",
                f"expected a probability in [0, 1]. Got {row.values['threshold']!r} instead.",
            )
            ok = False
        ratio = _parse_min_ratio(name, row, out)
        if ratio is False:
            ok = False
        if (
            ok
            and value is not None
            and not _duplicate(seen, (row.values["level"],), name, row, out)
        ):
            thresholds[row.values["level"]] = value
            if isinstance(ratio, float):
                evidence[row.values["level"]] = ratio
    missing = [level for level in URGENCY_LEVELS if level not in thresholds]
    if rows and missing and not out.problems:
        out.add(name, None, "level", f"no row for levels {missing}; every level needs one.")
    return (thresholds if rows and not missing else None), evidence


def _target_evidence(
    text: str, findings: Mapping[str, Finding], causes: Mapping[str, Cause]
) -> tuple[tuple[tuple[str, str], ...], tuple[str, str] | None, tuple[str, ...], list[str]]:
    """Parse a target's evidence: ``finding=state``, ``score=tier`` and ``cause!=id`` terms."""
    evidence: list[tuple[str, str]] = []
    score: tuple[str, str] | None = None
    excluded: list[str] = []
    problems: list[str] = []
    for term in (t.strip() for t in text.split("&") if text.strip()):
        left, sep, right = (part.strip() for part in term.partition("!="))
        if sep:
            if left != CAUSE_NODE or right not in causes:
                problems.append(f"'cause!=ID' needs a cause of causes.csv. Got {term!r}.")
            else:
                excluded.append(right)
            continue
        left, sep, right = (part.strip() for part in term.partition("="))
        if left in SCORE_TIERS:
            if right not in SCORE_TIERS[left] or score is not None:
                problems.append(
                    f"score {left!r} takes one tier of {list(SCORE_TIERS[left])}, "
                    f"once. Got {term!r}."
                )
            else:
                score = (left, right)
        elif sep and left in findings and right in findings[left].states:
            if any(f == left for f, _ in evidence):
                problems.append(f"finding {left!r} is given twice.")
            evidence.append((left, right))
        else:
            allowed = (
                f"allowed states: {list(findings[left].states)}"
                if left in findings
                else f"terms are finding=state, {'/'.join(SCORE_TIERS)}=tier or cause!=ID"
            )
            problems.append(f"unknown term {term!r}; {allowed}.")
    return tuple(evidence), score, tuple(excluded), problems


def _targets(
    rows: list[_Row],
    causes: Mapping[str, Cause],
    findings: Mapping[str, Finding],
    settings: frozenset[str],
    sources: Mapping[str, Source],
    out: _Collector,
) -> tuple[Target, ...]:
    name = "targets.csv"
    targets: list[Target] = []
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        before = len(out.problems)
        values = row.values
        _check_identifier(name, row, "target_id", "target", out)
        if settings and values["setting"] not in settings:
            out.add(
                name,
                row.line,
                "setting",
                f"unknown setting {values['setting']!r}; settings in priors.csv: "
                f"{sorted(settings)}.",
            )
        _check_choice(name, row, "statistic", STATISTICS, out)
        if causes and values["cause"] not in causes:
            out.add(name, row.line, "cause", f"unknown cause {values['cause']!r}.")
        evidence, score, excluded, problems = _target_evidence(
            values["evidence"], findings, causes
        )
        for problem in problems:
            out.add(name, row.line, "evidence", problem)
        if values["cause"] in excluded:
            out.add(name, row.line, "evidence", "the target's cause cannot be excluded.")
        if values["statistic"] in ("sensitivity", "specificity") and not (evidence or score):
            out.add(name, row.line, "evidence", f"a {values['statistic']} needs evidence.")
        numbers = [_parse_number(name, row, c, out) for c in ("value", "ci_low", "ci_high")]
        _check_provenance(name, row, sources, out, reasoning="tolerance_reason")
        if values["source_type"] == "expert_estimate":
            out.add(
                name,
                row.line,
                "source_type",
                "a target is a published figure: expected 'published' or 'secondary'.",
            )
        if None not in numbers:
            value, low, high = (float(n) for n in numbers if n is not None)
            upper = math.inf if values["statistic"] == "likelihood_ratio" else 1.0
            if not (0.0 < low <= value <= high <= upper):
                out.add(
                    name,
                    row.line,
                    "value",
                    f"expected 0 < ci_low <= value <= ci_high{' <= 1' if upper == 1 else ''}. "
                    f"Got {low:g} <= {value:g} <= {high:g} instead.",
                )
        if len(out.problems) == before and not _duplicate(
            seen, (values["target_id"],), name, row, out
        ):
            targets.append(
                Target(
                    values["target_id"],
                    values["setting"],
                    values["statistic"],  # type: ignore[arg-type]  # checked above
                    values["cause"],
                    evidence,
                    score,
                    excluded,
                    value,
                    low,
                    high,
                    values["tolerance_reason"],
                    values["source_type"],  # type: ignore[arg-type]  # checked above
                    values["source_id"],
                    values["note"],
                )
            )
    return tuple(targets)
