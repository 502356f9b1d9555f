r"""Explanations with exact weights, and the next best question.

**Explanations.** For a cause :math:`c`, the posterior log-odds are the prior log-odds plus
one weight of evidence per observed finding, taken in table order:

.. math::

    \log \frac{P(c \mid e)}{P(\bar c \mid e)} = \log \frac{P(c)}{P(\bar c)}
        + \sum_k \log \frac{P(e_k \mid c, e_{<k})}{P(e_k \mid \bar c, e_{<k})}

Families of findings (a parent finding with its children) are independent given the cause,
so :math:`P(e_k \mid c, e_{<k}) = P(e_k \mid c, e_{F(k), <k})`: a finding's weight is
conditional on the findings of its own family that come before it in table order (for a
finding without parent or children, it is the plain :math:`P(e_k \mid c)`). "Not :math:`c`"
is a mixture of the other causes, weighted by their posterior given the findings before
:math:`e_k`. By the chain rule the sum is exact (a telescoping product), so the weights
reproduce the posterior; a finding's weight can depend on the findings before it in the
table, which the explanation records as its ``order``.

**Next best question.** For each finding not yet given, with posterior :math:`\pi` over the
causes: the probability of each answer :math:`P(s \mid e) = \sum_c P(s \mid c, e)\,\pi_c`
(only the evidence on the finding's own family matters in :math:`P(s \mid c, e)`), the
posterior after each answer :math:`\pi_c P(s \mid c, e) / P(s \mid e)`, the expected
information gain about the cause :math:`H(C \mid e) - \sum_s P(s \mid e)\,H(C \mid e, s)` in
bits, and the probability that the answer flips the DVT alert, and the triage level after
each answer (the probability that the answer changes the triage: rules an emergency in or
out, or moves the level).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import numpy.typing as npt

from ._checks import positive_count, record_dict, strict_json
from ._exceptions import InvalidOptionError
from ._format import percent
from ._schema import cause_index
from ._triage import Outcome, outcome

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from ._core import Compiled, Posterior

__all__ = ["Contribution", "Explanation", "QuestionRanking", "Suggestion"]

FloatArray = npt.NDArray[np.float64]

#: A finding whose likelihood ratio lies within [1/1.1, 1.1] is called neutral.
NEUTRAL_RATIO: Final = 1.1
Effect = Literal["supporting", "against", "neutral"]


@dataclass(frozen=True, slots=True)
class Contribution:
    """One observed finding's weight of evidence for (or against) one cause.

    Attributes
    ----------
    finding, state : str
        The finding and its state (``"soft"`` for soft evidence).
    weights : Mapping[str, float] or None
        For soft evidence, the probability given to each state; None for a hard finding.
    cause : str
        The cause explained.
    likelihood_ratio : float
        P(state | cause, earlier findings) / P(state | not cause, earlier findings), the
        earlier findings being those before it in table order. Given the cause only the
        earlier findings of its own family (parent and children) matter.
    weight : float
        ``log(likelihood_ratio)``: the change in the cause's log-odds.
    effect : {"supporting", "against", "neutral"}
        Neutral when the ratio lies within [1/1.1, 1.1].
    """

    finding: str
    state: str
    cause: str
    likelihood_ratio: float
    weight: float
    effect: Effect
    weights: Mapping[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary (non-finite numbers as None)."""
        return strict_json(record_dict(self))

    @property
    def given(self) -> str:
        """The finding as given: ``swelling = yes``, or ``swelling = soft (yes 0.7, no 0.3)``."""
        if self.weights is None:
            return f"{self.finding} = {self.state}"
        return f"{self.finding} = soft ({soft_text(self.weights)})"

    def sentence(self, label: str) -> str:
        """Render the record as a sentence, e.g. ``swelling = yes makes DVT 1.4× more likely``."""
        ratio = self.likelihood_ratio
        if self.effect == "neutral":
            return f"{self.given} hardly changes {label} ({ratio:.2f}×)"
        if ratio >= 1:
            return f"{self.given} makes {label} {ratio:.1f}× more likely"
        inverse = math.inf if ratio == 0 else 1 / ratio
        return f"{self.given} makes {label} {inverse:.1f}× less likely"


