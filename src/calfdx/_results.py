"""The result of a diagnosis: a frozen record of raw numbers, with views for people and code."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal

from ._checks import positive_count
from ._conflict import Conflict, conflict
from ._core import DISCLAIMER, Compiled, HasCompiled
from ._explain import Explanation, QuestionRanking, explain, next_questions, soft_text
from ._format import percent
from ._schema import RedFlag
from ._triage import Triage, fired_red_flags, triage, unchecked_red_flags
from ._wells import WellsScore, lacking_items, score_checked, tier_of

if TYPE_CHECKING:
    import pandas as pd
    from fhir.resources.riskassessment import RiskAssessment
    from matplotlib.axes import Axes


__all__ = ["DISCLAIMER", "Diagnosis", "new_diagnosis"]

# __str__ lists causes until this much probability is shown (and at least _MIN_SHOWN of them).
_SHOWN_MASS: Final = 0.995
_MIN_SHOWN: Final = 5


@dataclass(frozen=True, slots=True, repr=False)
class Diagnosis:
    """The posterior probability of every cause, and the DVT alert, for one patient.

    Results are returned by :func:`calfdx.diagnose`; they keep raw (unrounded) numbers and
    describe themselves: the threshold, the findings used, the findings left unobserved
    (marginalised, never assumed absent), the tables' content hash and the calfdx version.

    Attributes
    ----------
    posterior : Mapping[str, float]
        Cause id → P(cause | findings), in descending order of probability; sums to 1.
    dvt_probability : float
        P(dvt | findings).
    dvt_alert : bool
        ``dvt_probability >= dvt_threshold``: DVT is not excluded and needs objective testing.
    dvt_threshold : float
        The threshold the alert used.
    findings : Mapping[str, str]
        The findings used (finding → state), in vocabulary order.
    soft_findings : Mapping[str, tuple of float]
        Findings given as soft evidence: finding → one probability per state, in state order.
    vocabulary : tuple of str
        Every finding of the model, in table order.
    labels : Mapping[str, str]
        Cause id → human label.
    urgency : Mapping[str, str]
        Cause id → urgency level of the cause (``emergency``, ``same_day``, ``routine``,
        ``self_care``).
    setting : str
        The setting of the priors used (e.g. ``"primary_care"``).
    tables_hash : str
        SHA-256 of the tables' files: which numbers produced this result.
    calfdx_version : str
        The calfdx version that produced this result.
    model : Model
        The model that produced this result (for explanations and next questions).
    """

    posterior: Mapping[str, float]
    dvt_probability: float
    dvt_alert: bool
    dvt_threshold: float
    findings: Mapping[str, str]
    soft_findings: Mapping[str, tuple[float, ...]]
    vocabulary: tuple[str, ...] = field(compare=False)
    labels: Mapping[str, str] = field(compare=False)
    urgency: Mapping[str, str] = field(compare=False)
    setting: str
    tables_hash: str
    calfdx_version: str
    model: HasCompiled = field(compare=False)
    #: Decision support computed for this result (triage, red flags, Wells, conflict): each
    #: piece is computed once, at its first use, and kept; the result stays immutable.
    _cache: dict[str, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __hash__(self) -> int:
        # Frozen, so hashable: over the compared fields (the mappings as item tuples).
        return hash(
            (
                tuple(self.posterior.items()),
                self.dvt_probability,
                self.dvt_alert,
                self.dvt_threshold,
                tuple(self.findings.items()),
                tuple(self.soft_findings.items()),
                self.setting,
                self.tables_hash,
                self.calfdx_version,
            )
        )

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        # Mapping proxies do not pickle: rebuild from plain dictionaries.
        state = {
            name: getattr(self, name)
            for name, spec in self.__dataclass_fields__.items()
            if spec.init
        }
        for name in ("posterior", "findings", "soft_findings", "labels", "urgency"):
            state[name] = dict(state[name])
        return (_restore_diagnosis, (state,))

    def _once(self, key: str, compute: Callable[[], Any]) -> Any:
        """Return the cached value of ``key``, computing it at its first use."""
        cache = self._cache
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    # ---------------------------------------------------------------- derived values
    @property
    def unobserved(self) -> tuple[str, ...]:
        """The findings not given, in table order: marginalised, never taken as absent."""
        given, soft = self.findings, self.soft_findings
        if not soft:
            return tuple([name for name in self.vocabulary if name not in given])
        return tuple([name for name in self.vocabulary if name not in given and name not in soft])

    @property
    def top_cause(self) -> str:
        """The id of the most probable cause."""
        return next(iter(self.posterior))

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """Return the ``k`` most probable causes as ``(cause, probability)`` pairs.

        Parameters
        ----------
        k : int, default=3
            How many causes; at most the number of causes.

        Returns
        -------
        list of (str, float)
            In descending order of probability.

        Examples
        --------
        >>> import calfdx
        >>> result = calfdx.diagnose(palpable_cord="yes", redness="yes", side="unilateral")
        >>> result.top(1)[0][0]
        'superficial_thrombophlebitis'
        """
        return list(self.posterior.items())[: positive_count(k, "k")]

    @property
    def alert_message(self) -> str:
        """A plain-language sentence about the DVT alert, with the disclaimer."""
        p, t = percent(self.dvt_probability), percent(self.dvt_threshold)
        if self.dvt_alert:
            head = (
                f"DVT ALERT: P(DVT) = {p}, at or above the alert threshold of {t}. DVT is not "
                "excluded: assess with a validated pathway (Wells score, D-dimer, compression "
                "ultrasound)."
            )
        else:
            head = (
                f"No DVT alert: P(DVT) = {p}, below the alert threshold of {t}. This is not a "
                "test result: reassess if the symptoms change or worsen."
            )
        return f"{head} {DISCLAIMER}"

    @property
    def disclaimer(self) -> str:
        """The decision-support disclaimer."""
        return DISCLAIMER

    # ---------------------------------------------------------------- decision support
    @property
    def conflict(self) -> Conflict:
        """Whether the findings fit the model at all, compared with its own patients.

        ``conflict.is_conflict`` is True when the best-fitting cause explains the picture
        less well than for 99% of the model's own patients with the same findings observed:
        it fits none of the modelled causes well. The percentile is exact (every picture of
        those findings, weighed by its probability) whenever the compiled search finishes,
        else from seeded draws (``conflict.draws`` > 0); reproducible either way.

        Examples
        --------
        >>> import calfdx
        >>> calfdx.diagnose(swelling="yes", side="unilateral").conflict.is_conflict
        False
        """
        found: Conflict = self._once("conflict", lambda: conflict(self.model._compiled, self))
        return found

    @property
    def wells(self) -> WellsScore | None:
        """The Wells DVT score beside the network, when its tier can be determined.

        ``None`` when the missing Wells items could change the tier (missing items are never
        taken as absent) or the tables lack the Wells items; otherwise the score with the
        tier's published prevalence and the discordance flag against this result's P(DVT).
        See :func:`calfdx.wells_score`.
        """
        found: WellsScore | None = self._once("wells", self._wells)
        return found

    def _wells(self) -> WellsScore | None:
        if lacking_items(self.model._compiled.findings):
            return None  # tables without the Wells items
        if tier_of(self.findings) is None:
            return None
        score = score_checked(self.findings, self.soft_findings)
        return score.compared_with(self.dvt_probability)

    @property
    def red_flags(self) -> tuple[RedFlag, ...]:
        """Red flags whose condition holds: findings that demand urgent care on their own.

        Empty when none holds (or the tables have no ``red_flags.csv``). Only hard findings
        count; soft evidence never fires a flag: see :attr:`red_flags_not_checked`.
        """
        found: tuple[RedFlag, ...] = self._once(
            "red_flags", lambda: fired_red_flags(self.model._compiled, self.findings)
        )
        return found

    @property
    def red_flags_not_checked(self) -> tuple[RedFlag, ...]:
        """Red flags that could fire but were not checked, because of soft evidence.

        Every term of their condition holds or names a finding given only as soft evidence.
        Soft evidence is not counted by red flags: answer those findings yes or no to check
        the flag. Shown in ``print(result)`` and ``to_dict()``.

        Examples
        --------
        >>> import calfdx
        >>> result = calfdx.diagnose(trauma="yes", pain_on_passive_stretch=0.9)
        >>> result.red_flags, [flag.id for flag in result.red_flags_not_checked]
        ((), ['acs_after_injury'])
        """
        found: tuple[RedFlag, ...] = self._once(
            "red_flags_not_checked",
            lambda: unchecked_red_flags(self.model._compiled, self.findings, self.soft_findings),
        )
        return found

    def _soft_mappings(self) -> dict[str, dict[str, float]]:
        """Return the soft findings as finding → state → weight."""
        vocabulary = self.model.vocabulary
        return {
            name: dict(zip(vocabulary[name].states, weights, strict=True))
            for name, weights in self.soft_findings.items()
        }

    def _given(self) -> str:
        """Return the findings used, as text: hard ones, then soft ones with their weights."""
        hard = [f"{f}={s}" for f, s in self.findings.items()]
        soft = [f"{f}~({soft_text(w)})" for f, w in self._soft_mappings().items()]
        return ", ".join([*hard, *soft]) or "none"

    @property
    def triage(self) -> Triage | None:
        """How urgently care is needed (``None`` when the tables have no ``triage.csv``).

        The most urgent of the level the posterior reaches, the red flags that fire, and
        ``same_day`` when the DVT alert fires.

        Examples
        --------
        >>> import calfdx
        >>> calfdx.diagnose(trauma="yes", pain_on_passive_stretch="yes").triage.level
        'emergency'
        """
        found: Triage | None = self._once(
            "triage", lambda: triage(self.model._compiled, self, self.red_flags)
        )
        return found

    def explain(self, cause: str | None = None) -> Explanation:
        """Explain a cause's posterior: one record per observed finding, with exact weights.

        Parameters
        ----------
        cause : str, optional
            The cause to explain; default: the top cause.

        Returns
        -------
        Explanation
            Records of (finding, state, cause, likelihood_ratio, weight, effect) in table
            order, grouped as ``supporting``, ``against`` and ``neutral``; the prior log-odds
            plus the weights equal the posterior log-odds.

        Examples
        --------
        >>> import calfdx
        >>> why = calfdx.diagnose(swelling="yes", side="unilateral").explain("dvt")
        >>> why.supporting[0].sentence("DVT")
        'swelling = yes makes DVT 2.0× more likely'
        >>> total = why.prior_log_odds + sum(r.weight for r in why.records)
        >>> bool(abs(total - why.posterior_log_odds) < 1e-9)
        True
        """
        return explain(self.model._compiled, self, cause)

    def next_questions(
        self, k: int = 3, *, rank_by: Literal["decision", "information", "triage"] = "decision"
    ) -> QuestionRanking:
        """Rank the findings not yet given: the questions worth asking next.

        Parameters
        ----------
        k : int, default=3
            How many suggestions.
        rank_by : {"decision", "information", "triage"}, default="decision"
            ``"decision"``: the questions whose answer could flip the DVT alert first (most
            likely flip first), then by information gain per cost; ``"information"``: by
            expected information gain about the cause per cost; ``"triage"``: the questions
            whose answer could rule an emergency in or out first, then those that could
            change the triage level (most likely change first), then by information gain per
            cost (needs tables with a ``triage.csv``).

        Returns
        -------
        QuestionRanking
            Suggestions with the information gain in bits, the probability that the answer
            flips the DVT alert, P(DVT) and the triage level under each answer, and why each
            was chosen.

        Raises
        ------
        InvalidOptionError
            A ``k`` that is not a positive integer, an unknown ``rank_by``, or
            ``rank_by="triage"`` on tables without a ``triage.csv``.

        Examples
        --------
        >>> import calfdx
        >>> ranking = calfdx.diagnose(side="unilateral", swelling="yes").next_questions(2)
        >>> len(ranking), ranking[0].finding in calfdx.vocabulary()
        (2, True)

        A swollen calf leaves an emergency not excluded; the first triage question is one
        whose answer could rule it in or out, with the triage level under each answer:

        >>> result = calfdx.diagnose(side="unilateral", swelling="yes")
        >>> result.triage.level, result.triage.not_excluded
        ('same_day', ('emergency',))
        >>> first = result.next_questions(1, rank_by="triage")[0]
        >>> first.finding, dict(first.triage_if)
        ('bone_tenderness', {'yes': 'emergency', 'no': 'same_day'})
        """
        return next_questions(self.model._compiled, self, k, rank_by)

    # ---------------------------------------------------------------- views
    def plot(self, k: int = 10, *, ax: Axes | None = None) -> Axes:
        """Draw the ``k`` most probable causes as ranked bars, with the DVT alert threshold.

        The DVT bar is vermillion when the alert fires (blue otherwise); a dashed line marks
        the threshold on the probability axis. Needs matplotlib (``calfdx[plot]``).

        Parameters
        ----------
        k : int, default=10
            How many causes.
        ax : matplotlib.axes.Axes, optional
            Where to draw; default: a new figure.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import calfdx
        >>> ax = calfdx.diagnose(swelling="yes", side="unilateral").plot(k=5)
        >>> len(ax.patches)
        5
        """
        from ._plots import plot_diagnosis

        return plot_diagnosis(self, k, ax)

    def to_fhir(
        self,
        *,
        subject: str | Mapping[str, Any] | None = None,
        basis: Iterable[str] | None = None,
    ) -> RiskAssessment:
        """Return this result as a FHIR R5 ``RiskAssessment`` (needs ``calfdx[fhir]``).

        One ``prediction`` per cause (most probable first) with the cause coded in
        ``outcome`` and its ``probabilityDecimal``; the DVT alert, its threshold and the
        triage level as extensions (and as text in ``mitigation``); ``method`` names calfdx,
        its version and the tables' hash. See :mod:`calfdx.fhir` for the codes.

        Parameters
        ----------
        subject : str or Mapping, optional
            A reference (``"Patient/123"``) or a Reference as a dict; default: a
            display-only reference to an unidentified patient.
        basis : iterable of str, optional
            References to the inputs (e.g. ``"QuestionnaireResponse/42"``); default: one
            contained Observation per finding used, referenced from ``basis``.

        Returns
        -------
        fhir.resources.riskassessment.RiskAssessment

        Examples
        --------
        >>> import calfdx
        >>> risk = calfdx.diagnose(swelling="yes", side="unilateral").to_fhir()
        >>> risk.prediction[0].outcome.coding[0].code, len(risk.prediction), len(risk.basis)
        ('muscle_strain', 23, 2)
        """
        from ._fhir import risk_assessment

        return risk_assessment(self, subject=subject, basis=basis)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary of the result (numbers unrounded).

        Strict JSON: plain Python types, and no NaN or infinity (``json.dumps(...,
        allow_nan=False)`` works). Soft findings map each state to its probability.

        Examples
        --------
        >>> import json, calfdx
        >>> result = calfdx.diagnose(swelling="yes")
        >>> data = json.loads(json.dumps(result.to_dict()))
        >>> data["dvt_alert"], sorted(data)[:3]
        (True, ['alert_message', 'calfdx_version', 'conflict'])
        """
        # The posterior's numbers are finite Python floats, and the parts' own to_dict() are
        # strict already (triage's numbers are finite: masses, ratios of clipped odds, and
        # the tables' thresholds), so nothing needs converting.
        codes = self.model._compiled.cause_codes
        labels, urgency = self.labels, self.urgency
        triage = self.triage
        wells = self.wells
        return {
            "top_cause": self.top_cause,
            "posterior": dict(self.posterior),
            "differential": [
                {
                    "cause": cause,
                    "label": labels[cause],
                    "urgency": urgency[cause],
                    "probability": p,
                    "codes": codes[cause].copy(),  # a proxy's copy is a plain dict
                }
                for cause, p in self.posterior.items()
            ],
            "dvt_probability": self.dvt_probability,
            "dvt_alert": self.dvt_alert,
            "dvt_threshold": self.dvt_threshold,
            "alert_message": self.alert_message,
            "triage": None if triage is None else triage.to_dict(),
            "red_flags": [flag.to_dict() for flag in self.red_flags],
            "red_flags_not_checked": [flag.to_dict() for flag in self.red_flags_not_checked],
            "conflict": self.conflict.to_dict(),
            "wells": None if wells is None else wells.to_dict(),
            "findings": dict(self.findings),
            "soft_findings": self._soft_mappings(),
            "unobserved": list(self.unobserved),
            "setting": self.setting,
            "tables_hash": self.tables_hash,
            "calfdx_version": self.calfdx_version,
            "disclaimer": DISCLAIMER,
        }

    def to_frame(self) -> pd.DataFrame:
        """Return the differential as a DataFrame indexed by cause, most probable first.

        Columns: ``label``, ``urgency``, ``probability`` (unrounded).

        Examples
        --------
        >>> import calfdx
        >>> frame = calfdx.diagnose(back_pain="yes", numbness="yes").to_frame()
        >>> list(frame.columns)
        ['label', 'urgency', 'probability']
        >>> bool(abs(frame["probability"].sum() - 1) < 1e-12)
        True
        """
        import pandas as pd

        causes = list(self.posterior)
        frame = pd.DataFrame(
            {
                "label": [self.labels[c] for c in causes],
                "urgency": [self.urgency[c] for c in causes],
                "probability": list(self.posterior.values()),
            },
            index=pd.Index(causes, name="cause"),
        )
        return frame

    def _shown(self) -> tuple[list[tuple[str, float]], float]:
        shown: list[tuple[str, float]] = []
        mass = 0.0
        for cause, p in self.posterior.items():
            if len(shown) >= _MIN_SHOWN and mass >= _SHOWN_MASS:
                break
            shown.append((cause, p))
            mass += p
        return shown, 1.0 - mass

    def __repr__(self) -> str:
        top = self.top_cause
        return (
            f"<Diagnosis top={top!r} p={self.posterior[top]:.2f} "
            f"dvt_probability={self.dvt_probability:.3f} dvt_alert={self.dvt_alert}>"
        )

    def __str__(self) -> str:
        shown, rest = self._shown()
        width = max(len(self.labels[cause]) for cause, _ in shown)
        lines = [f"calfdx differential diagnosis of calf pain (setting: {self.setting})"]
        for rank, (cause, p) in enumerate(shown, start=1):
            label = self.labels[cause].ljust(width)
            lines.append(f"{rank:>3}. {label}  {percent(p):>6}  [{self.urgency[cause]}]")
        hidden = len(self.posterior) - len(shown)
        if hidden:
            lines.append(f"     ... {hidden} more causes, together {percent(max(rest, 0.0))}")
        lines.append("")
        lines.append(self.alert_message)
        for flag in self.red_flags:
            lines.append(f"RED FLAG ({flag.level}): {flag.message}")
        for flag in self.red_flags_not_checked:
            soft = [f for f, _ in flag.condition if f in self.soft_findings]
            lines.append(
                f"RED FLAG NOT CHECKED ({flag.level}, {flag.id}): {', '.join(soft)} given as "
                "soft evidence, which red flags do not count; answer yes or no to check it."
            )
        if self.triage is not None:
            lines.append(str(self.triage))
        wells = self.wells
        if wells is not None:
            lines.append(str(wells))
        lines.append(f"Findings: {self._given()}")
        if self.soft_findings:
            lines.append(
                "Soft evidence enters the posterior, but red flags and the Wells score do not "
                f"count it: {', '.join(self.soft_findings)}."
            )
        lines.append(f"Unobserved (marginalised): {len(self.unobserved)} findings")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        shown, rest = self._shown()
        rows = "".join(
            f"<tr><td>{rank}</td><td>{html.escape(self.labels[c])}</td>"
            f"<td><code>{html.escape(c)}</code></td><td>{html.escape(self.urgency[c])}</td>"
            f"<td style='text-align:right'>{percent(p)}</td></tr>"
            for rank, (c, p) in enumerate(shown, start=1)
        )
        hidden = len(self.posterior) - len(shown)
        if hidden:
            rows += (
                f"<tr><td></td><td colspan='3'><i>{hidden} more causes</i></td>"
                f"<td style='text-align:right'>{percent(max(rest, 0.0))}</td></tr>"
            )
        colour = "#b00020" if self.dvt_alert else "#2e7d32"
        given = self._given()
        return (
            "<div class='calfdx-diagnosis'>"
            f"<p><b>calfdx differential</b> (setting: {html.escape(self.setting)})</p>"
            "<table><thead><tr><th>#</th><th>Cause</th><th>id</th><th>Urgency</th>"
            f"<th>P</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<p style='color:{colour}'><b>{html.escape(self.alert_message)}</b></p>"
            f"<p><small>Findings: {html.escape(given)}. Unobserved (marginalised): "
            f"{len(self.unobserved)}. Tables {self.tables_hash[:12]}, calfdx "
            f"{html.escape(self.calfdx_version)}.</small></p></div>"
        )


