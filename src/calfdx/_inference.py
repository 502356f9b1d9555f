r"""Check the caller's findings and answer queries exactly from compiled tables.

The network is naive Bayes (one root ``cause``, findings as its children), so the exact
posterior is

.. math::

    P(c \mid e) = \frac{P(c) \prod_{f \in e} P(f = e_f \mid c)}
                        {\sum_{c'} P(c') \prod_{f \in e} P(f = e_f \mid c')}

where findings that were not observed sum out to one and drop from the product. The
:class:`Engine` compiles the tables once into one array of log-likelihoods (one row per
finding state) and computes this in log space, so a fully observed patient cannot
underflow. pgmpy's ``VariableElimination`` on the same network is the reference the tests
compare against.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._exceptions import (
    DuplicateFindingError,
    EvidenceError,
    ImpossibleEvidenceError,
    InvalidOptionError,
    UnknownFindingError,
    UnknownStateError,
)
from ._tables import Finding, Tables

__all__ = ["UNKNOWN", "Engine", "FindingValue", "check_threshold", "normalize_evidence"]

#: A finding value: a state name, True/False for yes/no findings, or None for unknown.
FindingValue = str | bool | None
#: The string that marks a finding as explicitly unknown (marginalised).
UNKNOWN: Final = "unknown"

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Evidence


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _describe(value: object) -> str:
    return f"{value!r} (of type {type(value).__name__})"


def _state_of(finding: Finding, value: object) -> tuple[str | None, str | None]:
    """Return (state, None) for a usable value, (None, None) for unknown, or (None, problem)."""
    if _is_missing(value) or (
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
    extra = " or True/False" if finding.is_yes_no else ""
    return None, (
        f"Finding {finding.id!r} expects one of the states {list(finding.states)}{extra}, "
        f"or None for unknown. Got {_describe(value)} instead."
    )


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
) -> dict[str, str]:
    """Check findings given as a mapping and as keywords; return finding → state.

    The result is in vocabulary order and leaves out unknown findings (``None``, NaN or
    ``"unknown"``). The caller's objects are only read, never changed.

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
    states: dict[str, str] = {}
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
    return {name: states[name] for name in vocabulary if name in states}


def check_threshold(value: object, name: str = "dvt_threshold") -> float:
    """Return ``value`` as a float if it is a real number in [0, 1]; raise otherwise."""
    if (
        isinstance(value, bool | np.bool_)
        or not isinstance(value, int | float | np.integer | np.floating)
        or not 0.0 <= float(value) <= 1.0
    ):
        msg = f"{name} must be a number in [0, 1]. Got {_describe(value)} instead."
        raise InvalidOptionError(msg)
    return float(value)


# --------------------------------------------------------------------------------------------
# The compiled engine


class Engine:
    """Exact naive-Bayes inference from tables compiled once into numpy arrays.

    The engine holds only read-only arrays, so one engine may serve many threads at once.

    Parameters
    ----------
    tables : Tables
        Validated tables.
    """

    __slots__ = ("_log_likelihood", "_log_prior", "_row", "causes")

    def __init__(self, tables: Tables) -> None:
        self.causes: tuple[str, ...] = tuple(cause.id for cause in tables.causes)
        row: dict[str, dict[str, int]] = {}
        blocks: list[FloatArray] = []
        offset = 0
        for finding in tables.findings:
            row[finding.id] = {state: offset + j for j, state in enumerate(finding.states)}
            blocks.append(tables.likelihood[finding.id])
            offset += len(finding.states)
        with np.errstate(divide="ignore"):
            log_prior = np.log(tables.prior)
            stacked = np.vstack(blocks) if blocks else np.zeros((0, len(self.causes)), np.float64)
            log_likelihood = np.log(stacked)
        log_prior.flags.writeable = False
        log_likelihood.flags.writeable = False
        self._log_prior: FloatArray = log_prior
        self._log_likelihood: FloatArray = log_likelihood
        self._row: Mapping[str, Mapping[str, int]] = row

    def log_joint(self, evidence: Mapping[str, str]) -> FloatArray:
        """Return log P(cause, evidence) for every cause (a new array)."""
        rows = [self._row[finding][state] for finding, state in evidence.items()]
        log_joint: FloatArray = self._log_prior + self._log_likelihood[rows].sum(axis=0)
        return log_joint

    def posterior(self, evidence: Mapping[str, str]) -> FloatArray:
        """Return P(cause | evidence) for every cause, in table order.

        Raises
        ------
        ImpossibleEvidenceError
            When the evidence has probability zero under every cause.
        """
        log_joint = self.log_joint(evidence)
        peak = log_joint.max()
        if not np.isfinite(peak):
            raise ImpossibleEvidenceError(self._impossible_message(evidence))
        weights: FloatArray = np.exp(log_joint - peak)
        weights /= weights.sum()
        return weights

    def _impossible_message(self, evidence: Mapping[str, str]) -> str:
        zeros = []
        for finding, state in evidence.items():
            causes = [
                cause
                for cause, value in zip(
                    self.causes, self._log_likelihood[self._row[finding][state]], strict=True
                )
                if value == -np.inf
            ]
            if causes:
                zeros.append(f"{finding}={state!r} (zero under {', '.join(causes)})")
        given = ", ".join(f"{finding}={state!r}" for finding, state in evidence.items())
        detail = "; ".join(zeros) if zeros else "the prior is zero where the findings are not"
        return (
            f"Impossible evidence: no cause of the model gives the findings {given} a non-zero "
            f"probability. Findings with a zero likelihood: {detail}. Check the findings, or "
            "give the tables a small non-zero probability for these states."
        )
