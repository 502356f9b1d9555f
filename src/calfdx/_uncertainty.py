r"""How much the posterior depends on each number, and how sure the model is.

**Sensitivity.** A table entry :math:`v` (a prior, or P(state | cause)) is varied with the
other entries of its distribution rescaled proportionally (as :meth:`Model.with_prior` and
:meth:`Model.with_likelihood` do). That multiplies each cause's joint probability
:math:`J_c = P(c)\prod_f P(e_f \mid c)` by a factor linear in :math:`v`, so the posterior of
the target :math:`T` is a ratio of linear functions of :math:`v` and its derivative is exact:

.. math::

    \frac{\partial P(T \mid e)}{\partial v} = P(T \mid e)\Big(m_T - \sum_c P(c \mid e)\, m_c\Big),
    \qquad m_c = \frac{\partial \log J_c}{\partial v}.

The "plausible range" of an entry is the central 95% of Beta(p N, (1 - p) N), with N its
effective sample size (the ``ess`` column, or the default for its source type).

**Credible intervals.** Whole tables are drawn from Dirichlet distributions with
concentration p N (the prior over the causes; for each observed finding and cause, the
distribution over its states), and the posterior is computed for every draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from ._checks import positive_count, strict_json
from ._checks import seed as check_seed
from ._exceptions import InvalidOptionError
from ._inference import FindingValue, check_threshold, normalize_evidence
from ._tables import cause_index

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd
    from matplotlib.axes import Axes

    from ._model import Model

__all__ = ["PosteriorInterval", "plot_tornado", "posterior_interval", "sensitivity"]

FloatArray = npt.NDArray[np.float64]
#: The most tables posterior_interval draws in one call.
MAX_DRAWS: Final = 200_000


def _evidence_factors(
    model: Model, findings: Mapping[str, FindingValue] | None
) -> tuple[dict[str, str], dict[str, tuple[float, ...]], FloatArray]:
    evidence = normalize_evidence(model.findings, findings, {})
    engine = model._engine
    rows = engine.rows(evidence.hard)
    posterior = engine.posterior_rows(rows, evidence.soft)
    return evidence.hard, evidence.soft, posterior


def _beta_range(p: float, n: float) -> tuple[float, float]:
    from scipy.stats import beta  # imported here: scipy.stats is slow to import

    if p <= 0.0 or p >= 1.0:
        return p, p
    low, high = beta.ppf([0.025, 0.975], p * n, (1 - p) * n)
    return float(low), float(high)


def _target(posterior: FloatArray, t: int, factors: FloatArray) -> float:
    """Return the target's posterior after multiplying each cause's joint by ``factors``."""
    joint = posterior * factors
    return float(joint[t] / joint.sum())


def _prior_factors(n: int, i: int, p: float, v: float) -> FloatArray:
    """Factors on the joints when prior i goes from p to v, the others rescaled."""
    factors = np.full(n, (1.0 - v) / (1.0 - p))
    factors[i] = v / p
    return factors


def _cause_factor(
    n: int, i: int, weight: float, rest: float, p: float, e: float, v: float
) -> FloatArray:
    """Factors when P(state | cause i) goes from p to v, the other states rescaled."""
    factors = np.ones(n)
    factors[i] = (weight * v + rest * (1.0 - v) / (1.0 - p)) / e
    return factors


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
        One row per entry that can move the target: every prior, and every P(state |
        cause) of an observed finding (entries of unobserved findings have derivative 0 and
        are left out). Columns: ``table`` ("prior" or "likelihood"), ``finding``, ``state``,
        ``cause``, ``value``, ``derivative`` (of the target's posterior with respect to the
        entry), ``low`` and ``high`` (the entry's plausible range), ``posterior_low`` and
        ``posterior_high`` (the target's posterior at those ends) and ``swing``
        (``|posterior_high - posterior_low|``); sorted by swing, largest first.

    Examples
    --------
    >>> import calfdx
    >>> model = calfdx.load_model()
    >>> table = calfdx.sensitivity(model, {"swelling": "yes", "side": "unilateral"})
    >>> list(table.columns[:5])
    ['table', 'finding', 'state', 'cause', 'value']
    >>> bool((table["swing"].diff().dropna() <= 0).all())
    True
    """
    import pandas as pd  # imported here: diagnosing needs no pandas

    from ._model import resolve_model

    model = resolve_model(model)
    causes = list(model._engine.causes)
    t = cause_index(causes, target)
    hard, soft, posterior = _evidence_factors(model, findings)
    tables = model._tables
    records: list[dict[str, Any]] = []

    n = len(causes)
    prior = tables.prior
    for i, cause in enumerate(causes):
        p = float(prior[i])
        if p <= 0.0 or p >= 1.0:
            continue
        m = np.full(n, -1.0 / (1.0 - p))
        m[i] = 1.0 / p
        low, high = _beta_range(p, float(tables.prior_ess[i]))
        records.append(
            {
                "table": "prior",
                "finding": "",
                "state": "",
                "cause": cause,
                "value": p,
                "derivative": float(posterior[t] * (m[t] - posterior @ m)),
                "low": low,
                "high": high,
                "posterior_low": _target(posterior, t, _prior_factors(n, i, p, low)),
                "posterior_high": _target(posterior, t, _prior_factors(n, i, p, high)),
            }
        )
    # Every state's entry of an observed finding can move the target, not only the observed one.
    for name, _, weights in model._engine.evidence_weights(hard, soft):
        block = model._engine.block(name)  # (states, causes)
        evidence_probability = weights @ block  # P(e_f | c)
        for j, state in enumerate(model.findings[name].states):
            for i, cause in enumerate(causes):
                p = float(block[j, i])
                e = float(evidence_probability[i])
                if p >= 1.0 or e <= 0.0:
                    continue
                rest = e - weights[j] * p  # the part of P(e_f | c) from the other states
                m = np.zeros(n)
                m[i] = (weights[j] - rest / (1.0 - p)) / e
                low, high = _beta_range(p, float(tables.likelihood_ess[name][i]))
                records.append(
                    {
                        "table": "likelihood",
                        "finding": name,
                        "state": state,
                        "cause": cause,
                        "value": p,
                        "derivative": float(posterior[t] * (m[t] - posterior @ m)),
                        "low": low,
                        "high": high,
                        "posterior_low": _target(
                            posterior, t, _cause_factor(n, i, weights[j], rest, p, e, low)
                        ),
                        "posterior_high": _target(
                            posterior, t, _cause_factor(n, i, weights[j], rest, p, e, high)
                        ),
                    }
                )
    frame = pd.DataFrame(
        records,
        columns=[
            "table", "finding", "state", "cause", "value", "derivative",
            "low", "high", "posterior_low", "posterior_high",
        ],
    )  # fmt: skip
    frame["swing"] = (frame["posterior_high"] - frame["posterior_low"]).abs()
    frame.attrs["target"] = target
    frame.attrs["posterior"] = float(posterior[t])
    return frame.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def plot_tornado(table: pd.DataFrame, k: int = 10, ax: Axes | None = None) -> Axes:
    """Draw the ``k`` entries with the largest swings of a :func:`sensitivity` table.

    Needs matplotlib (``pip install "calfdx[plot]"``).

    Parameters
    ----------
    table : pandas.DataFrame
        The result of :func:`calfdx.sensitivity`.
    k : int, default=10
        How many entries.
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
    >>> model = calfdx.load_model()
    >>> ax = calfdx.plot_tornado(calfdx.sensitivity(model, {"swelling": "yes"}), k=5)
    >>> len(ax.patches)
    5
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        msg = 'plot_tornado needs matplotlib: pip install "calfdx[plot]".'
        raise InvalidOptionError(msg) from error
    top = table.head(k).iloc[::-1]
    base = float(table.attrs.get("posterior", np.nan))
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.4 * len(top) + 1.5))
    labels = [
        f"P({row.cause})"
        if row.table == "prior"
        else f"P({row.finding}={row.state} | {row.cause})"
        for row in top.itertuples()
    ]
    ends = top[["posterior_low", "posterior_high"]].to_numpy()
    lows, highs = ends.min(axis=1), ends.max(axis=1)
    ax.barh(labels, highs - lows, left=lows, color="#4c72b0")
    if np.isfinite(base):
        ax.axvline(base, color="black", linewidth=1)
    target = table.attrs.get("target", "target")
    ax.set_xlabel(f"P({target} | findings) over each entry's plausible range")
    ax.set_title("Sensitivity of the posterior to the tables")
    return ax


@dataclass(frozen=True, slots=True)
class PosteriorInterval:
    """Credible intervals of the posterior, from whole tables drawn from their uncertainty.

    Attributes
    ----------
    level : float
        The credible level (e.g. 0.95).
    draws : int
        Number of tables drawn.
    seed : int or None
        The seed used.
    frame : pandas.DataFrame
        Per cause: ``posterior`` (with the tables as they are), ``mean``, ``lower``,
        ``upper``; in descending order of ``posterior``.
    alert_probability : float
        Fraction of draws in which the DVT alert fires.
    """

    level: float
    draws: int
    seed: int | None
    frame: pd.DataFrame
    alert_probability: float

    def to_frame(self) -> pd.DataFrame:
        """Return the per-cause intervals (a copy)."""
        return self.frame.copy()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary (non-finite numbers as None)."""
        return strict_json(
            {
                "level": self.level,
                "draws": self.draws,
                "seed": self.seed,
                "alert_probability": self.alert_probability,
                "causes": self.frame.reset_index().to_dict(orient="records"),
            }
        )