def _restore_diagnosis(state: dict[str, Any]) -> Diagnosis:
    for name in ("posterior", "findings", "soft_findings", "labels", "urgency"):
        state[name] = MappingProxyType(state[name])
    return Diagnosis(**state)


# Each field's slot setter: new_diagnosis fills a result without the frozen dataclass's
# generic per-field setattr (half the cost of building a result on diagnose's path).
(
    _set_posterior,
    _set_dvt_probability,
    _set_dvt_alert,
    _set_dvt_threshold,
    _set_findings,
    _set_soft_findings,
    _set_vocabulary,
    _set_labels,
    _set_urgency,
    _set_setting,
    _set_tables_hash,
    _set_calfdx_version,
    _set_model,
    _set_cache,
) = (getattr(Diagnosis, name).__set__ for name in Diagnosis.__dataclass_fields__)


def new_diagnosis(
    posterior: Mapping[str, float],
    dvt_probability: float,
    dvt_alert: bool,
    dvt_threshold: float,
    findings: Mapping[str, str],
    soft_findings: Mapping[str, tuple[float, ...]],
    model: HasCompiled,
    compiled: Compiled,
    calfdx_version: str,
) -> Diagnosis:
    """Return ``Diagnosis(...)`` with the model's own fields, built field by field (fast).

    The same object as the dataclass constructor builds (a test compares every field); the
    vocabulary, labels, urgency, setting and tables' hash come from ``compiled``, the
    model's compiled record.
    """
    result: Diagnosis = object.__new__(Diagnosis)
    _set_posterior(result, posterior)
    _set_dvt_probability(result, dvt_probability)
    _set_dvt_alert(result, dvt_alert)
    _set_dvt_threshold(result, dvt_threshold)
    _set_findings(result, findings)
    _set_soft_findings(result, soft_findings)
    _set_vocabulary(result, compiled.vocabulary)
    _set_labels(result, compiled.labels)
    _set_urgency(result, compiled.urgency)
    _set_setting(result, compiled.tables.setting)
    _set_tables_hash(result, compiled.tables.content_hash)
    _set_calfdx_version(result, calfdx_version)
    _set_model(result, model)
    _set_cache(result, {})
    return result
