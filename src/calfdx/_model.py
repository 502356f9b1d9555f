"""The immutable :class:`Model`: validated tables, a compiled engine and the DVT threshold."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal, NoReturn

from ._checks import output_path, text
from ._core import DEFAULT_DVT_THRESHOLD, Compiled
from ._edit import check_parent_state, edit_likelihood, edit_prior, write_tables
from ._evidence import FindingValue, Soft, check_threshold, normalize_evidence
from ._exceptions import InvalidOptionError
from ._explain import QuestionRanking
from ._inference import Engine, descending
from ._kernels import BatchTables
from ._learn import fit
from ._network import build_network, write_network
from ._results import Diagnosis, new_diagnosis
from ._schema import Cause, Finding, Source, Tables
from ._simulate import simulate
from ._tables import table_frame
from ._uncertainty import PosteriorInterval, posterior_interval
from ._version import __version__

if TYPE_CHECKING:
    import pandas as pd
    from pgmpy.models import DiscreteBayesianNetwork

    from ._targets import TargetReport

__all__ = ["DEFAULT_DVT_THRESHOLD", "Model"]


class Model:
    """A calf-pain network: validated tables, their compiled engine and a DVT threshold.

    Create one with :func:`load_model`. A model is immutable: methods that change something
    (such as :meth:`with_dvt_threshold`) return a new model. One model may serve many
    threads at once.

    Examples
    --------
    >>> import calfdx
    >>> model = calfdx.load_model()
    >>> model
    <Model setting='primary_care' causes=23 findings=38 dvt_threshold=0.02 tables=...>
    >>> model.diagnose(onset="sudden", pop_sensation="yes", thompson_test="positive").top_cause
    'achilles_rupture'
    """

    __slots__ = ("_compiled",)

    _compiled: Compiled

    def __init__(
        self,
        tables: Tables,
        *,
        dvt_threshold: float = DEFAULT_DVT_THRESHOLD,
        _engines: tuple[Engine, BatchTables] | None = None,
    ) -> None:
        if not isinstance(tables, Tables):
            msg = "Create a Model with calfdx.load_model(path), not Model(...) directly."
            raise InvalidOptionError(msg)
        object.__setattr__(self, "_compiled", Compiled.build(tables, dvt_threshold, _engines))

    @classmethod
    def _from_compiled(cls, compiled: Compiled) -> Model:
        engines = (compiled.engine, compiled.batch)
        return cls(compiled.tables, dvt_threshold=compiled.dvt_threshold, _engines=engines)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        msg = f"Model is immutable; cannot set {name!r}. Use the with_* methods for a new model."
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> NoReturn:
        msg = f"Model is immutable; cannot delete {name!r}."
        raise AttributeError(msg)

    def __eq__(self, other: object) -> bool:
        # Models built from the same table files, setting and threshold are equal (also
        # after a pickle round trip); the folder they were read from does not matter.
        if not isinstance(other, Model):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[str, str, float]:
        return (
            self._compiled.tables.content_hash,
            self._compiled.tables.setting,
            self._compiled.dvt_threshold,
        )

    def __reduce__(self) -> tuple[Any, tuple[Tables, float]]:
        # Pickle the validated tables and the threshold; the engine is rebuilt on load.
        return (_restore_model, (self._compiled.tables, self._compiled.dvt_threshold))

    def __repr__(self) -> str:
        return (
            f"<Model setting={self.setting!r} causes={len(self.causes)} "
            f"findings={len(self.vocabulary)} dvt_threshold={self.dvt_threshold:g} "
            f"tables={self.content_hash[:12]}>"
        )

    # ---------------------------------------------------------------- description
    @property
    def causes(self) -> tuple[Cause, ...]:
        """The causes, in table order, each with its label, urgency and description."""
        return self._compiled.tables.causes

    @property
    def vocabulary(self) -> Mapping[str, Finding]:
        """The vocabulary: finding id → :class:`Finding` (states, category, question).

        In table order. (A :class:`Diagnosis` keeps the observed states in ``findings``.)

        Examples
        --------
        >>> import calfdx
        >>> vocabulary = calfdx.load_model().vocabulary
        >>> vocabulary["swelling"].states
        ('yes', 'no')
        >>> list(vocabulary)[:3]
        ['age', 'onset', 'side']
        """
        return self._compiled.findings

    @property
    def findings(self) -> Mapping[str, Finding]:
        """The vocabulary: finding id → :class:`Finding`. Deprecated: use :attr:`vocabulary`.

        .. deprecated:: 0.2
            ``Model.findings`` will be removed in calfdx 0.3. Use :attr:`Model.vocabulary`,
            the same mapping (``findings`` names the observed states of a
            :class:`Diagnosis`).
        """
        warnings.warn(
            "Model.findings is deprecated and will be removed in calfdx 0.3; use "
            "Model.vocabulary (the same mapping).",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._compiled.findings

    @property
    def setting(self) -> str:
        """The setting whose priors this model uses."""
        return self._compiled.tables.setting

    @property
    def settings(self) -> tuple[str, ...]:
        """Every setting the prior table defines."""
        return self._compiled.tables.settings

    @property
    def dvt_threshold(self) -> float:
        """The default DVT alert threshold of this model."""
        return self._compiled.dvt_threshold

    @property
    def content_hash(self) -> str:
        """SHA-256 of the table files this model was built from."""
        return self._compiled.tables.content_hash

    @property
    def source(self) -> str:
        """The folder the tables were read from."""
        return self._compiled.tables.source

    @property
    def sources(self) -> Mapping[str, Source]:
        """The cited works, by source id."""
        return MappingProxyType(self._compiled.tables.sources)

    @property
    def prior(self) -> pd.Series:
        """The prior of each cause in this model's setting (a new Series)."""
        import pandas as pd

        return pd.Series(
            self._compiled.tables.prior.copy(),
            index=pd.Index(list(self._compiled.labels), name="cause"),
            name="prior",
        )

    @property
    def priors(self) -> pd.DataFrame:
        """Every row of ``priors.csv`` (all settings), with sources (a copy)."""
        return table_frame(self._compiled.tables.priors_rows, "priors.csv")

    @property
    def likelihoods(self) -> pd.DataFrame:
        """Every row of ``likelihoods.csv``, with sources (a copy)."""
        return table_frame(self._compiled.tables.likelihoods_rows, "likelihoods.csv")

    # ---------------------------------------------------------------- inference
    def diagnose(
        self,
        findings: Mapping[str, FindingValue] | None = None,
        /,
        *,
        dvt_threshold: float | None = None,
        **more_findings: FindingValue,
    ) -> Diagnosis:
        r"""Return the posterior of every cause and the DVT alert for one patient.

        Parameters
        ----------
        findings : Mapping[str, str | bool | None], optional
            Finding id → state. Yes/no findings also take ``True``/``False`` and ``1``/``0``
            (answers) or a probability of yes strictly between 0 and 1 (soft evidence); any
            finding takes a mapping of state to probability (soft evidence). ``None``, NaN,
            NaT or ``"unknown"`` mean unknown. A finding not given is unknown and
            marginalised, never taken as absent.
        dvt_threshold : float, optional
            The alert threshold in [0, 1]; default: the model's (see
            :data:`calfdx.DEFAULT_DVT_THRESHOLD`).
        **more_findings : str | bool | None
            Findings given as keywords, e.g. ``swelling="yes"``.

        Returns
        -------
        Diagnosis
            The ranked posterior, the DVT probability and alert, and what produced them.

        Raises
        ------
        EvidenceError
            An unknown finding or state, a value of the wrong type, a finding given twice
            (subclasses say which), or evidence impossible under the model.
        InvalidOptionError
            A threshold outside [0, 1].

        Notes
        -----
        Exact inference. Families of findings (a parent finding with its children, such as
        ``swelling`` with ``calf_difference_3cm``) are independent given the cause:

        .. math::

            P(c \mid e) \propto P(c) \prod_{F} P(e_F \mid c)

        where a family's factor sums over its parent's states when the parent is unknown; a
        finding without parent or children is a family of one.

        Examples
        --------
        >>> import calfdx
        >>> model = calfdx.load_model()
        >>> result = model.diagnose({"side": "unilateral"}, swelling=True)
        >>> result.findings
        mappingproxy({'side': 'unilateral', 'swelling': 'yes'})
        >>> result.dvt_alert
        True
        """
        compiled = self._compiled
        threshold = (
            compiled.dvt_threshold if dvt_threshold is None else check_threshold(dvt_threshold)
        )
        engine = compiled.engine
        found = engine.fast_posterior(findings, more_findings)
        soft_findings: Mapping[str, Soft] = _NO_SOFT
        if found is not None:
            evidence, probabilities, order = found
        else:
            _check_model_options(more_findings, compiled.findings)
            checked = normalize_evidence(compiled.findings, findings, more_findings)
            rows, soft = engine.rows(checked.hard), checked.soft
            evidence = engine.evidence(rows)
            if soft:
                soft_findings = MappingProxyType(soft)
                probabilities = engine.posterior_rows(rows, soft).tolist()
                order = descending(probabilities)  # equal probabilities keep table order
            else:
                probabilities, order = engine.posterior_list(rows)
        ids = compiled.cause_ids
        dvt_probability = probabilities[compiled.dvt_index]
        return new_diagnosis(
            MappingProxyType({ids[i]: probabilities[i] for i in order}),
            dvt_probability,
            dvt_probability >= threshold,
            threshold,
            MappingProxyType(evidence),
            soft_findings,
            self,
            compiled,
            __version__,
        )

    def next_questions(
        self,
        findings: Mapping[str, FindingValue] | None = None,
        /,
        *,
        k: int = 3,
        rank_by: Literal["decision", "information", "triage"] = "decision",
        **more_findings: FindingValue,
    ) -> QuestionRanking:
        """Rank the findings not yet given; see :meth:`Diagnosis.next_questions`.

        Examples
        --------
        >>> import calfdx
        >>> model = calfdx.load_model()
        >>> [s.finding for s in model.next_questions({"swelling": "yes"}, k=1)] != []
        True
        """
        # Findings passed as keywords cannot be named dvt_threshold (a reserved name).
        result = self.diagnose(findings, **more_findings)  # type: ignore[arg-type]
        return result.next_questions(k, rank_by=rank_by)

    # ---------------------------------------------------------------- new models, escape hatch
    def with_dvt_threshold(self, dvt_threshold: float) -> Model:
        """Return a copy of this model whose default DVT alert threshold is ``dvt_threshold``.

        Examples
        --------
        >>> import calfdx
        >>> calfdx.load_model().with_dvt_threshold(0.05).dvt_threshold
        0.05
        """
        return Model._from_compiled(self._compiled.with_dvt_threshold(dvt_threshold))

    def with_prior(self, cause: str, p: float) -> Model:
        """Return a new model with P(cause) = p in this model's setting.

        The other causes' priors are rescaled proportionally so they still sum to 1; the
        edited row is marked as an edit (an ``expert_estimate`` whose reasoning keeps the
        original number and source), each rescaled row says so. This model is unchanged.

        Examples
        --------
        >>> import calfdx
        >>> model = calfdx.load_model()
        >>> edited = model.with_prior("dvt", 0.10)
        >>> round(float(edited.prior["dvt"]), 6), round(float(model.prior["dvt"]), 6)
        (0.1, 0.045)
        >>> round(float(edited.prior.sum()), 12)
        1.0
        """
        files = edit_prior(self._compiled.tables, cause, p)
        return self._rebuilt(files, self.setting)

    def with_likelihood(
        self, finding: str, state: str, cause: str, p: float, *, parent_state: str | None = None
    ) -> Model:
        """Return a new model with P(finding = state | cause) = p.

        The finding's other states for that cause are rescaled proportionally so they still
        sum to 1, and the edit is marked as for :meth:`with_prior`. This model is unchanged.

        A finding with a parent finding (``Finding.parent``) has one distribution per state
        of its parent: ``parent_state`` (required for it, refused for any other finding)
        says which one, and the edit sets P(finding = state | parent = parent_state, cause).

        Raises
        ------
        InvalidOptionError
            For an unknown finding, state or cause, a ``p`` outside (0, 1), a missing or
            unknown ``parent_state`` for a child, or a ``parent_state`` for another finding.

        Examples
        --------
        >>> import calfdx
        >>> model = calfdx.load_model().with_likelihood("swelling", "yes", "dvt", 0.9)
        >>> model.likelihood("swelling", "dvt")
        {'yes': 0.9, 'no': 0.1}
        >>> model = model.with_likelihood("redness", "yes", "cellulitis", 0.8, parent_state="no")
        >>> model.likelihood("redness", "cellulitis", parent_state="no")
        {'yes': 0.8, 'no': 0.2}
        """
        files = edit_likelihood(self._compiled.tables, finding, state, cause, p, parent_state)
        return self._rebuilt(files, self.setting)

    def check_targets(self, targets: object = None) -> TargetReport:
        """Compute every published target from this model and say whether it is met.

        Each target of ``targets.csv`` (a likelihood ratio, a prevalence in a subgroup, a
        sensitivity or specificity, with its 95% CI) is computed exactly from this model's
        tables, under the priors of the target's setting.

        Parameters
        ----------
        targets : str, Path or sequence of Target, optional
            A ``targets.csv`` file (or a folder holding one) checked against this model's
            vocabulary, or Target records. Default: the targets of this model's tables.

        Returns
        -------
        TargetReport
            One :class:`TargetCheck` per target (``to_frame()`` for a table).

        Raises
        ------
        TableError
            When a targets file has problems (every one is listed).

        Examples
        --------
        >>> import calfdx
        >>> report = calfdx.load_model().check_targets()
        >>> report.all_met
        True
        >>> list(report.to_frame().columns[:4])
        ['target_id', 'setting', 'statistic', 'cause']
        """
        from ._targets import check_targets

        return check_targets(self._compiled, targets)

    def calibrate(
        self, targets: object = None, *, margin: float = 0.1, max_iterations: int = 300
    ) -> Model:
        """Return a model whose estimate numbers meet every target, changed as little as possible.

        The ``expert_estimate`` numbers of every distribution a target depends on move so as
        to minimise their relative entropy from the current numbers, weighted by each
        distribution's effective sample size, subject to every target lying inside its
        interval, ``margin`` of the interval's width (in log scale) clear of each bound; a
        distribution that would move by less than 0.002 is left alone. Published
        and secondary numbers never move. Every changed row records its previous value and
        the targets that moved it. The calibration is deterministic.

        Parameters
        ----------
        targets : str, Path or sequence of Target, optional
            As for :meth:`check_targets`; default: this model's own targets.
        margin : float, default=0.1
            Share of each interval (log scale) kept clear of each bound: 0.1 keeps every
            statistic off the very edge of its CI; 0 accepts the bounds themselves.
        max_iterations : int, default=300
            Iterations of the optimiser (SLSQP).

        Returns
        -------
        Model
            A new model (this one is unchanged); ``to_csv()`` writes its tables. When every
            target is already met, nothing needs to move and this model itself is returned.

        Raises
        ------
        CalibrationError
            Naming the targets that cannot be met together.

        Examples
        --------
        >>> import calfdx
        >>> model = calfdx.load_model()
        >>> model.calibrate().content_hash == model.content_hash  # targets already met
        True
        """
        from ._calibrate import calibrate

        compiled = self._compiled
        calibrated = calibrate(compiled, targets, margin=margin, max_iterations=max_iterations)
        return self if calibrated is compiled else Model._from_compiled(calibrated)

    def with_setting(self, setting: str) -> Model:
        """Return this model with the priors of another setting of its prior table.

        Examples
        --------
        >>> import calfdx
        >>> calfdx.load_model().with_setting("primary_care").setting
        'primary_care'
        """
        return self._rebuilt(self._compiled.tables.files, text(setting, "setting"), edited=False)

    def likelihood(
        self, finding: str, cause: str, *, parent_state: str | None = None
    ) -> dict[str, float]:
        """Return P(finding = state | cause) for every state of ``finding``.

        For a finding with a parent finding, ``parent_state`` picks one row block of its
        table: P(finding = state | parent = parent_state, cause), the numbers
        :meth:`with_likelihood` edits. Without it, the answer is the finding's marginal
        P(finding = state | cause), summed over the parent's states (what a patient
        with only this finding known shows). ``parent_state`` is refused for a finding
        without parent.

        Raises
        ------
        InvalidOptionError
            For an unknown finding or cause, or a wrong ``parent_state``.

        Examples
        --------
        >>> import calfdx
        >>> model = calfdx.load_model()
        >>> model.vocabulary["redness"].parent
        'warmth'
        >>> yes = model.likelihood("redness", "dvt", parent_state="yes")["yes"]
        >>> no = model.likelihood("redness", "dvt", parent_state="no")["yes"]
        >>> warm = model.likelihood("warmth", "dvt")["yes"]
        >>> marginal = model.likelihood("redness", "dvt")["yes"]
        >>> round(marginal - (warm * yes + (1 - warm) * no), 12)
        0.0
        """
        if (
            not isinstance(finding, str)
            or not isinstance(cause, str)
            or finding not in self._compiled.findings
            or cause not in self._compiled.labels
        ):
            msg = f"Unknown finding {finding!r} or cause {cause!r}."
            raise InvalidOptionError(msg)
        given = check_parent_state(self._compiled.tables, finding, parent_state, required=False)
        i = self._compiled.cause_ids.index(cause)
        parent = self._compiled.findings[finding].parent
        if not parent:
            column = self._compiled.tables.likelihood[finding][:, i]
        elif not given:  # the marginal over the parent, from the engine (exact)
            column = self._compiled.engine.block(finding)[:, i]
        else:
            k = self._compiled.findings[parent].states.index(given)
            column = self._compiled.tables.likelihood[finding][:, k, i]
        return dict(zip(self._compiled.findings[finding].states, column.tolist(), strict=True))

    def simulate(self, n: int, *, seed: int | None = None, missing: float = 0.0) -> pd.DataFrame:
        """Draw a synthetic cohort of ``n`` patients from this model, reproducibly.

        Each patient's cause is drawn from the prior, then each finding from P(finding |
        cause); in a family the parent is drawn first and each child from P(child | the
        parent's drawn state, cause), so the cohort follows the model's joint distribution
        exactly. Values are hidden (``missing``) only after every finding is drawn.

        Parameters
        ----------
        n : int
            Number of patients.
        seed : int, optional
            Seed of the random generator: the same seed gives the same cohort.
        missing : float, default=0.0
            Fraction of finding values left unknown (NaN), at random.

        Returns
        -------
        pandas.DataFrame
            A categorical ``cause`` column (the true cause) and one categorical column per
            finding, ready for :func:`calfdx.evaluate` or :func:`calfdx.diagnose_batch`.

        Examples
        --------
        >>> import calfdx
        >>> cohort = calfdx.load_model().simulate(3, seed=7, missing=0.5)
        >>> list(cohort.columns[:3])
        ['cause', 'age', 'onset']
        >>> cohort.equals(calfdx.load_model().simulate(3, seed=7, missing=0.5))
        True
        """
        return simulate(self._compiled, n, seed=seed, missing=missing)

    def posterior_interval(
        self,
        findings: Mapping[str, FindingValue] | None = None,
        *,
        level: float = 0.95,
        draws: int = 2000,
        seed: int | None = None,
        dvt_threshold: float | None = None,
    ) -> PosteriorInterval:
        """Return credible intervals of the posterior from the uncertainty of the tables.

        Whole tables are drawn from Dirichlet distributions with concentration p × N for
        each number p with effective sample size N (the ``ess`` column, or the default for
        its source type), vectorised over the draws; the posterior is computed for each.

        Parameters
        ----------
        findings : Mapping[str, str | bool | float | None], optional
            The patient's findings, as for :meth:`diagnose`.
        level : float, default=0.95
            The credible level.
        draws : int, default=2000
            How many tables to draw.
        seed : int, optional
            Seed for reproducible draws.
        dvt_threshold : float, optional
            For the probability that the alert fires; default: the model's.

        Returns
        -------
        PosteriorInterval
            Per-cause posterior, mean, lower and upper bounds, and the probability that the
            DVT alert fires.

        Examples
        --------
        >>> import calfdx
        >>> model = calfdx.load_model()
        >>> interval = model.posterior_interval({"swelling": "yes"}, draws=500, seed=1)
        >>> row = interval.frame.loc["dvt"]
        >>> bool(row["lower"] <= row["posterior"] <= row["upper"])
        True
        >>> interval.frame.equals(
        ...     model.posterior_interval({"swelling": "yes"}, draws=500, seed=1).frame)
        True
        """
        return posterior_interval(
            self._compiled,
            findings,
            level=level,
            draws=draws,
            seed=seed,
            dvt_threshold=dvt_threshold,
        )

    def fit(
        self,
        cases: pd.DataFrame,
        *,
        prior_strength: float | None = None,
        update_prior: bool = True,
    ) -> Model:
        r"""Return a new model whose tables are updated with labelled cases.

        Bayesian updating with the current tables as Dirichlet pseudo-counts: a number p with
        pseudo-count N (``prior_strength``, or by default its effective sample size) seen
        with n of the cases' states becomes

        .. math::

            p' = \frac{p N + n_s}{N + \sum n}

        (pgmpy's ``BayesianEstimator`` with dirichlet pseudo-counts, by exact counting).
        Missing finding values add no count. A finding with a parent finding is updated per
        (parent state, cause) with the cases where both it and its parent are known; a case
        with the child known but the parent unknown adds no count to the child (exact and
        unbiased for values missing at random; see ``calfdx._learn`` for why no
        expected-count update). Each updated row notes the update in its reasoning, and its
        ``ess`` becomes N + n. This model is unchanged.

        Parameters
        ----------
        cases : pandas.DataFrame
            A ``cause`` column (the true cause) and finding columns, as
            :meth:`simulate` returns; missing values allowed.
        prior_strength : float, optional
            The pseudo-count N of every number; default: each number's effective sample
            size (``ess`` column, or 20 / 50 / 100 for estimates / secondary / published).
        update_prior : bool, default=True
            Also update the prior of the causes from the cases' case mix (set False when the
            cases are not a sample of this model's setting, e.g. a case series).

        Returns
        -------
        Model

        Examples
        --------
        >>> import calfdx
        >>> model = calfdx.load_model()
        >>> cases = model.with_prior("dvt", 0.2).simulate(20_000, seed=1)
        >>> fitted = model.fit(cases, prior_strength=10)
        >>> round(float(fitted.prior["dvt"]), 2)
        0.2
        """
        files = fit(
            self._compiled, cases, prior_strength=prior_strength, update_prior=update_prior
        )
        return self._rebuilt(files, self.setting)

    def to_csv(self, folder: str | Path) -> Path:
        """Write this model's tables to ``folder`` (created if needed); return its path.

        The files load back to an identical model; tables that were not edited are written
        byte for byte as they were read.

        Examples
        --------
        >>> import calfdx, tempfile
        >>> model = calfdx.load_model().with_prior("cramp", 0.2)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     again = calfdx.load_model(model.to_csv(folder))
        >>> again.content_hash == model.content_hash
        True
        """
        return write_tables(self._compiled.tables, output_path(folder, "folder"))

    def _rebuilt(self, files: Mapping[str, bytes], setting: str, edited: bool = True) -> Model:
        return Model._from_compiled(self._compiled.rebuilt(files, setting, edited))

    def export(self, path: str | Path) -> Path:
        """Write the network to a file other tools open: BIF or XMLBIF, by the suffix.

        ``.bif`` writes BIF and ``.xml`` or ``.xmlbif`` writes XMLBIF, with pgmpy's writers,
        so the model opens in GeNIe, Netica, SamIam, pyAgrum or pgmpy. Returns the path.

        Examples
        --------
        >>> import calfdx, tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = calfdx.load_model().export(pathlib.Path(folder) / "calfdx.xmlbif")
        ...     path.stat().st_size > 10_000
        True
        """
        return write_network(self._compiled.tables, output_path(path, "path"))

    def to_pgmpy(self) -> DiscreteBayesianNetwork:
        """Return a new pgmpy ``DiscreteBayesianNetwork`` of this model.

        Changing the returned network does not change the model. The root node is
        ``"cause"``; each finding is a child of it.

        Examples
        --------
        >>> import calfdx
        >>> network = calfdx.load_model().to_pgmpy()
        >>> network.check_model()
        True
        >>> sorted(network.get_children("cause"))[:3]
        ['active_cancer', 'age', 'alternative_diagnosis_likely']
        """
        return build_network(self._compiled.tables)


#: Options of load_model() that a caller may pass to diagnose() by mistake.
_MODEL_OPTIONS: Final = ("setting", "path", "priors")
#: The soft findings of a result without soft evidence (one shared, empty, read-only view).
_NO_SOFT: Final[Mapping[str, Soft]] = MappingProxyType({})


def _check_model_options(
    keywords: Mapping[str, object], vocabulary: Mapping[str, Finding]
) -> None:
    """Raise when a keyword is a load_model() option rather than a finding."""
    options = [name for name in _MODEL_OPTIONS if name in keywords and name not in vocabulary]
    if options:
        msg = (
            f"diagnose() has no option {options[0]!r}: it belongs to the model. Use "
            f"calfdx.load_model({options[0]}=...) and call model.diagnose(...), or pass "
            "model=calfdx.load_model(...) to calfdx.diagnose()."
        )
        raise InvalidOptionError(msg)


def _restore_model(tables: Tables, dvt_threshold: float) -> Model:
    return Model(tables, dvt_threshold=dvt_threshold)
