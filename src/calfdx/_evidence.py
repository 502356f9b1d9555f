"""Check the caller's findings against the vocabulary, collecting every problem.

A finding's value may be a state name; for a yes/no finding also True/False, 1/0 or a
probability of yes (soft evidence); a mapping of state to probability (soft evidence); or
None, NaN, NaT or ``"unknown"`` for unknown. :func:`normalize_evidence` turns the findings
given as a mapping and as keywords into hard states and soft weights in vocabulary order, or
raises one :class:`~calfdx.EvidenceError` listing every problem, with a suggestion for a
misspelt name.
"""

from __future__ import annotations

import difflib
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from ._checks import as_float, unit_probability
from ._checks import describe as _describe
from ._exceptions import (
    DuplicateFindingError,
    EvidenceError,
    UnknownFindingError,
    UnknownStateError,
)
from ._schema import Finding

__all__ = [
    "UNKNOWN",
    "Evidence",
    "FindingValue",
    "Soft",
    "check_threshold",
    "is_missing",
    "normalize_evidence",
]

#: A finding value: a state name; for yes/no findings also True/False, 1/0 (hard answers) or a
#: probability of yes strictly between 0 and 1 (soft evidence); a mapping of state to
#: probability (soft evidence); or None, NaN, NaT or "unknown" for unknown.
FindingValue = str | bool | float | Mapping[str, float] | None
#: The string that marks a finding as explicitly unknown (marginalised).
UNKNOWN: Final = "unknown"


