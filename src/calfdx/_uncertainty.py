r"""How much the posterior depends on each number, and how sure the model is.

**Sensitivity.** A table entry :math:`v` (a prior; P(state | cause); or, for a finding with a
parent, P(state | parent state, cause)) is varied with the other entries of its distribution
rescaled proportionally (as :meth:`Model.with_prior` and :meth:`Model.with_likelihood` do).
P(evidence | cause) is multilinear in the entries of the tables, so this changes one cause's
joint probability :math:`J_c = P(c) \prod_F P(e_F \mid c)` (a product over families of
findings) by a factor affine in :math:`v`, found exactly from two evaluations of the
family's likelihood: at :math:`v` and with the distribution put on the entry's state
(:math:`v = 1`). The posterior of the target :math:`T` is then a ratio of affine functions
of :math:`v` and its derivative is exact:

.. math::

    \frac{\partial P(T \mid e)}{\partial v} = P(T \mid e)\Big(m_T - \sum_c P(c \mid e)\, m_c\Big),
    \qquad m_c = \frac{\partial \log J_c}{\partial v}.

The "plausible range" of an entry is the central 95% of Beta(p N, (1 - p) N), with N its
effective sample size (the ``ess`` column, or the default for its source type).

**Credible intervals.** Whole tables are drawn from Dirichlet distributions with
concentration p N: the prior over the causes, and for each distribution the evidence
depends on (per cause, and per parent state for a finding with a parent: every observed
finding's, and a parent's when only its children are observed) the distribution over its
states. The posterior is computed exactly for every draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from ._checks import positive_count, strict_json
from ._checks import seed as check_seed
from ._evidence import FindingValue, Soft, check_threshold, normalize_evidence
from ._exceptions import InvalidOptionError
from ._schema import cause_index

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd
    from matplotlib.axes import Axes

    from ._core import Compiled

__all__ = ["PosteriorInterval", "plot_tornado", "posterior_interval"]

FloatArray = npt.NDArray[np.float64]
#: The most tables posterior_interval draws in one call.
MAX_DRAWS: Final = 200_000
#: posterior_interval draws tables this many at a time (memory).
_CHUNK: Final = 20_000


def _checked_posterior(
    compiled: Compiled, findings: Mapping[str, FindingValue] | None
) -> tuple[dict[str, str], dict[str, tuple[float, ...]], FloatArray]:
    """Return the checked hard and soft evidence, and the posterior they give."""
    evidence = normalize_evidence(compiled.findings, findings, {})
    engine = compiled.engine
    rows = engine.rows(evidence.hard)
    posterior = engine.posterior_rows(rows, evidence.soft)
    return evidence.hard, evidence.soft, posterior


def _beta_range(p: float, n: float) -> tuple[float, float]:
    from scipy.stats import beta

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


def _cause_factor(n: int, i: int, slope: float, base: float, p: float, v: float) -> FloatArray:
    """Factors when an entry of cause i's distribution goes from p to v, the others rescaled.

    ``base`` is P(e_F | cause i) and ``slope`` its (constant) derivative in the entry.
    """
    factors = np.ones(n)
    factors[i] = (base + (v - p) * slope) / base
    return factors


def _family_evidence(
    members: tuple[str, ...], hard: Mapping[str, str], soft: Mapping[str, Soft]
) -> tuple[dict[str, str], dict[str, Soft]]:
    """Return the hard and soft evidence on one family."""
    return (
        {f: s for f, s in hard.items() if f in members},
        {f: w for f, w in soft.items() if f in members},
    )


def _likelihood_entries(
    compiled: Compiled, hard: Mapping[str, str], soft: Mapping[str, Soft]
) -> list[tuple[str, str, int, int, float, float, float]]:
    """Return every likelihood entry the evidence depends on, with its exact effect.

    One tuple per entry: (finding, parent state or "", cause index, state index, value,
    slope, base), where base is P(e_F | cause) of the entry's family and slope its
    derivative in the entry (the other entries of its distribution rescaled
    proportionally). P(e_F | cause) is affine in the entry, so the slope is
    (P(e_F | cause; entry = 1) - base) / (1 - value). Entries under a parent state the
    evidence on the parent rules out (weight 0) are left out: they cannot move anything.
    """
    from ._likelihood import evidence_likelihood, finding_weights

    engine = compiled.engine
    tables = compiled.tables
    depends_on = set(engine.depends_on(hard, soft))
    out = []
    for members in engine.families:
        involved = [m for m in members if m in depends_on]
        if not involved:
            continue
        family_hard, family_soft = _family_evidence(members, hard, soft)
        arrays = {m: tables.likelihood[m] for m in involved}
        base = engine.likelihood(family_hard, family_soft)  # (causes,)
        root = members[0]
        root_weights = finding_weights(root, engine.states, hard, soft)
        for name in involved:
            table = arrays[name]  # (states, causes) or (states, parent states, causes)
            states = len(engine.states[name])
            parent_states = engine.states[root] if name != root else ("",)
            # A batch of tables: entry (j, k) puts every cause's distribution under parent
            # state k on state j (each cause's likelihood depends on its own column only).
            shape = table.shape if name != root else (states, 1, table.shape[-1])
            batch = np.broadcast_to(
                table.reshape(shape), (states, len(parent_states), *shape)
            ).copy()
            for j in range(states):
                for k in range(len(parent_states)):
                    batch[j, k, :, k, :] = 0.0
                    batch[j, k, j, k, :] = 1.0
            edited = batch if name != root else batch[..., 0, :]
            at_one = evidence_likelihood(
                {**arrays, name: edited},
                engine.states,
                family_hard,
                parents=engine.parents,
                soft=family_soft,
            )  # (states, parent states, causes)
            values = table.reshape(shape)
            for k, parent_state in enumerate(parent_states):
                if name != root and root_weights is not None and root_weights[k] == 0.0:
                    continue
                for j in range(states):
                    for i in range(len(engine.causes)):
                        p = float(values[j, k, i])
                        if p >= 1.0:
                            continue
                        slope = (float(at_one[j, k, i]) - float(base[i])) / (1.0 - p)
                        out.append((name, parent_state, i, j, p, slope, float(base[i])))
    return out


def _sensitivity(
    compiled: Compiled, findings: Mapping[str, FindingValue] | None, target: str
) -> pd.DataFrame:
    """Return :func:`calfdx.sensitivity` on compiled tables."""
    import pandas as pd

    causes = list(compiled.engine.causes)
    t = cause_index(causes, target)
    hard, soft, posterior = _checked_posterior(compiled, findings)
    tables = compiled.tables
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
                "parent_state": "",
                "value": p,
                "derivative": float(posterior[t] * (m[t] - posterior @ m)),
                "low": low,
                "high": high,
                "posterior_low": _target(posterior, t, _prior_factors(n, i, p, low)),
                "posterior_high": _target(posterior, t, _prior_factors(n, i, p, high)),
            }
        )
    # Every entry of a distribution the evidence depends on can move the target, not only
    # the observed state's.
    engine = compiled.engine
    for name, parent_state, i, j, p, slope, base in _likelihood_entries(compiled, hard, soft):
        if p >= 1.0 or base <= 0.0:
            continue
        m = np.zeros(n)
        m[i] = slope / base
        ess = tables.likelihood_ess[name]
        k = engine.states[engine.parents[name]].index(parent_state) if parent_state else None
        low, high = _beta_range(p, float(ess[i] if k is None else ess[k, i]))
        records.append(
            {
                "table": "likelihood",
                "finding": name,
                "state": engine.states[name][j],
                "cause": causes[i],
                "parent_state": parent_state,
                "value": p,
                "derivative": float(posterior[t] * (m[t] - posterior @ m)),
                "low": low,
                "high": high,
                "posterior_low": _target(posterior, t, _cause_factor(n, i, slope, base, p, low)),
                "posterior_high": _target(posterior, t, _cause_factor(n, i, slope, base, p, high)),
            }
        )
    frame = pd.DataFrame(
        records,
        columns=[
            "table", "finding", "state", "cause", "parent_state", "value", "derivative",
            "low", "high", "posterior_low", "posterior_high",
        ],
    )  # fmt: skip
    frame["swing"] = (frame["posterior_high"] - frame["posterior_low"]).abs()
    frame.attrs["target"] = target
    frame.attrs["posterior"] = float(posterior[t])
    frame.attrs["parents"] = dict(engine.parents)
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
    parents = table.attrs.get("parents", {})
    base = float(table.attrs.get("posterior", np.nan))
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.4 * len(top) + 1.5))
    labels = [
        f"P({row.cause})"
        if row.table == "prior"
        else f"P({row.finding}={row.state} | {row.cause})"
        if not getattr(row, "parent_state", "")
        else f"P({row.finding}={row.state} | {parents.get(row.finding, 'parent')}="
        f"{row.parent_state}, {row.cause})"
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


def _drawn_posteriors(
    compiled: Compiled,
    hard: Mapping[str, str],
    soft: Mapping[str, Soft],
    rng: np.random.Generator,
    draws: int,
) -> FloatArray:
    """Return the posterior (draws, causes) under ``draws`` tables drawn from their uncertainty.

    The prior is one Dirichlet with concentration p N (N: the smallest ess of the setting);
    every distribution the evidence depends on (per cause, and per parent state for a
    finding with a parent) one Dirichlet with concentration p N (N: its ess). Each draw's
    P(evidence | cause) is exact (:func:`evidence_likelihood` on the drawn tables).
    """
    from ._likelihood import evidence_likelihood

    tables = compiled.tables
    engine = compiled.engine
    alpha = tables.prior * float(tables.prior_ess.min())
    joint = rng.gamma(alpha, size=(draws, alpha.size))
    joint /= joint.sum(axis=1, keepdims=True)
    depends_on = set(engine.depends_on(hard, soft))
    for members in engine.families:
        involved = [m for m in members if m in depends_on]
        if not involved:
            continue
        drawn = {}
        for name in involved:
            table = tables.likelihood[name]  # (states, [parent states,] causes)
            ess = tables.likelihood_ess[name]  # ([parent states,] causes)
            gamma = rng.gamma(table * ess, size=(draws, *table.shape))
            with np.errstate(invalid="ignore"):
                drawn[name] = np.nan_to_num(gamma / gamma.sum(axis=1, keepdims=True))
        family_hard, family_soft = _family_evidence(members, hard, soft)
        joint *= evidence_likelihood(
            drawn, engine.states, family_hard, parents=engine.parents, soft=family_soft
        )
    totals = joint.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        posteriors: FloatArray = np.where(totals > 0, joint / totals, np.nan)
    return posteriors


def posterior_interval(
    compiled: Compiled,
    findings: Mapping[str, FindingValue] | None = None,
    *,
    level: float = 0.95,
    draws: int = 2000,
    seed: int | None = None,
    dvt_threshold: float | None = None,
) -> PosteriorInterval:
    """Return credible intervals of the posterior; see :meth:`Model.posterior_interval`."""
    import pandas as pd

    level = check_threshold(level, "level")
    draws = positive_count(draws, "draws")
    if draws > MAX_DRAWS:
        msg = f"draws must be at most {MAX_DRAWS:,} (memory). Got {draws:,} instead."
        raise InvalidOptionError(msg)
    seed = check_seed(seed)
    threshold = compiled.dvt_threshold if dvt_threshold is None else check_threshold(dvt_threshold)
    hard, soft, posterior = _checked_posterior(compiled, findings)
    rng = np.random.default_rng(seed)
    draws_posterior = np.concatenate(
        [
            _drawn_posteriors(compiled, hard, soft, rng, min(_CHUNK, draws - start))
            for start in range(0, draws, _CHUNK)
        ]
    )
    tail = (1.0 - level) / 2.0
    causes = list(compiled.engine.causes)
    frame = pd.DataFrame(
        {
            "posterior": posterior,
            "mean": np.nanmean(draws_posterior, axis=0),
            "lower": np.nanquantile(draws_posterior, tail, axis=0),
            "upper": np.nanquantile(draws_posterior, 1.0 - tail, axis=0),
        },
        index=pd.Index(causes, name="cause"),
    ).sort_values("posterior", ascending=False, kind="stable")
    dvt = draws_posterior[:, compiled.dvt_index]
    alert = float(np.mean(dvt[np.isfinite(dvt)] >= threshold))
    return PosteriorInterval(level, draws, seed, frame, alert)
