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

#: Posterior sums below this are recomputed in log space (the linear product may have
#: lost precision to underflow).
_TINY: Final = 1e-280


class Engine:
    """Exact naive-Bayes inference from tables compiled once into numpy arrays.

    Each finding state is one row of a stacked likelihood table (rows in vocabulary order),
    so evidence is a sorted list of row numbers. The posterior is the prior times the product
    of the evidence rows, normalised; when that product underflows, it is recomputed in log
    space. The engine holds only read-only arrays, so one engine may serve many threads.

    Parameters
    ----------
    tables : Tables
        Validated tables.
    """

    __slots__ = ("_label", "_likelihood", "_log_likelihood", "_row", "causes", "findings")

    def __init__(self, tables: Tables) -> None:
        self.causes: tuple[str, ...] = tuple(cause.id for cause in tables.causes)
        self.findings: tuple[Finding, ...] = tables.findings
        # Row 0 of the stacked table is the prior; row r > 0 is the finding state label[r].
        row: dict[str, dict[str, int]] = {}
        label: list[tuple[str, str]] = [("", "")]
        for finding in tables.findings:
            row[finding.id] = {state: len(label) + j for j, state in enumerate(finding.states)}
            label.extend((finding.id, state) for state in finding.states)
        likelihood = np.vstack(
            [tables.prior.reshape(1, -1)]
            + [tables.likelihood[finding.id] for finding in tables.findings]
        )
        with np.errstate(divide="ignore"):
            log_likelihood = np.log(likelihood)
        for array in (likelihood, log_likelihood):
            array.flags.writeable = False
        self._likelihood: FloatArray = likelihood
        self._log_likelihood: FloatArray = log_likelihood
        self._row: Mapping[str, Mapping[str, int]] = row
        self._label: tuple[tuple[str, str], ...] = tuple(label)

    # ---------------------------------------------------------------- evidence as rows
    def fast_rows(
        self, findings: Mapping[str, object] | None, more_findings: Mapping[str, object]
    ) -> list[int] | None:
        """Return the sorted rows of plainly valid findings, or None to take the checked path.

        Only exact ``str`` states of known findings, each given once, are accepted here;
        anything else (booleans, unknowns, mistakes) returns None.
        """
        rows: list[int] = []
        index = self._row
        try:
            if findings is not None:
                if type(findings) is not dict:
                    return None
                for name, value in findings.items():
                    if type(value) is not str:
                        return None
                    rows.append(index[name][value])
            for name, value in more_findings.items():
                if type(value) is not str or (findings is not None and name in findings):
                    return None
                rows.append(index[name][value])
        except (KeyError, TypeError):
            return None
        rows.sort()
        return rows

    def rows(self, evidence: Mapping[str, str]) -> list[int]:
        """Return the sorted rows of checked evidence (finding → state)."""
        return sorted(self._row[finding][state] for finding, state in evidence.items())

    def evidence(self, rows: list[int]) -> dict[str, str]:
        """Return finding → state for sorted rows, in vocabulary order."""
        label = self._label
        return dict(label[r] for r in rows)

    # ---------------------------------------------------------------- inference
    def posterior_rows(self, rows: list[int]) -> FloatArray:
        """Return P(cause | evidence rows) for every cause, in table order.

        Raises
        ------
        ImpossibleEvidenceError
            When the evidence has probability zero under every cause.
        """
        joint: FloatArray = self._likelihood[[0, *rows]].prod(axis=0)
        total = joint.sum()
        if not total > _TINY:
            return self._log_posterior(rows)
        joint /= total
        return joint

    def _log_posterior(self, rows: list[int]) -> FloatArray:
        log_joint: FloatArray = self._log_likelihood[[0, *rows]].sum(axis=0)
        peak = log_joint.max()
        if not np.isfinite(peak):
            raise ImpossibleEvidenceError(self._impossible_message(rows))
        weights: FloatArray = np.exp(log_joint - peak)
        weights /= weights.sum()
        return weights

    def log_joint(self, evidence: Mapping[str, str]) -> FloatArray:
        """Return log P(cause, evidence) for every cause (a new array)."""
        log_joint: FloatArray = self._log_likelihood[[0, *self.rows(evidence)]].sum(axis=0)
        return log_joint

    def posterior(self, evidence: Mapping[str, str]) -> FloatArray:
        """Return P(cause | evidence) for checked evidence (finding → state)."""
        return self.posterior_rows(self.rows(evidence))

    def _impossible_message(self, rows: list[int]) -> str:
        zeros = []
        for r in rows:
            finding, state = self._label[r]
            causes = [
                cause
                for cause, value in zip(self.causes, self._likelihood[r], strict=True)
                if value == 0.0
            ]
            if causes:
                zeros.append(f"{finding}={state!r} (zero under {', '.join(causes)})")
        given = ", ".join(f"{f}={s!r}" for f, s in (self._label[r] for r in rows))
        detail = "; ".join(zeros) if zeros else "the prior is zero where the findings are not"
        return (
            f"Impossible evidence: no cause of the model gives the findings {given} a non-zero "
            f"probability. Findings with a zero likelihood: {detail}. Check the findings, or "
            "give the tables a small non-zero probability for these states."
        )
