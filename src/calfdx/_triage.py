"""Triage: how urgently the patient needs care, from the posterior, red flags and the DVT alert.

Each cause has an urgency level in ``causes.csv`` (``emergency``, ``same_day``, ``routine``,
``self_care``, most urgent first). Level *L* is reached when the total posterior probability
of the causes at *L* or more urgent reaches ``threshold(L)`` from ``triage.csv``. The triage
level is the most urgent of:

* the most urgent level reached by the posterior,
* the level of every red flag (``red_flags.csv``) whose condition holds, and
* ``same_day`` when the DVT alert fires (DVT is not excluded).

So an emergency cause never hides behind a low rank: a 3% chance of acute compartment
syndrome reaches the emergency threshold even when a strain ranks first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._tables import URGENCY_LEVELS, RedFlag, Urgency

if TYPE_CHECKING:
    from ._model import Model
    from ._results import Diagnosis

__all__ = ["Triage", "fired_red_flags", "triage", "unchecked_red_flags"]


@dataclass(frozen=True, slots=True)
class Triage:
    """How urgently the patient needs care, and why.

    Attributes
    ----------
    level : {"emergency", "same_day", "routine", "self_care"}
        The most urgent level reached by the posterior, a red flag or the DVT alert.
    causes : tuple of (cause, probability)
        The causes at that level, most probable first.
    mass : Mapping[str, float]
        For each level, the posterior probability of the causes at that level or more
        urgent.
    thresholds : Mapping[str, float]
        The threshold of each level (``triage.csv``).
    reasons : tuple of str
        Why this level: the threshold reached, the red flags, the DVT alert.
    """

    level: Urgency
    causes: tuple[tuple[str, float], ...]
    mass: Mapping[str, float]
    thresholds: Mapping[str, float]
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary."""
        return {
            "level": self.level,
            "causes": [{"cause": c, "probability": p} for c, p in self.causes],
            "mass": dict(self.mass),
            "thresholds": dict(self.thresholds),
            "reasons": list(self.reasons),
        }

    def __str__(self) -> str:
        return f"Triage: {self.level.upper()} ({'; '.join(self.reasons)})"


def fired_red_flags(model: Model, findings: Mapping[str, str]) -> tuple[RedFlag, ...]:
    """Return the red flags whose condition holds for the (hard) findings, most urgent first."""
    flags = [flag for flag in model._tables.red_flags if flag.holds(findings)]
    return tuple(sorted(flags, key=lambda flag: URGENCY_LEVELS.index(flag.level)))


def unchecked_red_flags(
    model: Model, findings: Mapping[str, str], soft: Mapping[str, object]
) -> tuple[RedFlag, ...]:
    """Return the red flags that soft evidence kept from being checked, most urgent first.

    A flag is unchecked when every term of its condition holds or names a finding given
    only as soft evidence (and at least one term does): had those findings been answered,
    the flag could have fired. Soft evidence never fires a flag.
    """
    flags = [
        flag
        for flag in model._tables.red_flags
        if any(finding in soft for finding, _ in flag.condition)
        and all(findings.get(f) == s or f in soft for f, s in flag.condition)
    ]
    return tuple(sorted(flags, key=lambda flag: URGENCY_LEVELS.index(flag.level)))


def _percent(p: float) -> str:
    return f"{100 * p:.1f}%"


def triage(model: Model, result: Diagnosis) -> Triage | None:
    """Return the triage of ``result``, or None when the tables have no ``triage.csv``."""
    thresholds = model._tables.triage
    if thresholds is None:
        return None
    urgency = result.urgency
    mass: dict[str, float] = {}
    for rank, level in enumerate(URGENCY_LEVELS):
        covered = set(URGENCY_LEVELS[: rank + 1])
        mass[level] = sum(p for cause, p in result.posterior.items() if urgency[cause] in covered)
    by_posterior: Urgency = next(
        (level for level in URGENCY_LEVELS if mass[level] >= thresholds[level]), "self_care"
    )
    candidates: list[Urgency] = [by_posterior]
    reasons = []
    if by_posterior != "self_care":
        scope = "" if by_posterior == "emergency" else " or more urgent"
        reasons.append(
            f"P({by_posterior}{scope} causes) = {_percent(mass[by_posterior])} >= "
            f"{_percent(thresholds[by_posterior])}"
        )
    for flag in result.red_flags:
        candidates.append(flag.level)
        reasons.append(f"red flag {flag.id} ({flag.level})")
    if result.dvt_alert:
        candidates.append("same_day")
        reasons.append("DVT alert")
    level = min(candidates, key=URGENCY_LEVELS.index)
    if not reasons:
        reasons.append("no level above self-care reached; return if symptoms change or worsen")
    causes = tuple((c, p) for c, p in result.posterior.items() if urgency[c] == level)
    return Triage(level, causes, mass, dict(thresholds), tuple(reasons))