def is_missing(value: object) -> bool:
    """Return whether a finding value means unknown: None, NaN (any float type) or NA/NaT."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    pandas = sys.modules.get("pandas")  # a value can only be pd.NA or pd.NaT if pandas is loaded
    return pandas is not None and (value is pandas.NA or value is pandas.NaT)


#: Soft evidence: one likelihood weight per state of the finding, in state order.
Soft = tuple[float, ...]


def _soft_of(finding: Finding, value: object) -> tuple[Soft | None, str | None]:
    """Return (weights, None) for soft evidence, or (None, problem)."""
    if isinstance(value, Mapping):
        unknown = [state for state in value if state not in finding.states]
        if unknown:
            return None, (
                f"Soft evidence for finding {finding.id!r} names unknown states {unknown}. "
                f"Allowed states: {list(finding.states)}."
            )
        weights = [value.get(state, 0.0) for state in finding.states]
    elif finding.is_yes_no and (p_yes := as_float(value)) is not None:
        yes_first = finding.states.index("yes") == 0
        weights = [p_yes, 1.0 - p_yes] if yes_first else [1.0 - p_yes, p_yes]
    else:
        return None, (
            f"Finding {finding.id!r} has more than yes/no; give soft evidence as a mapping of "
            f"state to probability, e.g. {{{finding.states[0]!r}: 0.7, "
            f"{finding.states[1]!r}: 0.3}}. Got {_describe(value)} instead."
        )
    numbers = [as_float(w) for w in weights]
    checked = [w for w in numbers if w is not None and 0.0 <= w <= 1.0]
    if len(checked) != len(weights) or abs(sum(checked) - 1.0) > 1e-6:
        return None, (
            f"Soft evidence for finding {finding.id!r} must be probabilities in [0, 1] that "
            f"sum to 1 over the states {list(finding.states)}. Got {_describe(value)} instead."
        )
    return tuple(checked), None


def _state_of(finding: Finding, value: object) -> tuple[str | Soft | None, str | None]:
    """Return (state or soft weights, None), (None, None) for unknown, or (None, problem)."""
    if is_missing(value) or (
        isinstance(value, str) and value == UNKNOWN and UNKNOWN not in finding.states
    ):
        return None, None
    if isinstance(value, bool | np.bool_):
        if finding.is_yes_no:
            return ("yes" if value else "no"), None
        return None, (
            f"Finding {finding.id!r} does not take True/False (only yes/no findings do). "
            f"Allowed states: {list(finding.states)}."
        )
    if isinstance(value, str):
        if value in finding.states:
            return str(value), None
        lowered = {state.lower(): state for state in finding.states}
        close = difflib.get_close_matches(value, finding.states, n=1) or (
            [lowered[value.lower()]] if value.lower() in lowered else []
        )
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return None, (
            f"Unknown state {value!r} for finding {finding.id!r}.{hint} "
            f"Allowed states: {list(finding.states)}."
        )
    if finding.is_yes_no and isinstance(value, int | float | np.integer | np.floating):
        return _yes_no_number(finding, value)
    if isinstance(value, Mapping):
        return _soft_of(finding, value)
    extra = (
        ", True/False, 1/0 or a probability of yes strictly between 0 and 1"
        if finding.is_yes_no
        else ""
    )
    return None, (
        f"Finding {finding.id!r} expects one of the states {list(finding.states)}{extra}, "
        f"a mapping of state to probability, or None for unknown. Got {_describe(value)} "
        "instead."
    )


def _yes_no_number(finding: Finding, value: object) -> tuple[str | Soft | None, str | None]:
    """Read a number given for a yes/no finding: 1 and 0 are hard answers, (0, 1) is soft.

    Integers (Python or numpy) and floats equal to 1 or 0 mean ``"yes"`` or ``"no"``, as in
    pandas and EHR exports; a float strictly between 0 and 1 is the probability of yes (soft
    evidence). Anything else is a problem.
    """
    number = as_float(value)
    if number == 1.0:
        return "yes", None
    if number == 0.0:
        return "no", None
    if isinstance(value, float | np.floating) and number is not None and 0.0 < number < 1.0:
        return _soft_of(finding, number)
    return None, (
        f"Finding {finding.id!r} takes 'yes'/'no', True/False or 1/0 as an answer, or a "
        "probability of yes strictly between 0 and 1 as soft evidence. Got "
        f"{_describe(value)} instead."
    )


@dataclass(frozen=True, slots=True)
class Evidence:
    """Checked evidence: hard states, and soft (virtual) evidence as weights per state."""

    hard: dict[str, str]
    soft: dict[str, Soft]


def _unknown_finding(name: object, vocabulary: Mapping[str, Finding]) -> str:
    if not isinstance(name, str):
        return f"Finding names are strings. Got {_describe(name)} instead."
    close = difflib.get_close_matches(name, list(vocabulary), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"Unknown finding {name!r}.{hint} Known findings: {', '.join(vocabulary)}."


def normalize_evidence(
    vocabulary: Mapping[str, Finding],
    findings: Mapping[str, object] | None,
    more_findings: Mapping[str, object],
) -> Evidence:
    """Check findings given as a mapping and as keywords.

    Hard states and soft evidence come back in vocabulary order, leaving out unknown
    findings (``None``, NaN or ``"unknown"``). The caller's objects are only read.

    Raises
    ------
    EvidenceError
        Or one of its subclasses, listing every problem found.
    """
    if findings is None:
        items: list[tuple[object, object]] = []
    elif isinstance(findings, Mapping):
        items = list(findings.items())
    else:
        msg = (
            "Findings must be a mapping of finding name to state, e.g. "
            f"{{'swelling': 'yes'}}, or keywords. Got {_describe(findings)} instead."
        )
        raise EvidenceError(msg)
    problems: list[tuple[type[EvidenceError], str]] = []
    given = {name for name, _ in items}
    for keyword in more_findings:
        if keyword in given:
            problems.append(
                (
                    DuplicateFindingError,
                    f"Finding {keyword!r} was given twice: in the mapping and as a keyword.",
                )
            )
    states: dict[str, str | Soft] = {}
    for name, value in [*items, *more_findings.items()]:
        if not isinstance(name, str) or name not in vocabulary:
            problems.append((UnknownFindingError, _unknown_finding(name, vocabulary)))
            continue
        state, problem = _state_of(vocabulary[name], value)
        if problem is not None:
            problems.append((UnknownStateError, problem))
        elif state is not None:
            states[name] = state
    if problems:
        kinds = {kind for kind, _ in problems}
        kind = kinds.pop() if len(kinds) == 1 else EvidenceError
        messages = tuple(dict.fromkeys(message for _, message in problems))
        message = messages[0] if len(messages) == 1 else "\n".join(("", *messages))
        raise kind(message, messages)
    hard: dict[str, str] = {}
    soft: dict[str, Soft] = {}
    for name in vocabulary:
        value = states.get(name)
        if isinstance(value, str):
            hard[name] = value
        elif value is not None:
            soft[name] = value
    return Evidence(hard, soft)


def check_threshold(value: object, name: str = "dvt_threshold") -> float:
    """Return ``value`` as a float if it is a real number in [0, 1]; raise otherwise."""
    return unit_probability(value, name)