def posterior_interval(
    model: Model,
    findings: Mapping[str, FindingValue] | None = None,
    *,
    level: float = 0.95,
    draws: int = 2000,
    seed: int | None = None,
    dvt_threshold: float | None = None,
) -> PosteriorInterval:
    """Return credible intervals of the posterior; see :meth:`Model.posterior_interval`."""
    import pandas as pd  # imported here: diagnosing needs no pandas

    level = check_threshold(level, "level")
    draws = positive_count(draws, "draws")
    if draws > MAX_DRAWS:
        msg = f"draws must be at most {MAX_DRAWS:,} (memory). Got {draws:,} instead."
        raise InvalidOptionError(msg)
    seed = check_seed(seed)
    threshold = model.dvt_threshold if dvt_threshold is None else check_threshold(dvt_threshold)
    hard, soft, posterior = _evidence_factors(model, findings)
    tables = model._tables
    rng = np.random.default_rng(seed)
    # The prior: one Dirichlet, concentration p * N (N: the smallest ess of the setting).
    alpha = tables.prior * float(tables.prior_ess.min())
    joint = rng.gamma(alpha, size=(draws, alpha.size))
    joint /= joint.sum(axis=1, keepdims=True)
    for name in (*hard, *soft):
        finding = model.findings[name]
        block = model._engine.block(name)  # (states, causes)
        ess = tables.likelihood_ess[name]  # per cause
        gamma = rng.gamma(block * ess, size=(draws, *block.shape))
        with np.errstate(invalid="ignore"):
            drawn = gamma / gamma.sum(axis=1, keepdims=True)
        drawn = np.nan_to_num(drawn)
        if name in hard:
            joint *= drawn[:, finding.states.index(hard[name]), :]
        else:
            joint *= np.einsum("s,dsc->dc", np.asarray(soft[name]), drawn)
    totals = joint.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        draws_posterior = np.where(totals > 0, joint / totals, np.nan)
    tail = (1.0 - level) / 2.0
    causes = list(model._engine.causes)
    frame = pd.DataFrame(
        {
            "posterior": posterior,
            "mean": np.nanmean(draws_posterior, axis=0),
            "lower": np.nanquantile(draws_posterior, tail, axis=0),
            "upper": np.nanquantile(draws_posterior, 1.0 - tail, axis=0),
        },
        index=pd.Index(causes, name="cause"),
    ).sort_values("posterior", ascending=False, kind="stable")
    dvt = draws_posterior[:, model._dvt_index]
    alert = float(np.mean(dvt[np.isfinite(dvt)] >= threshold))
    return PosteriorInterval(level, draws, seed, frame, alert)
