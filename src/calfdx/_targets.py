r"""Check the tables against published statistics, and calibrate them to meet them.

``priors/targets.csv`` lists published figures (likelihood ratios, prevalences in a subgroup,
sensitivities and specificities) with their 95% CIs. :func:`check_targets` computes each
figure exactly from the model, in the target's setting:

.. math::

    \mathrm{LR}_k(e) = \frac{P(e \mid k)}{\sum_{c \ne k} \pi_c P(e \mid c) / \sum_{c \ne k} \pi_c},
    \qquad P(k \mid e) = \frac{\pi_k P(e \mid k)}{\sum_c \pi_c P(e \mid c)},

where :math:`\pi` is the setting's prior (restricted to the causes the target keeps) and
:math:`P(e \mid c)` the exact likelihood of the evidence, a Wells tier included.

:func:`calibrate` moves the ``expert_estimate`` numbers as little as possible so that every
target is met: it minimises :math:`\sum_d N_d \, \mathrm{KL}(p'_d \,\|\, p_d)` over the
distributions :math:`d` (each P(finding | cause), each setting's prior), weighted by their
effective sample sizes :math:`N_d`, subject to every target's statistic lying inside its
interval (a penalty method with L-BFGS-B: exact statistics, forward-difference gradients
computed block by block, since a step in one distribution changes only the targets that
depend on it). Published and
secondary numbers never move.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from ._edit import _number, _rewrite
from ._exceptions import CalfdxError, InvalidOptionError
from ._inference import ScoreTier, evidence_likelihood, score_totals
from ._tables import DEFAULT_ESS, Tables, Target, parse_targets
from ._wells import WELLS_ITEMS

if TYPE_CHECKING:
    import pandas as pd

    from ._core import Compiled

__all__ = ["CalibrationError", "TargetCheck", "TargetReport", "calibrate", "check_targets"]

FloatArray = npt.NDArray[np.float64]

#: Points of each Wells finding state (Wells 2003 as in NICE NG158).
WELLS_POINTS: Final[Mapping[str, Mapping[str, int]]] = {
    item.finding: {item.state: item.points} for item in WELLS_ITEMS
}
#: Score tiers a target may condition on: (points, lowest total, highest total).
SCORES: Final[Mapping[tuple[str, str], ScoreTier]] = {
    ("wells", "low"): (WELLS_POINTS, None, 0),
    ("wells", "moderate"): (WELLS_POINTS, 1, 2),
    ("wells", "high"): (WELLS_POINTS, 3, None),
    ("wells_two", "unlikely"): (WELLS_POINTS, None, 1),
    ("wells_two", "likely"): (WELLS_POINTS, 2, None),
}


class CalibrationError(CalfdxError, ValueError):
    """Raised when the targets cannot all be met by moving the estimate numbers."""

    def __init__(self, message: str, targets: tuple[str, ...] = ()):
        super().__init__(message)
        #: The ids of the targets left unmet.
        self.targets = targets


# --------------------------------------------------------------------------------------------
# Statistics


def _findings_of(target: Target, parents: Mapping[str, str]) -> set[str]:
    """Return the findings whose numbers a target's statistic depends on.

    These are the findings of its evidence and score, and their parents (a child's
    probability is a sum over its parent's states).
    """
    found = {finding for finding, _ in target.evidence}
    if target.score is not None:
        found |= set(SCORES[target.score][0])
    return found | {parents[f] for f in found if f in parents}


def target_values(
    targets: Sequence[Target],
    causes: Sequence[str],
    priors: Mapping[str, FloatArray],
    likelihood: Mapping[str, FloatArray],
    states: Mapping[str, tuple[str, ...]],
    parents: Mapping[str, str],
) -> FloatArray:
    """Return each target's statistic computed from the tables (axis -1: targets).

    ``priors`` maps setting → (..., causes) and ``likelihood`` finding → (..., states,
    causes), or (..., states, parent states, causes) for a finding with a parent; leading
    axes (a batch of tables) broadcast.
    """
    values = []
    # A score's distribution given the same evidence serves all its tiers: computed once.
    distributions: dict[tuple[object, ...], tuple[int, FloatArray]] = {}
    for target in targets:
        keep = np.array([cause not in target.excluded for cause in causes], dtype=np.float64)
        prior = priors[target.setting] * keep
        prior = prior / prior.sum(axis=-1, keepdims=True)
        if target.score is not None:
            points, low, high = SCORES[target.score]
            key: tuple[object, ...] = (target.evidence, id(points))
            if key not in distributions:
                distributions[key] = score_totals(
                    likelihood, states, dict(target.evidence), points, parents=parents
                )
            lowest, mass = distributions[key]
            start = 0 if low is None else max(low - lowest, 0)
            stop = len(mass) if high is None else max(high - lowest + 1, 0)
            like = mass[start:stop].sum(axis=0)
        elif target.evidence:
            key = (target.evidence, None)
            if key not in distributions:  # targets on one subgroup share its likelihood
                found = evidence_likelihood(
                    likelihood, states, dict(target.evidence), parents=parents
                )
                distributions[key] = (0, found[None])
            like = distributions[key][1][0]
        else:
            like = np.ones_like(prior)
        k = causes.index(target.cause)
        rest = prior.copy()
        rest[..., k] = 0.0
        rest_like = (rest * like).sum(axis=-1) / rest.sum(axis=-1)
        if target.statistic == "likelihood_ratio":
            value = like[..., k] / rest_like
        elif target.statistic == "probability":
            value = prior[..., k] * like[..., k] / (prior * like).sum(axis=-1)
        elif target.statistic == "sensitivity":
            value = like[..., k]
        else:  # specificity
            value = 1.0 - rest_like
        values.append(value)
    shape = np.broadcast_shapes(*(np.shape(value) for value in values))
    return np.stack([np.broadcast_to(value, shape) for value in values], axis=-1)


def _setting_priors(tables: Tables) -> dict[str, FloatArray]:
    return {setting: np.asarray(prior) for setting, prior in tables.setting_priors.items()}


# --------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True, slots=True)
class TargetCheck:
    """One target against the model: the published value and interval, and the model's.

    Attributes
    ----------
    target : Target
        The published statistic.
    model_value : float
        The same statistic computed from the model, in the target's setting.
    met : bool
        Whether ``model_value`` lies in the target's interval.
    miss : float
        0 when met; otherwise the model value minus the nearest bound (negative: too low).
    """

    target: Target
    model_value: float
    met: bool
    miss: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary (numbers unrounded)."""
        t = self.target
        return {
            "target_id": t.id,
            "setting": t.setting,
            "statistic": t.statistic,
            "cause": t.cause,
            "evidence": t.evidence_text,
            "value": t.value,
            "ci_low": t.low,
            "ci_high": t.high,
            "model_value": self.model_value,
            "met": self.met,
            "miss": self.miss,
            "source_id": t.source_id,
        }


@dataclass(frozen=True, slots=True)
class TargetReport:
    """Every target of a model, checked: see :func:`check_targets`.

    Attributes
    ----------
    checks : tuple of TargetCheck
        One per target, in ``targets.csv`` order.
    content_hash : str
        The SHA-256 of the tables checked.
    """

    checks: tuple[TargetCheck, ...]
    content_hash: str = field(repr=False)

    @property
    def all_met(self) -> bool:
        """Whether every target is met."""
        return all(check.met for check in self.checks)

    @property
    def unmet(self) -> tuple[TargetCheck, ...]:
        """The targets the model misses."""
        return tuple(check for check in self.checks if not check.met)

    def __getitem__(self, target_id: str) -> TargetCheck:
        for check in self.checks:
            if check.target.id == target_id:
                return check
        msg = f"Unknown target {target_id!r}. Targets: {', '.join(self.ids())}."
        raise InvalidOptionError(msg)

    def ids(self) -> tuple[str, ...]:
        """Return the target ids, in order."""
        return tuple(check.target.id for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary (numbers unrounded)."""
        return {
            "all_met": self.all_met,
            "content_hash": self.content_hash,
            "targets": [check.to_dict() for check in self.checks],
        }

    def to_frame(self) -> pd.DataFrame:
        """Return one row per target: ids, published value and CI, model value, met, miss."""
        import pandas as pd

        return pd.DataFrame([check.to_dict() for check in self.checks])

    def lines(self) -> list[str]:
        """Return the report as lines of text (rounded for reading)."""
        met = sum(check.met for check in self.checks)
        out = [f"Targets met: {met} of {len(self.checks)}"]
        for check in self.checks:
            t = check.target
            mark = "ok  " if check.met else "MISS"
            out.append(
                f"  {mark} {t.id}: model {check.model_value:.4g}, published {t.value:.4g} "
                f"({t.low:.4g}-{t.high:.4g}) [{t.statistic}, {t.setting}]"
            )
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        met = sum(check.met for check in self.checks)
        return f"<TargetReport targets={len(self.checks)} met={met}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{c.target.id}</td><td>{c.target.statistic}</td>"
            f"<td>{c.target.value:.3g} ({c.target.low:.3g}-{c.target.high:.3g})</td>"
            f"<td>{c.model_value:.3g}</td><td>{'yes' if c.met else '<b>no</b>'}</td></tr>"
            for c in self.checks
        )
        return (
            "<table><tr><th>target</th><th>statistic</th><th>published (CI)</th>"
            f"<th>model</th><th>met</th></tr>{rows}</table>"
        )


def _resolve_targets(tables: Tables, targets: object) -> tuple[Target, ...]:
    if targets is None:
        return tables.targets
    if isinstance(targets, str | Path):
        path = Path(targets)
        if path.is_dir():
            path = path / "targets.csv"
        try:
            data = path.read_bytes()
        except OSError as error:
            msg = f"Cannot read the targets file {str(path)!r}: {error.strerror or error}."
            raise InvalidOptionError(msg) from error
        return parse_targets(data, str(path), tables)
    if isinstance(targets, Iterable):
        chosen = tuple(targets)
        if all(isinstance(t, Target) for t in chosen):
            return tuple(t for t in chosen if isinstance(t, Target))
    msg = (
        "targets must be None (the model's own targets.csv), a path to a targets.csv file, "
        f"or Target records. Got {targets!r} (of type {type(targets).__name__}) instead."
    )
    raise InvalidOptionError(msg)


def check_targets(compiled: Compiled, targets: object = None) -> TargetReport:
    """Compute every published target from ``model`` and say whether it is met.

    See :meth:`calfdx.Model.check_targets`.
    """
    tables = compiled.tables
    chosen = _resolve_targets(tables, targets)
    causes = [cause.id for cause in tables.causes]
    states = {f.id: f.states for f in tables.findings}
    checks = []
    if chosen:
        values = target_values(
            chosen, causes, _setting_priors(tables), tables.likelihood, states, tables.parents
        )
        for target, value in zip(chosen, values.tolist(), strict=True):
            met = target.low <= value <= target.high
            miss = 0.0 if met else value - (target.low if value < target.low else target.high)
            checks.append(TargetCheck(target, value, met, miss))
    return TargetReport(tuple(checks), tables.content_hash)


# --------------------------------------------------------------------------------------------
# Calibration

#: Default share of each target's interval (in log space) kept clear of each bound, so that
#: the optimiser does not stop on an edge and writing the numbers with 4 significant digits
#: cannot push a statistic outside.
MARGIN: Final = 0.1
#: A calibrated distribution none of whose entries moves by more than this is left as it
#: was (unless that breaks a target), so the tables do not fill with noise-sized edits.
_NEGLIGIBLE: Final = 0.002
#: Finite-difference step for the gradients (in logits).
_STEP: Final = 1e-6
#: Weights of the squared misses (log scale) in the successive stages of the penalty method.
_PENALTIES: Final = (1e3, 1e4, 1e5, 1e6)
#: How many times its effective sample size a setting's prior weighs in the relative entropy.
#: A setting's prior and the likelihoods trade off against each other in any target
#: conditioned on findings, and moving the prior changes every answer in that setting, so
#: calibration is told to prefer the likelihoods: a prior moves only where they cannot do it.
PRIOR_WEIGHT: Final = 5.0
#: Largest change of a logit (odds ratio e**6, about 400): keeps every number away from 0 and
#: 1 and the optimiser in a region where the statistics are well conditioned.
_REACH: Final = 6.0
#: Significant digits of a calibrated number in the CSV tables.
_SIGNIFICANT: Final = 4


@dataclass(slots=True)
class _Block:
    """Distributions whose estimate entries may move, computed together.

    For a likelihood block: P(finding | cause) for the causes ``columns`` (one distribution
    each, over all the finding's states), or P(finding | parent state, cause) for one state
    of a parent. For a prior block: the estimate entries ``columns`` of one setting's prior
    (one distribution, holding ``mass``).
    """

    kind: str  # "likelihood" or "prior"
    key: str  # the finding or the setting
    parent_state: str  # for a finding with a parent: the parent's state; else ""
    parent_index: int | None  # that state's index in the parent's states; else None
    columns: list[int]  # cause indices
    start: FloatArray  # (distributions, entries): the current values, each row summing to 1
    mass: FloatArray  # (distributions,): what each distribution's entries hold in the table
    ess: FloatArray  # (distributions,)
    params: npt.NDArray[np.intp]  # (distributions, entries - 1): indices into the parameters


def _involved(targets: Sequence[Target], parents: Mapping[str, str]) -> set[str]:
    """Return the findings whose numbers any of the targets depends on."""
    return set().union(*(_findings_of(t, parents) for t in targets)) if targets else set()


def _free_blocks(tables: Tables, targets: Sequence[Target]) -> tuple[list[_Block], int]:
    causes = [cause.id for cause in tables.causes]
    parents = tables.parents
    involved = _involved(targets, parents)
    vocabulary = {f.id: f for f in tables.findings}
    rows: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for row in tables.likelihoods_rows:
        key = (row["finding"], row["cause"], row.get("parent_state", ""))
        rows.setdefault(key, []).append(row)
    blocks: list[_Block] = []
    size = 0

    def add(
        kind: str,
        key: tuple[str, str, int | None],
        columns: list[int],
        start: FloatArray,
        ess: FloatArray,
    ) -> None:
        nonlocal size
        n, k = start.shape
        mass = start.sum(axis=1)
        params = np.arange(size, size + n * (k - 1), dtype=np.intp).reshape(n, k - 1)
        size += n * (k - 1)
        block = _Block(kind, *key, columns, start / mass[:, None], mass, ess, params)
        blocks.append(block)

    for finding in tables.findings:
        if finding.id not in involved:
            continue
        parent_states = vocabulary[finding.parent].states if finding.parent else ("",)
        for k, parent_state in enumerate(parent_states):
            columns = [
                j
                for j, cause in enumerate(causes)
                if all(
                    row["source_type"] == "expert_estimate"
                    for row in rows[(finding.id, cause, parent_state)]
                )
            ]
            if not columns:
                continue
            table = np.asarray(tables.likelihood[finding.id], dtype=np.float64)
            ess = np.asarray(tables.likelihood_ess[finding.id], dtype=np.float64)
            index = k if finding.parent else None
            if index is not None:
                table, ess = table[:, index, :], ess[index]
            start = table[:, columns].T.copy()
            add("likelihood", (finding.id, parent_state, index), columns, start, ess[columns])
    for setting in sorted({t.setting for t in targets}):
        group = [row for row in tables.priors_rows if row["setting"] == setting]
        free = [row for row in group if row["source_type"] == "expert_estimate"]
        if len(free) < 2:
            continue
        columns = [causes.index(row["cause"]) for row in free]
        smallest = min(
            float(row["ess"]) if row.get("ess") else DEFAULT_ESS[row["source_type"]]
            for row in free
        )
        prior = np.asarray(tables.setting_priors[setting], dtype=np.float64)
        weight = PRIOR_WEIGHT * smallest
        start = prior[columns][None, :].copy()
        add("prior", (setting, "", None), columns, start, np.array([weight]))
    return blocks, size


class _Problem:
    """The calibration problem: parameters (logit offsets) → tables → statistics."""

    def __init__(self, tables: Tables, targets: Sequence[Target]):
        self.tables = tables
        self.targets = targets
        self.causes = [cause.id for cause in tables.causes]
        self.states = {f.id: f.states for f in tables.findings}
        self.parents = tables.parents
        self.blocks, self.size = _free_blocks(tables, targets)
        self.base_likelihood = {
            f: np.asarray(tables.likelihood[f]) for f in _involved(targets, self.parents)
        }
        self.base_priors = _setting_priors(tables)
        #: For each block, the targets whose statistic depends on its numbers.
        self.dependent = [
            [
                i
                for i, t in enumerate(targets)
                if (
                    block.key in _findings_of(t, self.parents)
                    if block.kind == "likelihood"
                    else t.setting == block.key
                )
            ]
            for block in self.blocks
        ]

    def distributions(
        self, theta: FloatArray, blocks: Sequence[_Block] | None = None
    ) -> list[tuple[FloatArray, FloatArray]]:
        """Return each block's (log p, p), each (B, distributions, entries), for (B, n).

        ``p`` sums to 1 over each distribution's moving entries; they hold ``p * mass``.
        """
        out = []
        for block in self.blocks if blocks is None else blocks:
            shifts = theta[:, block.params]  # (B, distributions, entries - 1)
            zeros = np.zeros((*shifts.shape[:2], 1))
            logits = np.log(block.start) + np.concatenate([shifts, zeros], axis=2)
            peak = logits.max(axis=2, keepdims=True)
            log_p = logits - peak - np.log(np.exp(logits - peak).sum(axis=2, keepdims=True))
            out.append((log_p, np.exp(log_p)))
        return out

    def tables_at(
        self, theta: FloatArray
    ) -> tuple[dict[str, FloatArray], dict[str, FloatArray], FloatArray]:
        """Return the tables for parameters (B, n), each with a leading batch axis.

        Returns (likelihood of every involved finding, prior of every setting, relative
        entropy of each block (B, blocks)).
        """
        batch = theta.shape[0]
        likelihood = {
            f: np.broadcast_to(a, (batch, *a.shape)).copy()
            for f, a in self.base_likelihood.items()
        }
        priors = {
            s: np.broadcast_to(p, (batch, *p.shape)).copy() for s, p in self.base_priors.items()
        }
        divergences = np.zeros((batch, len(self.blocks)))
        for b, (block, (log_p, p)) in enumerate(
            zip(self.blocks, self.distributions(theta), strict=True)
        ):
            divergences[:, b] = (p * (log_p - np.log(block.start))).sum(axis=2) @ block.ess
            new = p * block.mass[:, None]
            if block.kind == "likelihood":
                _place(likelihood[block.key], block, new.transpose(0, 2, 1))
            else:
                priors[block.key][:, block.columns] = new[:, 0, :]
        return likelihood, priors, divergences

    def evaluate(self, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Return (relative entropy (B,), statistics (B, targets)) for parameters (B, n)."""
        likelihood, priors, divergences = self.tables_at(theta)
        values = target_values(
            self.targets, self.causes, priors, likelihood, self.states, self.parents
        )
        return _total(divergences), values

    def objective(
        self, theta: FloatArray, weight: float, low: FloatArray, high: FloatArray
    ) -> tuple[float, FloatArray]:
        """Return the penalised objective at ``theta`` and its gradient.

        The objective is the relative entropy plus ``weight`` times the squared misses (log
        scale) of the targets. The gradient is a forward difference, computed block by block:
        a step in one distribution's numbers can only change that distribution's relative
        entropy and the statistics of the targets that depend on it, so each block recomputes
        only those (exactly what the full computation would give, far cheaper).
        """
        with np.errstate(all="ignore"):
            batched, batched_priors, all_divergences = self.tables_at(theta[None, :])
            likelihood = {f: a[0] for f, a in batched.items()}
            priors = {s: p[0] for s, p in batched_priors.items()}
            divergences = all_divergences[0]
            stats = target_values(
                self.targets, self.causes, priors, likelihood, self.states, self.parents
            )
            logs = np.log(stats)
            misses = (np.maximum(low - logs, 0.0) + np.maximum(logs - high, 0.0)) ** 2
            value = float(_total(divergences[None, :])[0] + weight * misses.sum())
            slope = np.zeros(self.size)
            for b, block in enumerate(self.blocks):
                chosen = block.params.ravel()
                steps = np.repeat(theta[None, :], len(chosen), axis=0)
                steps[np.arange(len(chosen)), chosen] += _STEP
                ((log_p, p),) = self.distributions(steps, [block])
                divergence = (p * (log_p - np.log(block.start))).sum(axis=2) @ block.ess
                change = divergence - divergences[b]
                dependent = self.dependent[b]
                if dependent:
                    new = p * block.mass[:, None]
                    batch_likelihood: dict[str, FloatArray] = dict(likelihood)
                    batch_priors: dict[str, FloatArray] = dict(priors)
                    if block.kind == "likelihood":
                        table = np.repeat(likelihood[block.key][None], len(chosen), axis=0)
                        _place(table, block, new.transpose(0, 2, 1))
                        batch_likelihood[block.key] = table
                    else:
                        prior = np.repeat(priors[block.key][None], len(chosen), axis=0)
                        prior[:, block.columns] = new[:, 0, :]
                        batch_priors[block.key] = prior
                    targets = [self.targets[i] for i in dependent]
                    moved = np.log(
                        target_values(
                            targets,
                            self.causes,
                            batch_priors,
                            batch_likelihood,
                            self.states,
                            self.parents,
                        )
                    )
                    lo, hi = low[dependent], high[dependent]
                    after = (np.maximum(lo - moved, 0.0) + np.maximum(moved - hi, 0.0)) ** 2
                    change = change + weight * (after - misses[dependent]).sum(axis=1)
                slope[chosen] = change / _STEP
        if not np.isfinite(value) or not np.all(np.isfinite(slope)):
            return math.inf, np.zeros(self.size)
        return value, slope

    def bounds(self, margin: float) -> tuple[FloatArray, FloatArray]:
        """Return the log bounds of every target, each kept a margin inside its interval."""
        low = np.log([t.low for t in self.targets])
        high = np.log([t.high for t in self.targets])
        width = high - low
        return low + margin * width, high - margin * width


def _place(table: FloatArray, block: _Block, values: FloatArray) -> None:
    """Write a likelihood block's values (B, states, columns) into a batch of its tables."""
    if block.parent_index is None:
        table[:, :, block.columns] = values
    else:
        table[:, :, block.parent_index, block.columns] = values


def _total(divergences: FloatArray) -> FloatArray:
    """Return the relative entropy of each batch row: its blocks' summed in block order."""
    start = np.zeros((divergences.shape[0], 1))  # also for a problem without blocks
    total: FloatArray = np.cumsum(np.hstack([start, divergences]), axis=1)[:, -1]
    return total


def _significant(value: float) -> float:
    if value == 0:
        return 0.0
    return round(value, _SIGNIFICANT - 1 - math.floor(math.log10(abs(value))))


def _rounded(values: FloatArray, mass: float) -> list[float]:
    """Round to 4 significant digits; the largest entry takes the residual so sums hold."""
    rounded = [_significant(float(v)) for v in values]
    largest = int(np.argmax(values))
    rounded[largest] = round(mass - (sum(rounded) - rounded[largest]), 10)
    return rounded


def calibrate(
    compiled: Compiled,
    targets: object = None,
    *,
    margin: float = MARGIN,
    max_iterations: int = 300,
) -> Compiled:
    """Return compiled tables whose estimate numbers meet every target, changed least.

    See :meth:`calfdx.Model.calibrate`.
    """
    from scipy.optimize import minimize

    if (
        isinstance(max_iterations, bool)
        or not isinstance(max_iterations, int)
        or max_iterations < 1
    ):
        msg = f"max_iterations must be a positive integer. Got {max_iterations!r} instead."
        raise InvalidOptionError(msg)
    if (
        isinstance(margin, bool)
        or not isinstance(margin, int | float)
        or not 0.0 <= float(margin) < 0.5
    ):
        msg = f"margin must be a number in [0, 0.5). Got {margin!r} instead."
        raise InvalidOptionError(msg)
    tables = compiled.tables
    chosen = _resolve_targets(tables, targets)
    if not chosen:
        return compiled
    problem = _Problem(tables, chosen)
    low, high = problem.bounds(float(margin))
    start_values = problem.evaluate(np.zeros((1, problem.size)))[1][0]
    if problem.size == 0:
        unmet = tuple(
            t.id for t, v in zip(chosen, start_values, strict=True) if not t.low <= v <= t.high
        )
        if unmet:
            msg = f"No estimate number can move, and the targets {unmet} are not met."
            raise CalibrationError(msg, unmet)
        return compiled
    # A penalty method: each stage weighs the misses more, starting from the last optimum,
    # until every target lies inside its interval (L-BFGS-B within bounds on each logit).
    theta = np.zeros(problem.size)
    message = "not run"
    for weight in _PENALTIES:
        result = minimize(
            problem.objective,
            theta,
            args=(weight, low, high),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-_REACH, _REACH)] * problem.size,
            options={"maxiter": max_iterations},
        )
        theta, message = np.asarray(result.x, dtype=np.float64), str(result.message)
        with np.errstate(all="ignore"):
            logs = np.log(problem.evaluate(theta[None, :])[1][0])
        if np.all(logs >= low - 1e-9) and np.all(logs <= high + 1e-9):
            break
    calibrated = _write(compiled, problem, theta, start_values, (low, high), _NEGLIGIBLE)
    report = check_targets(calibrated, chosen)
    if not report.all_met:  # leaving the negligible changes out broke a target
        calibrated = _write(compiled, problem, theta, start_values, (low, high), 0.0)
        report = check_targets(calibrated, chosen)
    if not report.all_met:
        unmet = tuple(check.target.id for check in report.unmet)
        detail = "; ".join(
            f"{c.target.id} (model {c.model_value:.4g}, interval {c.target.low:.4g}-"
            f"{c.target.high:.4g})"
            for c in report.unmet
        )
        msg = (
            f"The targets cannot all be met together by moving the estimate numbers "
            f"({message}). Unmet after calibration: {detail}. Check these targets "
            "against each other, or let more numbers move (mark them expert_estimate)."
        )
        raise CalibrationError(msg, unmet)
    return calibrated


def _write(
    compiled: Compiled,
    problem: _Problem,
    theta: FloatArray,
    before: FloatArray,
    bounds: tuple[FloatArray, FloatArray],
    negligible: float,
) -> Compiled:
    """Write the calibrated distributions into new table files and compile them."""
    tables = problem.tables
    new = [p[0] for _, p in problem.distributions(theta[None, :])]
    after = problem.evaluate(theta[None, :])[1][0]
    low, high = bounds
    logs = np.log(after)
    # A target moved a number when it was unmet before or sits at a bound now, and its
    # statistic depends on the number's finding (or, for priors, on the setting).
    pressing = [
        t
        for t, b, v, lo, hi in zip(problem.targets, before, logs, low, high, strict=True)
        if not t.low <= b <= t.high or v <= lo + 1e-6 or v >= hi - 1e-6
    ]
    likelihood_changes: dict[tuple[str, str, str], tuple[list[float], str]] = {}
    prior_changes: dict[str, tuple[list[int], list[float], str]] = {}
    for block, values in zip(problem.blocks, new, strict=True):
        for row, column in enumerate(block.columns if block.kind == "likelihood" else [0]):
            mass = float(block.mass[row])
            start = block.start[row] * mass
            rounded = _rounded(values[row] * mass, mass)
            if max(abs(r - s) for r, s in zip(rounded, start, strict=True)) <= negligible:
                continue
            if block.kind == "likelihood":
                moved = [t.id for t in pressing if block.key in _findings_of(t, problem.parents)]
            else:
                moved = [t.id for t in pressing if t.setting == block.key]
            reason = ", ".join(moved) if moved else "the targets jointly"
            if block.kind == "likelihood":
                key = (block.key, problem.causes[column], block.parent_state)
                likelihood_changes[key] = (rounded, reason)
            else:
                prior_changes[block.key] = (block.columns, rounded, reason)
    files = dict(tables.files)
    files["likelihoods.csv"] = _rewrite(
        files["likelihoods.csv"],
        lambda rows: _each(
            rows, lambda row: _likelihood_update(row, likelihood_changes, problem.states)
        ),
    )
    files["priors.csv"] = _rewrite(
        files["priors.csv"],
        lambda rows: _each(rows, lambda row: _prior_update(row, prior_changes, problem.causes)),
    )
    return compiled.rebuilt(files, compiled.setting)


def _each(rows: list[dict[str, str]], update: Callable[[dict[str, str]], None]) -> None:
    for row in rows:
        update(row)


def _note(row: dict[str, str], value: float, reason: str) -> None:
    old = row["probability"]
    if _number(value) == old:
        return
    history = row["reasoning"]
    row["reasoning"] = (
        f"Calibrated from {old} to {_number(value)} to meet targets: {reason} "
        f"(calfdx calibrate: least relative entropy, weighted by ess). Before: {history}"
    )
    row["probability"] = _number(value)


def _likelihood_update(
    row: dict[str, str],
    changes: Mapping[tuple[str, str, str], tuple[list[float], str]],
    states: Mapping[str, tuple[str, ...]],
) -> None:
    change = changes.get((row["finding"], row["cause"], row.get("parent_state", "")))
    if change is not None:
        values, reason = change
        _note(row, values[states[row["finding"]].index(row["state"])], reason)


def _prior_update(
    row: dict[str, str],
    changes: Mapping[str, tuple[list[int], list[float], str]],
    causes: Sequence[str],
) -> None:
    change = changes.get(row["setting"])
    if change is not None:
        entries, values, reason = change
        index = causes.index(row["cause"])
        if index in entries:
            _note(row, values[entries.index(index)], reason)
