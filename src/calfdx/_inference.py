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
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from ._checks import as_float, unit_probability
from ._checks import describe as _describe
from ._exceptions import (
    DuplicateFindingError,
    EvidenceError,
    ImpossibleEvidenceError,
    UnknownFindingError,
    UnknownStateError,
)
from ._tables import Finding, Tables

__all__ = [
    "UNKNOWN",
    "Engine",
    "Evidence",
    "FindingValue",
    "ScoreTier",
    "Soft",
    "check_threshold",
    "normalize_evidence",
]

#: A finding value: a state name; for yes/no findings also True/False, 1/0 (hard answers) or a
#: probability of yes strictly between 0 and 1 (soft evidence); a mapping of state to
#: probability (soft evidence); or None, NaN, NaT or "unknown" for unknown.
FindingValue = str | bool | float | Mapping[str, float] | None
#: The string that marks a finding as explicitly unknown (marginalised).
UNKNOWN: Final = "unknown"

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Evidence


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


# --------------------------------------------------------------------------------------------
# Likelihood of evidence, for any tables (also with leading batch axes)

#: An additive clinical score and a range of it: (points of each finding state, lowest and
#: highest total). ``({"active_cancer": {"yes": 1}, ...}, 3, None)`` is "score >= 3".
ScoreTier = tuple[Mapping[str, Mapping[str, int]], int | None, int | None]


