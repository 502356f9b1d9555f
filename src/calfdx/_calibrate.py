r"""Calibrate the tables: move the estimate numbers least so that every target is met.

:func:`calibrate` moves the ``expert_estimate`` numbers as little as possible so that every
target is met: it minimises :math:`\sum_d N_d \, \mathrm{KL}(p'_d \,\|\, p_d)` over the
distributions :math:`d` (each P(finding | cause), each setting's prior), weighted by their
effective sample sizes :math:`N_d`, subject to every target's statistic lying inside its
interval (a penalty method with L-BFGS-B: exact statistics, forward-difference gradients
computed block by block, since a step in one distribution changes only the targets that
depend on it). Published and
secondary numbers never move.

The statistics themselves (:func:`~calfdx._targets.target_values`) and the report
(:func:`~calfdx._targets.check_targets`) are in ``_targets.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from ._checks import positive_count
from ._edit import _number, _rewrite
from ._exceptions import CalfdxError, InvalidOptionError
from ._schema import DEFAULT_ESS, Tables, Target
from ._targets import _findings_of, _resolve_targets, _setting_priors, check_targets, target_values

if TYPE_CHECKING:
    from ._core import Compiled

__all__ = ["CalibrationError", "calibrate"]

FloatArray = npt.NDArray[np.float64]


class CalibrationError(CalfdxError, ValueError):
    """Raised when the targets cannot all be met by moving the estimate numbers."""

    def __init__(self, message: str, targets: tuple[str, ...] = ()):
        super().__init__(message)
        #: The ids of the targets left unmet.
        self.targets = targets


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
    from scipy.optimize import minimize  # imported here: diagnosing needs no scipy

    max_iterations = positive_count(max_iterations, "max_iterations")
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
    if all(t.low <= v <= t.high for t, v in zip(chosen, start_values, strict=True)):
        return compiled  # every target is met: the least change is none
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