def soft_text(weights: Mapping[str, float]) -> str:
    """Return soft evidence as text, e.g. ``yes 0.7, no 0.3`` (rounded for display)."""
    return ", ".join(f"{state} {weight:.3g}" for state, weight in weights.items())


@dataclass(frozen=True, slots=True, repr=False)
class Explanation:
    """Why a cause has its posterior: one record per observed finding, with exact weights.

    ``prior_log_odds + sum(r.weight for r in records) == posterior_log_odds`` (to rounding).
    """

    cause: str
    label: str
    prior_probability: float
    posterior_probability: float
    records: tuple[Contribution, ...]
    unobserved: tuple[str, ...]
    order: tuple[str, ...]

    @property
    def prior_log_odds(self) -> float:
        """Log-odds of the cause before any finding."""
        return _log_odds(self.prior_probability)

    @property
    def posterior_log_odds(self) -> float:
        """Log-odds of the cause given every finding."""
        return _log_odds(self.posterior_probability)

    @property
    def supporting(self) -> tuple[Contribution, ...]:
        """Records that make the cause more likely, strongest first."""
        return tuple(
            sorted((r for r in self.records if r.effect == "supporting"), key=lambda r: -r.weight)
        )

    @property
    def against(self) -> tuple[Contribution, ...]:
        """Records that make the cause less likely, strongest first."""
        return tuple(
            sorted((r for r in self.records if r.effect == "against"), key=lambda r: r.weight)
        )

    @property
    def neutral(self) -> tuple[Contribution, ...]:
        """Records that hardly change the cause."""
        return tuple(r for r in self.records if r.effect == "neutral")

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the log-odds waterfall: the prior, one bar per finding, the posterior.

        Each finding's bar starts where the previous one ended and spans its weight (blue
        for, vermillion against, grey neutral); the last bar is the posterior log-odds,
        which the steps reach exactly. Needs matplotlib (``calfdx[plot]``).

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import calfdx
        >>> why = calfdx.diagnose(swelling="yes", side="unilateral").explain("dvt")
        >>> len(why.plot().patches)  # prior, two findings, posterior
        4
        """
        from ._plots import plot_explanation

        return plot_explanation(self, ax)

    def to_frame(self) -> pd.DataFrame:
        """Return the records as a DataFrame (table order), numbers unrounded."""
        import pandas as pd

        return pd.DataFrame(
            [r.to_dict() for r in self.records],
            columns=["finding", "state", "cause", "likelihood_ratio", "weight", "effect"],
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary (non-finite numbers as None)."""
        return strict_json(
            {
                "cause": self.cause,
                "label": self.label,
                "prior_probability": self.prior_probability,
                "posterior_probability": self.posterior_probability,
                "prior_log_odds": self.prior_log_odds,
                "posterior_log_odds": self.posterior_log_odds,
                "records": [r.to_dict() for r in self.records],
                "unobserved": list(self.unobserved),
                "order": list(self.order),
            }
        )

    def lines(self) -> list[str]:
        """Return the explanation as lines of text."""
        out = [
            f"Why {self.label} ({self.cause}): prior {self.prior_probability:.1%} -> "
            f"posterior {self.posterior_probability:.1%}"
        ]
        for title, group in (
            ("Supporting", self.supporting),
            ("Against", self.against),
            ("Neutral", self.neutral),
        ):
            if group:
                out.append(f"  {title}:")
                out.extend(f"    - {r.sentence(self.label)}" for r in group)
        out.append(f"  Not observed (marginalised): {len(self.unobserved)} findings")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        return (
            f"<Explanation cause={self.cause!r} records={len(self.records)} "
            f"posterior={self.posterior_probability:.3f}>"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(r.finding)}</td><td>"
            f"{html.escape(r.state if r.weights is None else soft_text(r.weights))}</td>"
            f"<td style='text-align:right'>{r.likelihood_ratio:.2f}</td>"
            f"<td style='text-align:right'>{r.weight:+.2f}</td><td>{r.effect}</td></tr>"
            for r in self.records
        )
        return (
            f"<p><b>Why {html.escape(self.label)}</b>: prior {self.prior_probability:.1%} "
            f"→ posterior {self.posterior_probability:.1%}</p><table><thead><tr><th>finding"
            "</th><th>state</th><th>LR</th><th>weight</th><th>effect</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )


def _log_odds(p: float) -> float:
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


def explain(compiled: Compiled, result: Posterior, cause: str | None) -> Explanation:
    """Return the exact explanation of ``cause`` (default: the top cause) for ``result``."""
    cause = result.top_cause if cause is None else cause
    index = cause_index(compiled.engine.causes, cause)
    current = compiled.tables.prior.astype(np.float64).copy()
    records = []
    engine = compiled.engine
    earlier_hard: dict[str, str] = {}
    earlier_soft: dict[str, tuple[float, ...]] = {}
    for finding, state, weights in engine.evidence_weights(result.findings, result.soft_findings):
        # P(evidence on the finding | cause, the evidence on its family before it)
        vector = weights @ engine.conditional(finding, earlier_hard, earlier_soft)
        if finding in result.soft_findings:
            earlier_soft[finding] = result.soft_findings[finding]
        else:
            earlier_hard[finding] = state
        others = current.copy()
        others[index] = 0.0
        mass = others.sum()
        given_cause = float(vector[index])
        given_other = float(vector @ others / mass) if mass > 0 else math.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = given_cause / given_other if given_other > 0 else math.inf
        weight = math.log(ratio) if ratio > 0 else -math.inf
        if 1 / NEUTRAL_RATIO <= ratio <= NEUTRAL_RATIO:
            effect: Effect = "neutral"
        else:
            effect = "supporting" if ratio > 1 else "against"
        soft = (
            dict(zip(compiled.findings[finding].states, weights.tolist(), strict=True))
            if finding in result.soft_findings
            else None
        )
        records.append(Contribution(finding, state, cause, ratio, weight, effect, soft))
        current = current * vector
        total = current.sum()
        if total > 0:
            current /= total
    return Explanation(
        cause=cause,
        label=result.labels[cause],
        prior_probability=float(compiled.tables.prior[index]),
        posterior_probability=result.posterior[cause],
        records=tuple(records),
        unobserved=result.unobserved,
        order=tuple(r.finding for r in records),
    )


# --------------------------------------------------------------------------------------------
# The next best question


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A finding worth asking about next, with a preview of every answer.

    Attributes
    ----------
    finding, question : str
        The finding and the question or exam instruction to ask.
    information_gain : float
        Expected reduction of the entropy of the cause, in bits.
    flip_probability : float
        Probability that the answer changes the DVT alert (fires it or clears it).
    answer_probability : Mapping[str, float]
        P(answer) for each state, given the findings so far.
    dvt_probability_if : Mapping[str, float]
        P(DVT) after each answer.
    cost : float
        The finding's cost from the tables (1 when none is given).
    reason : str
        Why it was chosen, in one sentence.
    triage_if : Mapping[str, str]
        The triage level after each answer (empty when the tables have no ``triage.csv``).
    triage_change_probability : float
        Probability that the answer changes the triage: its level, or whether an emergency
        is ruled in or out (0 when the tables have no ``triage.csv``).
    """

    finding: str
    question: str
    information_gain: float
    flip_probability: float
    answer_probability: Mapping[str, float]
    dvt_probability_if: Mapping[str, float]
    cost: float
    reason: str
    triage_if: Mapping[str, str] = field(default_factory=dict)
    triage_change_probability: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary."""
        return record_dict(self)


@dataclass(frozen=True, slots=True)
class QuestionRanking:
    """The findings not yet given, best question first."""

    suggestions: tuple[Suggestion, ...]
    rank_by: str

    def __iter__(self) -> Iterator[Suggestion]:
        return iter(self.suggestions)

    def __len__(self) -> int:
        return len(self.suggestions)

    def __getitem__(self, index: int) -> Suggestion:
        return self.suggestions[index]

    def to_frame(self) -> pd.DataFrame:
        """Return one row per suggestion."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "finding": s.finding,
                    "information_gain": s.information_gain,
                    "flip_probability": s.flip_probability,
                    "cost": s.cost,
                    "reason": s.reason,
                    "triage_change_probability": s.triage_change_probability,
                }
                for s in self.suggestions
            ],
            columns=[
                "finding",
                "information_gain",
                "flip_probability",
                "cost",
                "reason",
                "triage_change_probability",
            ],
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary."""
        return strict_json(
            {"rank_by": self.rank_by, "suggestions": [s.to_dict() for s in self.suggestions]}
        )

    def __str__(self) -> str:
        lines = ["Next questions:"]
        for rank, s in enumerate(self.suggestions, start=1):
            lines.append(f"  {rank}. {s.question} [{s.finding}]")
            lines.append(f"     {s.reason}")
        return "\n".join(lines)


def _entropy_bits(p: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    result: FloatArray = terms.sum(axis=-1)
    return result


RankBy = Literal["decision", "information", "triage"]
_RANKINGS: Final = ("decision", "information", "triage")


def _triage_after(
    compiled: Compiled,
    result: Posterior,
    name: str,
    states: tuple[str, ...],
    after: FloatArray,
    dvt_after: FloatArray,
) -> tuple[list[Outcome], Outcome] | None:
    """Return the triage outcome after each answer and now (None without ``triage.csv``)."""
    causes = compiled.engine.causes
    now = outcome(compiled, result.posterior, result.findings, result.dvt_alert)
    if now is None:
        return None
    outcomes: list[Outcome] = []
    for state, row, dvt in zip(states, after, dvt_after, strict=True):
        posterior = dict(zip(causes, row.tolist(), strict=True))
        findings = {**result.findings, name: state}
        answer = outcome(compiled, posterior, findings, bool(dvt >= result.dvt_threshold))
        if answer is None:  # pragma: no cover - the same tables as `now`
            return None
        outcomes.append(answer)
    return outcomes, now


def _emergency_state(level: str, not_excluded: tuple[str, ...]) -> str:
    """Return whether an emergency is ruled in, left open (not excluded) or ruled out."""
    if level == "emergency":
        return "in"
    return "open" if "emergency" in not_excluded else "out"


def _triage_reason(
    previews: Mapping[str, Outcome],
    change: float,
    emergency_change: float,
    gain: float,
) -> str:
    shown = ", ".join(
        f"{level}{' (emergency not excluded)' if _emergency_state(level, open_) == 'open' else ''}"
        f" if {state}"
        for state, (level, open_) in previews.items()
    )
    if emergency_change > 0:
        return (
            f"The answer could rule an emergency in or out (probability "
            f"{emergency_change:.0%}): triage would be {shown}."
        )
    if change > 0:
        return (
            f"The answer could change the triage level (probability {change:.0%}): "
            f"triage would be {shown}."
        )
    return (
        f"Expected to tell most about the cause ({gain:.2f} bits); the triage would stay: {shown}."
    )


def next_questions(
    compiled: Compiled, result: Posterior, k: int, rank_by: RankBy
) -> QuestionRanking:
    """Rank the findings not yet given; see :meth:`Diagnosis.next_questions`."""
    k = positive_count(k, "k")
    if not isinstance(rank_by, str) or rank_by not in _RANKINGS:
        msg = f"rank_by must be 'decision', 'information' or 'triage'. Got {rank_by!r} instead."
        raise InvalidOptionError(msg)
    if rank_by == "triage" and compiled.tables.triage is None:
        msg = (
            "rank_by='triage' needs tables with a triage.csv; these have none. "
            "Use rank_by='decision' or 'information'."
        )
        raise InvalidOptionError(msg)
    engine = compiled.engine
    causes = engine.causes
    posterior = np.array([result.posterior[c] for c in causes])
    entropy = float(_entropy_bits(posterior))
    dvt = compiled.dvt_index
    scored = []
    for name in result.unobserved:
        finding = compiled.findings[name]
        # P(answer | cause, the evidence on the finding's family) * P(cause | evidence)
        conditional = engine.conditional(name, result.findings, result.soft_findings)
        joint = conditional * posterior  # (states, causes)
        mass = joint.sum(axis=1)  # P(answer, evidence) / P(evidence)
        with np.errstate(invalid="ignore", divide="ignore"):
            after = np.where(mass[:, None] > 0, joint / mass[:, None], 0.0)
        # Normalised as inference does (a table's rows may miss 1 by its rounding).
        answer = mass / mass.sum()
        gain = max(0.0, entropy - float(answer @ _entropy_bits(after)))
        dvt_after = after[:, dvt]
        flips = (dvt_after >= result.dvt_threshold) != result.dvt_alert
        flip = float(answer[flips].sum())
        answered_as: dict[str, Outcome] = {}
        change = emergency_change = 0.0
        triaged = _triage_after(compiled, result, name, finding.states, after, dvt_after)
        if triaged is not None:
            outcomes, now = triaged
            for state, p, answered in zip(finding.states, answer.tolist(), outcomes, strict=True):
                answered_as[state] = answered
                if answered != now:
                    change += p
                if _emergency_state(*answered) != _emergency_state(*now):
                    emergency_change += p
        scored.append(
            (finding, gain, flip, answer, dvt_after, answered_as, change, emergency_change)
        )

    def key(item: tuple[Any, ...]) -> tuple[float, ...]:
        finding, gain, flip, _, _, _, change, emergency_change = item
        per_cost = gain / finding.cost
        if rank_by == "triage":
            return (-emergency_change, -change, -per_cost)
        if rank_by == "decision":
            # Answers that could flip the alert first, the likeliest flip per unit cost first
            # (a D-dimer before an ultrasound when either could clear it), then the rest.
            return (flip == 0, -flip / finding.cost, -per_cost)
        return (-per_cost, -flip)

    scored.sort(key=key)
    suggestions = []
    for finding, gain, flip, answer, dvt_after, triaged_if, change, emergency_change in scored[:k]:
        previews = ", ".join(
            f"{percent(float(p), whole=math.inf)} if {state}"
            for state, p in zip(finding.states, dvt_after, strict=True)
        )
        if rank_by == "triage":
            reason = _triage_reason(triaged_if, change, emergency_change, gain)
        elif flip > 0:
            reason = (
                f"The answer could {'clear' if result.dvt_alert else 'raise'} the DVT alert "
                f"(probability {flip:.0%}): P(DVT) would be {previews}."
            )
        else:
            reason = (
                f"Expected to tell most about the cause ({gain:.2f} bits"
                + (f", {gain / finding.cost:.2f} per unit cost" if finding.cost != 1 else "")
                + f"); P(DVT) would be {previews}."
            )
        suggestions.append(
            Suggestion(
                finding=finding.id,
                question=finding.question,
                information_gain=gain,
                flip_probability=flip,
                answer_probability=dict(zip(finding.states, answer.tolist(), strict=True)),
                dvt_probability_if=dict(zip(finding.states, dvt_after.tolist(), strict=True)),
                cost=finding.cost,
                reason=reason,
                triage_if={state: level for state, (level, _) in triaged_if.items()},
                triage_change_probability=change,
            )
        )
    return QuestionRanking(tuple(suggestions), rank_by)