def evidence_likelihood(
    likelihood: Mapping[str, FloatArray],
    states: Mapping[str, tuple[str, ...]],
    hard: Mapping[str, str],
    score: ScoreTier | None = None,
) -> FloatArray:
    r"""Return P(evidence | cause) for every cause, exactly.

    Findings are independent given the cause, so the likelihood of hard evidence is the
    product of its rows, and the likelihood of a score tier is the sum, over every
    combination of the score's findings that lands in the tier, of the product of their
    rows (computed by convolving the per-finding point distributions, not by enumeration).
    Findings given in ``hard`` that also score are held at their state.

    Parameters
    ----------
    likelihood : mapping of finding to array (..., states, causes)
        P(finding = state | cause); leading axes (a batch of tables) broadcast.
    states : mapping of finding to tuple of str
        The states of each finding, in the order of the arrays' state axis.
    hard : mapping of finding to state
        Observed findings.
    score : ScoreTier, optional
        A score tier the evidence also conditions on.

    Returns
    -------
    ndarray (..., causes)
        P(evidence | cause). Without evidence, ones.

    Examples
    --------
    >>> import numpy as np
    >>> table = {"a": np.array([[0.9, 0.2], [0.1, 0.8]]), "b": np.array([[0.5, 0.1], [0.5, 0.9]])}
    >>> states = {"a": ("yes", "no"), "b": ("yes", "no")}
    >>> evidence_likelihood(table, states, {"a": "yes"}).tolist()
    [0.9, 0.2]
    >>> points = {"a": {"yes": 1}, "b": {"yes": 1}}
    >>> evidence_likelihood(table, states, {}, (points, 2, None)).round(3).tolist()  # both
    [0.45, 0.02]
    """
    points = score[0] if score is not None else {}
    result: FloatArray | None = None
    for finding, state in hard.items():
        if finding not in points:
            row = likelihood[finding][..., states[finding].index(state), :]
            result = row if result is None else result * row
    if score is not None:
        points, low, high = score
        # The distribution of the total over its possible values, as an array whose first axis
        # is the total minus the lowest possible total; each finding convolves it once.
        shape = np.broadcast_shapes(
            *(likelihood[f].shape[:-2] + likelihood[f].shape[-1:] for f in points)
        )
        offset = 0
        totals: FloatArray = np.ones((1, *shape))
        for finding, scored in points.items():
            table = likelihood[finding]
            given = hard.get(finding)
            allowed = [
                (j, scored.get(state, 0))
                for j, state in enumerate(states[finding])
                if given is None or state == given
            ]
            low_gain = min(gain for _, gain in allowed)
            count = len(totals)
            step = np.zeros((count + max(gain for _, gain in allowed) - low_gain, *shape))
            for j, gain in allowed:
                step[gain - low_gain : gain - low_gain + count] += totals * table[..., j, :]
            totals, offset = step, offset + low_gain
        start = 0 if low is None else max(low - offset, 0)
        stop = len(totals) if high is None else max(high - offset + 1, 0)
        in_tier: FloatArray = totals[start:stop].sum(axis=0)
        result = in_tier if result is None else result * in_tier
    if result is None:
        first = next(iter(likelihood.values()))
        return np.ones(first.shape[:-2] + first.shape[-1:])
    return np.broadcast_to(result, np.broadcast_shapes(result.shape, (1,))).copy()


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

    __slots__ = (
        "_block",
        "_label",
        "_likelihood",
        "_log_likelihood",
        "_row",
        "causes",
        "findings",
    )

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
        self._block: Mapping[str, slice] = {
            name: slice(min(rows.values()), max(rows.values()) + 1) for name, rows in row.items()
        }
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

    def evidence_weights(
        self, hard: Mapping[str, str], soft: Mapping[str, Soft]
    ) -> list[tuple[str, str, FloatArray]]:
        """Return (finding, state or "soft", weight per state) for each observed finding.

        A hard state is a one-hot weight vector; in table order, so ``weights @
        block(finding)`` is P(evidence | cause) per cause.
        """
        observed = []
        for finding in self.findings:
            if finding.id in hard:
                state = hard[finding.id]
                weights = np.array([1.0 if s == state else 0.0 for s in finding.states])
                observed.append((finding.id, state, weights))
            elif finding.id in soft:
                observed.append((finding.id, "soft", np.asarray(soft[finding.id], np.float64)))
        return observed

    def evidence(self, rows: list[int]) -> dict[str, str]:
        """Return finding → state for sorted rows, in vocabulary order."""
        label = self._label
        return dict(label[r] for r in rows)

    # ---------------------------------------------------------------- inference
    def soft_factor(self, finding: str, weights: Soft) -> FloatArray:
        """Return P(soft evidence | cause): the weights times the finding's likelihoods."""
        factor: FloatArray = np.asarray(weights) @ self._likelihood[self._block[finding]]
        return factor

    def block(self, finding: str) -> FloatArray:
        """Return the (states, causes) likelihood matrix of one finding (read-only)."""
        return self._likelihood[self._block[finding]]

    def posterior_rows(
        self, rows: list[int], soft: Mapping[str, Soft] | None = None
    ) -> FloatArray:
        """Return P(cause | evidence rows and soft evidence) for every cause, in table order.

        Raises
        ------
        ImpossibleEvidenceError
            When the evidence has probability zero under every cause.
        """
        joint: FloatArray = self._likelihood[[0, *rows]].prod(axis=0)
        for finding, weights in (soft or {}).items():
            joint *= self.soft_factor(finding, weights)
        total = joint.sum()
        if not total > _TINY:
            return self._log_posterior(rows, soft)
        joint /= total
        return joint

    def log_joint_rows(
        self, rows: list[int], soft: Mapping[str, Soft] | None = None
    ) -> FloatArray:
        """Return log P(cause, evidence) for every cause (a new array)."""
        log_joint: FloatArray = self._log_likelihood[[0, *rows]].sum(axis=0)
        with np.errstate(divide="ignore"):
            for finding, weights in (soft or {}).items():
                log_joint += np.log(self.soft_factor(finding, weights))
        return log_joint

    def _log_posterior(
        self, rows: list[int], soft: Mapping[str, Soft] | None = None
    ) -> FloatArray:
        log_joint = self.log_joint_rows(rows, soft)
        peak = log_joint.max()
        if not np.isfinite(peak):
            raise ImpossibleEvidenceError(self._impossible_message(rows, soft))
        weights: FloatArray = np.exp(log_joint - peak)
        weights /= weights.sum()
        return weights

    def _impossible_message(self, rows: list[int], soft: Mapping[str, Soft] | None) -> str:
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
        for finding, weights in (soft or {}).items():
            factor = self.soft_factor(finding, weights)
            causes = [
                cause for cause, value in zip(self.causes, factor, strict=True) if value == 0
            ]
            if causes:
                zeros.append(f"{finding}~{weights} (zero under {', '.join(causes)})")
        given = ", ".join(
            [f"{f}={s!r}" for f, s in (self._label[r] for r in rows)]
            + [f"{f}~{w}" for f, w in (soft or {}).items()]
        )
        detail = "; ".join(zeros) if zeros else "the prior is zero where the findings are not"
        return (
            f"Impossible evidence: no cause of the model gives the findings {given} a non-zero "
            f"probability. Findings with a zero likelihood: {detail}. Check the findings, or "
            "give the tables a small non-zero probability for these states."
        )
