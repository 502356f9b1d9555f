"""The public functions: load a model, diagnose, and the functions with a default model.

The top of the library: ``model=None`` is resolved here to the shipped model (loaded once),
then each function calls the :class:`~calfdx.Model` façade or a feature on the model's
compiled tables. Nothing below imports this module.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Collection, Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, overload

from ._batch import _diagnose_batch
from ._checks import text
from ._core import DEFAULT_DVT_THRESHOLD
from ._evaluate import Evaluation, _evaluate, _threshold_for_sensitivity
from ._evidence import FindingValue, check_threshold
from ._exceptions import InvalidOptionError
from ._model import Model
from ._results import Diagnosis
from ._schema import DEFAULT_SETTING, Finding
from ._tables import read_tables
from ._uncertainty import _sensitivity
from ._wells import WellsScore, _wells_score

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd

__all__ = [
    "diagnose",
    "diagnose_batch",
    "evaluate",
    "findings",
    "load_model",
    "resolve_model",
    "sensitivity",
    "threshold_for_sensitivity",
    "vocabulary",
    "wells_score",
]


@functools.lru_cache(maxsize=8)
def _shipped(setting: str, dvt_threshold: float) -> Model:
    return Model(read_tables(None, setting=setting), dvt_threshold=dvt_threshold)


def resolve_model(model: object) -> Model:
    """Return ``model``, or the shipped model for None; raise for anything else."""
    if model is None:
        return _default_model()
    if not isinstance(model, Model):
        msg = f"model must be a calfdx.Model (see calfdx.load_model). Got {type(model).__name__}."
        raise InvalidOptionError(msg)
    return model


def _default_model() -> Model:
    """Return the shipped model with default options (loaded once; a hot path)."""
    return _shipped(DEFAULT_SETTING, DEFAULT_DVT_THRESHOLD)


def load_model(
    path: str | Path | Traversable | None = None,
    *,
    setting: str = DEFAULT_SETTING,
    dvt_threshold: float = DEFAULT_DVT_THRESHOLD,
) -> Model:
    """Load a folder of tables and return an immutable :class:`Model`.

    Parameters
    ----------
    path : str or Path, optional
        A folder holding ``sources.csv``, ``causes.csv``, ``findings.csv``, ``priors.csv``
        and ``likelihoods.csv`` (see ``priors/README.md``). Default: the tables shipped
        with calfdx (loaded once, then shared).
    setting : str, default="primary_care"
        Which setting's priors to use (a value of the ``setting`` column of ``priors.csv``).
    dvt_threshold : float, default=DEFAULT_DVT_THRESHOLD
        The model's default DVT alert threshold, in [0, 1].

    Returns
    -------
    Model

    Raises
    ------
    TableError
        Listing every problem in the tables, with file, line and column.
    InvalidOptionError
        An unknown setting or a threshold outside [0, 1].

    Examples
    --------
    >>> import calfdx
    >>> model = calfdx.load_model()
    >>> model.setting, len(model.causes), "dvt" in [c.id for c in model.causes]
    ('primary_care', 23, True)
    """
    threshold = check_threshold(dvt_threshold)
    text(setting, "setting")
    if path is None:
        return _shipped(setting, threshold)
    return Model(read_tables(path, setting=setting), dvt_threshold=threshold)


def diagnose(
    findings: Mapping[str, FindingValue] | None = None,
    /,
    *,
    model: Model | None = None,
    dvt_threshold: float | None = None,
    **more_findings: FindingValue,
) -> Diagnosis:
    """Return the posterior of every cause of calf pain and the DVT alert for one patient.

    calfdx supports clinical decisions; it does not make them.

    Parameters
    ----------
    findings : Mapping[str, str | bool | None], optional
        Finding id → state (see :func:`findings` for the vocabulary). Yes/no findings also
        take ``True``/``False`` and ``1``/``0`` (answers) or a probability of yes strictly
        between 0 and 1 (soft evidence); any finding takes a mapping of state to probability
        (soft evidence). ``None``, NaN, NaT or ``"unknown"`` mean unknown. A finding not
        given is unknown and marginalised, never taken as absent. Red flags and the Wells
        score count answers only, and say which soft evidence they did not count.
    model : Model, optional
        The model to use; default: the tables shipped with calfdx.
    dvt_threshold : float, optional
        The alert threshold in [0, 1]; default: the model's
        (:data:`DEFAULT_DVT_THRESHOLD` = 0.02).
    **more_findings : str | bool | None
        Findings given as keywords, e.g. ``swelling="yes"``.

    Returns
    -------
    Diagnosis
        ``posterior`` (every cause, descending, summing to 1), ``dvt_probability``,
        ``dvt_alert``, and what produced them.

    Raises
    ------
    EvidenceError
        An unknown finding or state, a wrong value type, a finding given twice, or evidence
        impossible under the model (subclasses say which).
    InvalidOptionError
        A threshold outside [0, 1], or ``model`` that is not a :class:`Model`.

    See Also
    --------
    load_model : load tables (another folder, another setting, another threshold).

    Examples
    --------
    >>> import calfdx
    >>> result = calfdx.diagnose(
    ...     age="65_plus", side="unilateral", swelling="yes", recent_immobilization="yes"
    ... )
    >>> result.top_cause, result.dvt_alert
    ('dvt', True)
    >>> round(sum(result.posterior.values()), 12)
    1.0
    """
    if type(model) is not Model:  # the shipped model, a subclass, or a mistake
        model = resolve_model(model)
    if more_findings:
        return model.diagnose(findings, dvt_threshold=dvt_threshold, **more_findings)
    return model.diagnose(findings, dvt_threshold=dvt_threshold)  # a hot path


def vocabulary(model: Model | None = None) -> Mapping[str, Finding]:
    """Return the vocabulary: finding id → :class:`Finding` (states, category, question).

    The same mapping as :attr:`Model.vocabulary`.

    Parameters
    ----------
    model : Model, optional
        Default: the tables shipped with calfdx.

    Returns
    -------
    Mapping[str, Finding]
        In table order.

    Examples
    --------
    >>> import calfdx
    >>> vocabulary = calfdx.vocabulary()
    >>> vocabulary["exertion"].states
    ('during', 'after', 'unrelated')
    >>> vocabulary["exertion"].category, len(vocabulary)
    ('history', 38)
    """
    return resolve_model(model).vocabulary


def findings(model: Model | None = None) -> Mapping[str, Finding]:
    """Return the vocabulary: finding id → :class:`Finding`. Deprecated: use :func:`vocabulary`.

    .. deprecated:: 0.2
        ``calfdx.findings()`` will be removed in calfdx 0.3. Use :func:`calfdx.vocabulary`,
        which returns the same mapping (``findings`` names the observed states of a
        :class:`Diagnosis`).

    Parameters
    ----------
    model : Model, optional
        Default: the tables shipped with calfdx.

    Returns
    -------
    Mapping[str, Finding]
        The same mapping as ``calfdx.vocabulary(model)``.
    """
    warnings.warn(
        "calfdx.findings() is deprecated and will be removed in calfdx 0.3; use "
        "calfdx.vocabulary() (the same mapping).",
        DeprecationWarning,
        stacklevel=2,
    )
    return resolve_model(model).vocabulary


@overload
def diagnose_batch(
    cases: pd.DataFrame,
    /,
    *,
    model: Model | None = None,
    dvt_threshold: float | None = None,
    ignore_columns: Collection[str] | bool = (),
) -> pd.DataFrame: ...


@overload
def diagnose_batch(
    cases: dd.DataFrame,
    /,
    *,
    model: Model | None = None,
    dvt_threshold: float | None = None,
    ignore_columns: Collection[str] | bool = (),
) -> dd.DataFrame: ...


def diagnose_batch(
    cases: pd.DataFrame | dd.DataFrame,
    /,
    *,
    model: Model | None = None,
    dvt_threshold: float | None = None,
    ignore_columns: Collection[str] | bool = (),
) -> pd.DataFrame | dd.DataFrame:
    """Return the posterior of every cause and the DVT alert for every patient of a cohort.

    calfdx supports clinical decisions; it does not make them.

    Parameters
    ----------
    cases : pandas.DataFrame or dask.dataframe.DataFrame
        One row per patient, one column per finding (any subset of the vocabulary, in any
        order). Values are read exactly as :func:`calfdx.diagnose` reads them: state names
        (strings or categoricals; categoricals are fastest); for yes/no findings also
        ``True``/``False`` and ``1``/``0`` (hard answers) or a probability of yes strictly
        between 0 and 1 (soft evidence); a mapping of state to probability (soft evidence);
        and NaN, NaT, None or ``"unknown"`` for unknown. A finding without a column is
        unknown for every patient. A ``cause`` column (the true cause, as
        :meth:`Model.simulate` writes it) is skipped.
    model : Model, optional
        Default: the tables shipped with calfdx.
    dvt_threshold : float, optional
        The alert threshold in [0, 1]; default: the model's.
    ignore_columns : collection of str or bool, default=()
        Columns of ``cases`` that are not findings and should be skipped; ``True`` skips
        every unknown column. Any other unknown column is an error.

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame
        With the index of ``cases``: one probability column per cause (table order),
        ``dvt_probability``, ``dvt_alert`` (bool) and ``top_cause`` (categorical). A dask
        input gives a dask DataFrame, computed partition by partition.

    Raises
    ------
    UnknownFindingError
        Unknown columns (unless ignored).
    UnknownStateError
        Bad values, naming the first few rows and values of each column and how many.
    ImpossibleEvidenceError
        Rows whose findings have probability zero under every cause.
    InvalidOptionError
        A threshold outside [0, 1], or ``model`` that is not a :class:`Model`.

    Notes
    -----
    Every row equals :func:`calfdx.diagnose` on that row (to rounding, about 1e-15). The
    work is vectorised: no Python loop over rows, except for rows with soft evidence and
    rows whose product underflows, which are computed one by one by the engine of
    :func:`calfdx.diagnose`. With numba (a default dependency) a compiled kernel is used;
    its first call in a process compiles it (about a second); without it, numpy.

    Examples
    --------
    >>> import pandas as pd, calfdx
    >>> cases = pd.DataFrame(
    ...     {"swelling": ["yes", "no", None], "side": ["unilateral", "bilateral", None]},
    ...     index=["ann", "bob", "cy"],
    ... )
    >>> scores = calfdx.diagnose_batch(cases)
    >>> scores[["dvt_probability", "dvt_alert", "top_cause"]].round(3)
         dvt_probability  dvt_alert      top_cause
    ann            0.103       True  muscle_strain
    bob            0.003      False           doms
    cy             0.041       True          cramp
    >>> one = calfdx.diagnose(swelling="yes", side="unilateral")
    >>> bool(abs(scores.loc["ann", "dvt"] - one.dvt_probability) < 1e-12)
    True
    """
    return _diagnose_batch(resolve_model(model)._compiled, cases, dvt_threshold, ignore_columns)


def evaluate(
    model: Model, cases: pd.DataFrame, *, dvt_threshold: float | None = None
) -> Evaluation:
    """Measure a model on labelled cases (a ``cause`` column plus finding columns).

    Parameters
    ----------
    model : Model
        The model to evaluate.
    cases : pandas.DataFrame
        One row per patient: the true cause in ``cause`` and findings as for
        :func:`calfdx.diagnose_batch`, such as :meth:`Model.simulate` returns.
    dvt_threshold : float, optional
        The DVT alert threshold; default: the model's.

    Returns
    -------
    Evaluation
        Accuracy, log loss, Brier score, calibration, DVT AUC and the alert's sensitivity,
        specificity, PPV and NPV.

    Examples
    --------
    >>> import calfdx
    >>> model = calfdx.load_model()
    >>> report = calfdx.evaluate(model, model.simulate(2000, seed=1, missing=0.3))
    >>> 0 < report.top1_accuracy <= 1 and 0.5 < report.dvt_auc <= 1
    True
    """
    return _evaluate(resolve_model(model)._compiled, cases, dvt_threshold)


def threshold_for_sensitivity(model: Model, cases: pd.DataFrame, sensitivity: float) -> float:
    """Return the highest DVT alert threshold that keeps the given DVT sensitivity on cases.

    Parameters
    ----------
    model : Model
        The model.
    cases : pandas.DataFrame
        Labelled cases (a ``cause`` column plus findings), with at least one DVT.
    sensitivity : float
        The sensitivity to keep, in (0, 1].

    Returns
    -------
    float
        The largest ``t`` such that at least ``sensitivity`` of the DVT cases have
        ``P(DVT) >= t``.

    Examples
    --------
    >>> import calfdx
    >>> model = calfdx.load_model()
    >>> cases = model.simulate(5000, seed=2, missing=0.3)
    >>> t = calfdx.threshold_for_sensitivity(model, cases, 0.98)
    >>> calfdx.evaluate(model, cases, dvt_threshold=t).sensitivity >= 0.98
    True
    """
    return _threshold_for_sensitivity(resolve_model(model)._compiled, cases, sensitivity)


def sensitivity(
    model: Model, findings: Mapping[str, FindingValue] | None = None, target: str = "dvt"
) -> pd.DataFrame:
    """Return how the posterior of ``target`` depends on each table entry.

    Parameters
    ----------
    model : Model
        The model.
    findings : Mapping[str, str | bool | float | None], optional
        The patient's findings, as for :func:`calfdx.diagnose`.
    target : str, default="dvt"
        The cause whose posterior is studied.

    Returns
    -------
    pandas.DataFrame
        One row per entry that can move the target: every prior, and every entry of a
        distribution the evidence depends on: P(state | cause) of an observed finding,
        P(state | parent state, cause) of an observed finding with a parent (one row per
        parent state), and the parent's P(state | cause) when only its children are
        observed. Entries of unobserved findings (and those under a parent state the
        evidence rules out) have derivative 0 and are left out. Columns: ``table``
        ("prior" or "likelihood"), ``finding``, ``state``, ``cause``, ``parent_state``
        (the parent's state for a finding with a parent, else ""), ``value``,
        ``derivative`` (of the target's posterior with respect to the entry), ``low`` and
        ``high`` (the entry's plausible range), ``posterior_low`` and ``posterior_high``
        (the target's posterior at those ends, exact) and ``swing``
        (``|posterior_high - posterior_low|``); sorted by swing, largest first. The
        frame's ``attrs`` hold the ``target``, its ``posterior`` and the findings'
        ``parents``.

    Examples
    --------
    >>> import calfdx
    >>> model = calfdx.load_model()
    >>> table = calfdx.sensitivity(model, {"swelling": "yes", "side": "unilateral"})
    >>> list(table.columns[:6])
    ['table', 'finding', 'state', 'cause', 'parent_state', 'value']
    >>> bool((table["swing"].diff().dropna() <= 0).all())
    True
    """
    return _sensitivity(resolve_model(model)._compiled, findings, target)


def wells_score(
    findings: Mapping[str, FindingValue] | None = None,
    /,
    *,
    model: Model | None = None,
    network: bool = True,
    **more_findings: FindingValue,
) -> WellsScore:
    """Return the Wells DVT score (Wells 2003) for findings in the calfdx vocabulary.

    Parameters
    ----------
    findings : Mapping[str, str | bool | None], optional
        Findings as for :func:`calfdx.diagnose`; the Wells items are read from
        ``active_cancer``, ``paralysis_or_cast``, ``bedridden_or_major_surgery``,
        ``calf_tenderness``, ``whole_leg_swollen``, ``calf_difference_3cm``,
        ``pitting_oedema``, ``collateral_veins``, ``previous_dvt`` and
        ``alternative_diagnosis_likely``. Soft evidence does not count as an answer: such
        items are listed in ``missing`` and ``not_counted``.
    model : Model, optional
        Default: the tables shipped with calfdx (for the vocabulary and the network's
        P(DVT)).
    network : bool, default=True
        Also compute the network's P(DVT) and the discordance flag.
    **more_findings : str | bool | None
        Findings given as keywords.

    Returns
    -------
    WellsScore
        Points, items counted and missing, the tier with its published prevalence and CI,
        and the discordance with the network.

    Raises
    ------
    EvidenceError
        Bad findings, as for :func:`calfdx.diagnose`.

    References
    ----------
    .. [1] Wells PS, Anderson DR, Rodger M, et al. Evaluation of D-dimer in the diagnosis of
       suspected deep-vein thrombosis. N Engl J Med 2003;349:1227-35.
    .. [2] NICE. Venous thromboembolic diseases: diagnosis, management and thrombophilia
       testing. NICE guideline NG158, 2020.
    .. [3] The use of a clinical prediction model and D-dimer (meta-analysis). Blood
       2004;104(11):1052 (ASH annual meeting abstract).

    Examples
    --------
    Worked example: a patient with active cancer, a whole swollen leg, a calf 3 cm larger,
    pitting oedema and deep-vein tenderness, no other item, no likelier alternative
    diagnosis scores 5: high (53.6% DVT).

    >>> import calfdx
    >>> high = calfdx.wells_score(
    ...     active_cancer="yes", paralysis_or_cast="no", bedridden_or_major_surgery="no",
    ...     calf_tenderness="yes", whole_leg_swollen="yes", calf_difference_3cm="yes",
    ...     pitting_oedema="yes", collateral_veins="no", previous_dvt="no",
    ...     alternative_diagnosis_likely="no",
    ... )
    >>> high.points, high.tier, high.prevalence, high.two_level
    (5, 'high', 0.536, 'likely')

    With an alternative diagnosis at least as likely and nothing else, the score is -2:

    >>> answers = {item.finding: "no" for item in calfdx.WELLS_ITEMS}
    >>> low = calfdx.wells_score({**answers, "alternative_diagnosis_likely": "yes"})
    >>> low.points, low.tier, low.prevalence_ci
    (-2, 'low', (0.042, 0.057))

    Missing items are not taken as absent:

    >>> partial = calfdx.wells_score(active_cancer="yes")
    >>> partial.points_range, partial.tier
    ((-1, 9), None)
    """
    model = resolve_model(model)
    score, merged = _wells_score(model._compiled, findings, more_findings)
    if not network:
        return score
    return score.compared_with(model.diagnose(merged).dvt_probability)
