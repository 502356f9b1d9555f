r"""Triage: how urgently the patient needs care, escalated on evidence, never on unknowns.

Each cause has an urgency level in ``causes.csv`` (``emergency``, ``same_day``, ``routine``,
``self_care``, most urgent first). For each level *L*, the *mass* :math:`M_L(e)` is the total
posterior probability of the causes at *L* or more urgent, given the findings :math:`e`, and
:math:`M_L(\varnothing)` is the same mass for an unexamined patient of this setting (the
prior). The findings' *likelihood ratio* for *L* is the factor by which they multiplied the
odds of that mass:

.. math::

    \mathrm{LR}_L = \frac{M_L(e) / (1 - M_L(e))}{M_L(\varnothing) / (1 - M_L(\varnothing))}

The posterior *reaches* *L* when :math:`M_L(e) \ge` ``threshold(L)`` and, where
``triage.csv`` gives a ``min_likelihood_ratio`` for *L*, :math:`\mathrm{LR}_L \ge`
``min_likelihood_ratio(L)``. A level whose mass reaches its threshold without that evidence
is *not excluded*: the posterior then reaches the next, less urgent level (an emergency that
is not excluded needs a same-day assessment of the findings that would rule it in or out).
The triage level is the most urgent of:

* the most urgent level reached by the posterior (or the level below a level not excluded),
* the level of every red flag (``red_flags.csv``) whose condition holds, and
* ``same_day`` when the DVT alert fires (DVT is not excluded).

An empty form has :math:`\mathrm{LR}_L = 1` for every level, so with a minimum ratio above 1
it never reaches that level, whatever the setting's priors: the level is raised by what was
found, not by what was left unrecorded.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, cast

from ._core import kept_per_model
from ._schema import URGENCY_LEVELS, RedFlag, Urgency

if TYPE_CHECKING:
    from ._core import Compiled, Posterior
    from ._inference import Engine

__all__ = [
    "Triage",
    "fired_red_flags",
    "outcome",
    "triage",
    "triage_level",
    "unchecked_red_flags",
]

#: The triage level and the levels not excluded (reached by the posterior without evidence).
Outcome = tuple[Urgency, tuple[Urgency, ...]]
_LEVELS: Final = cast("tuple[Urgency, ...]", URGENCY_LEVELS)

# Probabilities are clamped to [_EPS, 1 - _EPS] before taking odds, so that every likelihood
# ratio is finite (and JSON-serialisable) even when a mass is exactly 0 or 1.
_EPS: Final = 1e-12


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
    prior_mass : Mapping[str, float]
        For each level, the same mass for an unexamined patient of this setting (the prior).
    likelihood_ratio : Mapping[str, float]
        For each level, the factor by which the findings multiplied the odds of its mass.
    min_likelihood_ratio : Mapping[str, float]
        The likelihood ratio a level needs (``triage.csv``); a level not listed needs none.
    not_excluded : tuple of str
        Levels whose mass reached the threshold without the evidence they need: the
        questions of ``next_questions(rank_by="triage")`` rule them in or out.
    """

    level: Urgency
    causes: tuple[tuple[str, float], ...]
    mass: Mapping[str, float]
    thresholds: Mapping[str, float]
    reasons: tuple[str, ...]
    prior_mass: Mapping[str, float]
    likelihood_ratio: Mapping[str, float]
    min_likelihood_ratio: Mapping[str, float]
    not_excluded: tuple[Urgency, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary: plain Python types, every number finite."""
        return {
            "level": self.level,
            "causes": [{"cause": c, "probability": p} for c, p in self.causes],
            "mass": dict(self.mass),
            "thresholds": dict(self.thresholds),
            "reasons": list(self.reasons),
            "prior_mass": dict(self.prior_mass),
            "likelihood_ratio": dict(self.likelihood_ratio),
            "min_likelihood_ratio": dict(self.min_likelihood_ratio),
            "not_excluded": list(self.not_excluded),
        }

    def __str__(self) -> str:
        return f"Triage: {self.level.upper()} ({'; '.join(self.reasons)})"


class _Memo:
    """What triage keeps per model: the prior's cumulative mass, and the red flags indexed."""

    __slots__ = ("by_term", "prior_mass", "rank")

    def __init__(self, compiled: Compiled) -> None:
        tables = compiled.tables
        prior = {cause.id: float(p) for cause, p in zip(tables.causes, tables.prior, strict=True)}
        self.prior_mass: Mapping[str, float] = MappingProxyType(
            cumulative_mass(compiled.urgency, prior)
        )
        # A flag can hold only if the findings have its first term: (finding, state) -> the
        # flags whose condition starts with it, and () -> the flags without a condition.
        by_term: dict[tuple[str, ...], list[RedFlag]] = {}
        for flag in tables.red_flags:
            by_term.setdefault(flag.condition[0] if flag.condition else (), []).append(flag)
        self.by_term = by_term
        #: Flag id -> its place in the output: most urgent first, then in table order.
        self.rank = {
            flag.id: (URGENCY_LEVELS.index(flag.level), i)
            for i, flag in enumerate(tables.red_flags)
        }


_MEMOS: weakref.WeakKeyDictionary[Engine, _Memo] = weakref.WeakKeyDictionary()


def _memo(compiled: Compiled) -> _Memo:
    return kept_per_model(_MEMOS, compiled, _Memo)


def _most_urgent_first(flags: Iterable[RedFlag]) -> tuple[RedFlag, ...]:
    return tuple(sorted(flags, key=lambda flag: URGENCY_LEVELS.index(flag.level)))


def fired_red_flags(compiled: Compiled, findings: Mapping[str, str]) -> tuple[RedFlag, ...]:
    """Return the red flags whose condition holds for the (hard) findings, most urgent first."""
    memo = _memo(compiled)
    by_term = memo.by_term
    flags = [
        flag
        for term in ((), *findings.items())
        for flag in by_term.get(term, ())
        if flag.holds(findings)
    ]
    rank = memo.rank
    return tuple(sorted(flags, key=lambda flag: rank[flag.id]))


def unchecked_red_flags(
    compiled: Compiled, findings: Mapping[str, str], soft: Mapping[str, object]
) -> tuple[RedFlag, ...]:
    """Return the red flags that soft evidence kept from being checked, most urgent first.

    A flag is unchecked when every term of its condition holds or names a finding given
    only as soft evidence (and at least one term does): had those findings been answered,
    the flag could have fired. Soft evidence never fires a flag.
    """
    if not soft:
        return ()
    return _most_urgent_first(
        flag
        for flag in compiled.tables.red_flags
        if any(finding in soft for finding, _ in flag.condition)
        and all(findings.get(f) == s or f in soft for f, s in flag.condition)
    )


def _percent(p: float) -> str:
    return f"{100 * p:.1f}%"


def _odds(p: float) -> float:
    p = min(max(p, _EPS), 1.0 - _EPS)
    return p / (1.0 - p)


def cumulative_mass(
    urgency: Mapping[str, str], probability: Mapping[str, float]
) -> dict[str, float]:
    """Return, for each level, the probability of the causes at that level or more urgent."""
    by_level: dict[str, list[float]] = {level: [] for level in URGENCY_LEVELS}
    for cause, p in probability.items():
        by_level[urgency[cause]].append(p)
    covered: list[float] = []
    mass: dict[str, float] = {}
    for level in URGENCY_LEVELS:
        covered += by_level[level]
        mass[level] = math.fsum(covered)
    return mass


def triage_level(
    mass: Mapping[str, float],
    prior_mass: Mapping[str, float],
    thresholds: Mapping[str, float],
    min_ratio: Mapping[str, float],
) -> tuple[Urgency, tuple[Urgency, ...], dict[str, float]]:
    """Return the level the posterior reaches, the levels not excluded, and the ratios."""
    ratio: dict[str, float] = {
        level: _odds(mass[level]) / _odds(prior_mass[level]) for level in _LEVELS
    }
    not_excluded: list[Urgency] = []
    for rank, level in enumerate(_LEVELS):
        if mass[level] < thresholds[level]:
            continue
        needed = min_ratio.get(level)
        if needed is None or ratio[level] >= needed:
            return level, tuple(not_excluded), ratio
        # Reached on the prior, not on the findings: assess it, one level less urgent.
        not_excluded.append(level)
        below = _LEVELS[min(rank + 1, len(_LEVELS) - 1)]
        return below, tuple(not_excluded), ratio
    return "self_care", (), ratio


def _prior_mass(compiled: Compiled) -> Mapping[str, float]:
    return _memo(compiled).prior_mass


def outcome(
    compiled: Compiled,
    posterior: Mapping[str, float],
    findings: Mapping[str, str],
    dvt_alert: bool,
) -> Outcome | None:
    """Return the triage level and the levels not excluded for a posterior and findings.

    The same rule as :func:`triage`, without the record: used to preview the level after a
    hypothetical answer. None when the tables have no ``triage.csv``.
    """
    thresholds = compiled.tables.triage
    if thresholds is None:
        return None
    mass = cumulative_mass(compiled.urgency, posterior)
    level, not_excluded, _ = triage_level(
        mass, _prior_mass(compiled), thresholds, compiled.tables.triage_evidence
    )
    candidates = [level, *(flag.level for flag in fired_red_flags(compiled, findings))]
    if dvt_alert:
        candidates.append("same_day")
    return min(candidates, key=URGENCY_LEVELS.index), not_excluded


def triage(
    compiled: Compiled, result: Posterior, red_flags: tuple[RedFlag, ...] | None = None
) -> Triage | None:
    """Return the triage of ``result``, or None when the tables have no ``triage.csv``.

    ``red_flags``: the flags that hold for ``result``'s findings, when already known.
    """
    tables = compiled.tables
    thresholds = tables.triage
    if thresholds is None:
        return None
    urgency = result.urgency
    mass = cumulative_mass(urgency, result.posterior)
    prior_mass = _prior_mass(compiled)
    min_ratio = dict(tables.triage_evidence)
    by_posterior, not_excluded, ratio = triage_level(mass, prior_mass, thresholds, min_ratio)
    candidates: list[Urgency] = [by_posterior]
    reasons = []
    for level in not_excluded:
        reasons.append(
            f"{level} causes not excluded: P = {_percent(mass[level])} >= "
            f"{_percent(thresholds[level])}, but the findings raised its odds only "
            f"{ratio[level]:.1f}x (< {min_ratio[level]:g}x needed); "
            f"assess the findings that rule them in or out"
        )
    if by_posterior != "self_care" and not not_excluded:
        scope = "" if by_posterior == "emergency" else " or more urgent"
        evidence = (
            f"; the findings raised its odds {ratio[by_posterior]:.1f}x"
            if by_posterior in min_ratio
            else ""
        )
        reasons.append(
            f"P({by_posterior}{scope} causes) = {_percent(mass[by_posterior])} >= "
            f"{_percent(thresholds[by_posterior])}{evidence}"
        )
    if red_flags is None:
        red_flags = fired_red_flags(compiled, result.findings)
    for flag in red_flags:
        candidates.append(flag.level)
        reasons.append(f"red flag {flag.id} ({flag.level})")
    if result.dvt_alert:
        candidates.append("same_day")
        reasons.append("DVT alert")
    level = min(candidates, key=URGENCY_LEVELS.index)
    if not reasons:
        reasons.append("no level above self-care reached; return if symptoms change or worsen")
    causes = tuple([(c, p) for c, p in result.posterior.items() if urgency[c] == level])
    return Triage(
        level,
        causes,
        mass,
        dict(thresholds),
        tuple(reasons),
        dict(prior_mass),
        ratio,
        min_ratio,
        not_excluded,
    )
