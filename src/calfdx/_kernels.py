"""Batch tables and kernels: the engine's tables compiled once more for cohorts.

Findings are packed into a few groups, and each group gets one *joint* table with a row for
every combination of its findings' states (plus "unknown", which multiplies by one). A
patient's posterior is then the product of one row per group, normalised. Each joint-table
row is divided by its maximum over the causes (a per-patient constant, which normalisation
cancels), and the prior is folded into the first group, so products stay far from underflow.
The joint tables are built in log space (a group's raw product of likelihoods of 1e-150 could
underflow to 0 before that division); a patient whose product still falls below ``1e-280`` is
flagged for :mod:`calfdx._batch` to recompute with the engine.

Two kernels compute the same numbers: a fused loop compiled by numba (a default dependency),
and a chunked numpy version used when numba is not installed. The conflict check's compiled
branch and bound (:func:`conflict_scan`, :func:`conflict_fit`) lives here too.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, cast

import numpy as np
import numpy.typing as npt

from ._exceptions import InvalidOptionError
from ._inference import Engine
from ._jit import jit

__all__ = [
    "BatchTables",
    "Scores",
    "conflict_check",
    "conflict_fit",
    "conflict_kernel",
    "conflict_scan",
]


FloatArray = npt.NDArray[np.float64]
CodeArray = npt.NDArray[np.int8]

#: Largest number of rows of one group's joint table (3**6 = six yes/no/unknown findings).
_GROUP_ROWS: Final = 729
#: Rows per chunk of the numpy kernel (the chunk's arrays stay in cache).
_CHUNK: Final = 16_384
#: Sums below this are recomputed in log space.
_TINY: Final = 1e-280


class BatchTables:
    """A model's tables compiled for cohorts: grouped joint tables (read-only).

    Built from the engine's compiled families (see :class:`~calfdx._inference.Engine`): a
    group packs whole families, and its joint table is the product of their tables, so a
    finding's family never spans two groups.

    Parameters
    ----------
    engine : Engine
        The compiled engine of the tables.
    prior : ndarray
        P(cause) in table order.
    """

    __slots__ = ("group_of", "n_causes", "stride_of", "tables", "unknown")

    def __init__(self, engine: Engine, prior: FloatArray) -> None:
        n_causes = prior.shape[0]
        index = {f.id: i for i, f in enumerate(engine.findings)}
        groups: list[list[int]] = []
        size = _GROUP_ROWS + 1
        for slot in range(len(engine.families)):
            width = engine.family_table(slot).shape[0]
            if size * width > _GROUP_ROWS or not groups:
                groups.append([])
                size = 1
            groups[-1].append(slot)
            size *= width
        group_of = np.zeros(len(engine.findings), dtype=np.intp)
        stride_of = np.zeros(len(engine.findings), dtype=np.intp)
        joint_tables: list[FloatArray] = []
        with np.errstate(divide="ignore"):
            log_prior = np.log(prior)
        for g, slots in enumerate(groups or [[]]):
            # In log space: a raw product of likelihoods can underflow before the division by
            # the row's peak below (1e-150 on three findings is 1e-450).
            log_joint = log_prior.reshape(1, -1).copy() if g == 0 else np.zeros((1, n_causes))
            stride = 1
            for slot in reversed(slots):  # the last family varies fastest
                with np.errstate(divide="ignore"):
                    table = np.log(engine.family_table(slot))
                log_joint = (table[:, None, :] + log_joint[None, :, :]).reshape(-1, n_causes)
                members = engine.families[slot]
                inner = 1  # a member's stride within its family: the last member fastest
                for name in reversed(members):
                    group_of[index[name]] = g
                    stride_of[index[name]] = stride * inner
                    inner *= len(engine.states[name]) + 1
                stride *= table.shape[0]
            peak = log_joint.max(axis=1, keepdims=True)
            peak[~np.isfinite(peak)] = 0.0  # an impossible row stays all zeros
            joint_tables.append(np.exp(log_joint - peak))
        rows = max(table.shape[0] for table in joint_tables)
        padded = np.zeros((len(joint_tables), rows, n_causes))
        for g, table in enumerate(joint_tables):
            padded[g, : table.shape[0]] = table
        for array in (padded, group_of, stride_of):
            array.flags.writeable = False
        self.tables: FloatArray = padded
        self.group_of: npt.NDArray[np.intp] = group_of
        self.stride_of: npt.NDArray[np.intp] = stride_of
        self.n_causes = n_causes
        #: The code of "unknown" for each finding: its number of states.
        self.unknown: npt.NDArray[np.int8] = np.array(
            [len(f.states) for f in engine.findings], dtype=np.int8
        )
        self.unknown.flags.writeable = False

    def score(
        self, codes: CodeArray, dvt_index: int, threshold: float, kernel: str | None = None
    ) -> Scores:
        """Score codes of shape (findings, patients); a negative code means unknown."""
        n = codes.shape[1]
        scores = Scores(
            probabilities=np.empty((n, self.n_causes)),
            top=np.empty(n, dtype=np.int16),
            dvt=np.empty(n),
            alert=np.empty(n, dtype=np.bool_),
            redo=np.zeros(n, dtype=np.bool_),
        )
        if n:
            _kernel(kernel)(
                codes,
                self.unknown,
                self.group_of,
                self.stride_of,
                self.tables,
                dvt_index,
                threshold,
                scores.probabilities,
                scores.top,
                scores.dvt,
                scores.alert,
                scores.redo,
            )
        return scores


@dataclass(frozen=True, slots=True)
class Scores:
    """The kernel's outputs for n patients."""

    probabilities: FloatArray  # (n, causes)
    top: npt.NDArray[np.int16]  # index of the most probable cause
    dvt: FloatArray  # P(dvt)
    alert: npt.NDArray[np.bool_]  # P(dvt) >= threshold
    redo: npt.NDArray[np.bool_]  # rows whose product underflowed: redo in log space


# --------------------------------------------------------------------------------------------
# Kernels: (codes, unknown, group_of, stride_of, tables, dvt_index, threshold,
#           out, top, dvt, alert, redo) -> None, filling the outputs.

Kernel = Callable[..., None]


def _numpy_kernel(
    codes: CodeArray,
    unknown: npt.NDArray[np.int8],
    group_of: npt.NDArray[np.intp],
    stride_of: npt.NDArray[np.intp],
    tables: FloatArray,
    dvt_index: int,
    threshold: float,
    out: FloatArray,
    top: npt.NDArray[np.int16],
    dvt: FloatArray,
    alert: npt.NDArray[np.bool_],
    redo: npt.NDArray[np.bool_],
) -> None:
    n_findings, n = codes.shape
    n_groups = tables.shape[0]
    buffer = np.empty((min(_CHUNK, n), tables.shape[2]))
    index = np.empty((n_groups, min(_CHUNK, n)), dtype=np.intp)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        width = stop - start
        group_index = index[:, :width]
        group_index.fill(0)
        for f in range(n_findings):
            code = codes[f, start:stop].astype(np.intp)
            code[code < 0] = unknown[f]
            code *= stride_of[f]
            group_index[group_of[f]] += code
        block = out[start:stop]
        np.take(tables[0], group_index[0], axis=0, out=block)
        part = buffer[:width]
        for g in range(1, n_groups):
            np.take(tables[g], group_index[g], axis=0, out=part)
            block *= part
        total = block.sum(axis=1)
        low = ~(total > _TINY)
        redo[start:stop] = low
        total[low] = 1.0
        block /= total[:, None]
        top[start:stop] = np.argmax(block, axis=1)
        dvt[start:stop] = block[:, dvt_index]
        alert[start:stop] = dvt[start:stop] >= threshold


_KERNELS: dict[str, Kernel] = {"numpy": _numpy_kernel}
_LOCK = threading.Lock()


def fused_kernel(  # type: ignore[no-untyped-def]
    codes,
    unknown,
    group_of,
    stride_of,
    tables,
    dvt_index,
    threshold,
    out,
    top,
    dvt,
    alert,
    redo,
):
    """Fill the outputs like the numpy kernel, one fused loop per patient (for :func:`jit`)."""
    n_findings, n = codes.shape
    n_groups = tables.shape[0]
    n_causes = tables.shape[2]
    block = 512
    index = np.empty((n_groups, block), np.intp)
    acc = np.empty(n_causes)
    for start in range(0, n, block):
        stop = min(start + block, n)
        # Group rows for this block, finding by finding: sequential reads of each column.
        index[:, : stop - start] = 0
        for f in range(n_findings):
            g = group_of[f]
            stride = stride_of[f]
            missing = unknown[f]
            for i in range(start, stop):
                code = codes[f, i]
                index[g, i - start] += (missing if code < 0 else code) * stride
        for i in range(start, stop):
            j = i - start
            row = index[0, j]
            for c in range(n_causes):
                acc[c] = tables[0, row, c]
            for g in range(1, n_groups):
                row = index[g, j]
                for c in range(n_causes):
                    acc[c] *= tables[g, row, c]
            total = 0.0
            for c in range(n_causes):
                total += acc[c]
            if not total > _TINY:
                redo[i] = True
                total = 1.0
            inverse = 1.0 / total
            best = 0
            best_value = -1.0
            for c in range(n_causes):
                value = acc[c] * inverse
                out[i, c] = value
                if value > best_value:
                    best_value = value
                    best = c
            top[i] = best
            dvt[i] = acc[dvt_index] * inverse
            alert[i] = dvt[i] >= threshold


def _compile_numba() -> Kernel | None:
    try:
        return cast("Kernel", jit(fused_kernel))
    except ImportError:
        return None


# --------------------------------------------------------------------------------------------
# The conflict check's exact percentile (see calfdx._conflict), by branch and bound.


def conflict_scan(
    tables: FloatArray,
    bounds: npt.NDArray[np.intp],
    prior: FloatArray,
    threshold: float,
    budget: int,
) -> tuple[float, int]:
    """Return the probability of the pictures whose best fit is at most ``threshold``.

    ``tables`` holds one block per family the evidence touches (and may hold more): a row
    per picture of the family's observed members (every combination of their states),
    holding P(picture | cause); block ``k`` is rows ``bounds[k, 0]:bounds[k, 1]``. A picture of all
    the findings picks one row per block, and its probability under cause c is the product
    of the rows' column c. The answer is the sum, over the pictures whose best fit
    ``max_c P(picture | c)`` is at most ``threshold``, of ``sum_c prior[c] P(picture | c)``.

    Exact, with the enumeration pruned: at a partial picture (blocks ``0..k-1`` chosen), the
    fit of every completion lies between ``max_c partial_c * lowest_c`` and ``max_c
    partial_c * highest_c``, where ``lowest_c`` and ``highest_c`` multiply the smallest and
    largest entries of column c over the remaining blocks. When the upper bound is at most
    the threshold, every completion counts, and their probabilities sum to ``sum_c prior[c]
    partial_c total_c``, where ``total_c`` multiplies the remaining blocks' column sums (one,
    for tables whose rows sum to one); when the lower bound is above it, none does. Only the
    undecided partial pictures are extended. Also returned: how many partial pictures were
    visited, at most the full enumeration's count (under twice the number of pictures). When
    that passes ``budget``, the scan stops and returns a mass of -1.

    Written for numba (compiled by :func:`conflict_kernel`); it also runs as plain Python.
    """
    n_blocks = bounds.shape[0]
    n_causes = prior.shape[0]
    highest = np.ones((n_blocks + 1, n_causes))
    lowest = np.ones((n_blocks + 1, n_causes))
    total = np.ones((n_blocks + 1, n_causes))
    for k in range(n_blocks - 1, -1, -1):
        for c in range(n_causes):
            high = 0.0
            low = np.inf
            block_sum = 0.0
            for j in range(bounds[k, 0], bounds[k, 1]):
                value = tables[j, c]
                high = max(high, value)
                low = min(low, value)
                block_sum += value
            highest[k, c] = highest[k + 1, c] * high
            lowest[k, c] = lowest[k + 1, c] * low
            total[k, c] = total[k + 1, c] * block_sum
    partial = np.ones((n_blocks + 1, n_causes))
    choice = np.zeros(n_blocks + 1, dtype=np.intp)
    mass = 0.0
    visited = 0
    depth = 0
    entering = True
    while True:
        if entering:
            visited += 1
            if visited > budget:
                return -1.0, visited
            upper = 0.0
            lower = 0.0
            for c in range(n_causes):
                upper = max(upper, partial[depth, c] * highest[depth, c])
                lower = max(lower, partial[depth, c] * lowest[depth, c])
            if upper <= threshold:  # every completion fits at most as well: all count
                for c in range(n_causes):
                    mass += prior[c] * partial[depth, c] * total[depth, c]
            elif lower <= threshold:  # undecided (never at full depth): extend
                choice[depth] = bounds[depth, 0]
                for c in range(n_causes):
                    partial[depth + 1, c] = partial[depth, c] * tables[choice[depth], c]
                depth += 1
                continue
        # Back up to the deepest block with a next row, and take it.
        if depth == 0:
            break
        depth -= 1
        choice[depth] += 1
        entering = choice[depth] < bounds[depth, 1]
        if entering:
            for c in range(n_causes):
                partial[depth + 1, c] = partial[depth, c] * tables[choice[depth], c]
            depth += 1
    return mass, visited


def conflict_fit(log_rows: FloatArray, log_prior: FloatArray) -> tuple[float, float]:
    """Return log P(evidence) and the log best fit, max_c log P(evidence | c).

    ``log_rows`` holds log P(evidence on a family | cause), a row per family the evidence
    touches; their sum is log P(evidence | cause). Written for numba (see
    :func:`conflict_kernel`).
    """
    n_rows, n_causes = log_rows.shape
    fit = np.zeros(n_causes)
    for k in range(n_rows):
        for c in range(n_causes):
            fit[c] += log_rows[k, c]
    best = -np.inf
    peak = -np.inf
    for c in range(n_causes):
        best = max(best, fit[c])
        peak = max(peak, fit[c] + log_prior[c])
    if not np.isfinite(peak):
        return peak, best
    total = 0.0
    for c in range(n_causes):
        total += np.exp(fit[c] + log_prior[c] - peak)
    return peak + np.log(total), best


def conflict_check(
    log_table: FloatArray,
    rows: npt.NDArray[np.intp],
    log_prior: FloatArray,
    row_marginal: FloatArray,
    tables: FloatArray,
    bounds: npt.NDArray[np.intp],
    prior: FloatArray,
    lowest_fit: float,
    budget: int,
) -> tuple[float, float, float, float, int]:
    """Return :func:`conflict_fit`, the conflict measure and :func:`conflict_scan` at once.

    ``log_table`` holds the engine's log P(evidence on a family | cause), a row per family
    row, and ``rows`` the patient's; ``row_marginal`` each row's sum of its findings' log
    marginals (so the conflict measure is ``row_marginal[rows].sum() - log P(e)``). The
    scan runs at the threshold ``exp(best fit + 1e-12)`` when the log best fit is above
    ``lowest_fit`` (linear space cannot underflow), else the mass is -1, as when the scan
    passes ``budget``. Returns log P(e), the log best fit, the measure, the mass and the
    steps visited. Written for numba (see :func:`conflict_kernel`); it also runs as plain
    Python.
    """
    log_evidence, best = conflict_fit(log_table[rows], log_prior)
    measure = 0.0
    for row in rows:
        measure += row_marginal[row]
    measure -= log_evidence
    if not best > lowest_fit:
        return log_evidence, best, measure, -1.0, 0
    mass, visited = conflict_scan(tables, bounds, prior, math.exp(best + 1e-12), budget)
    return log_evidence, best, measure, mass, visited


ScanKernel = Callable[
    [FloatArray, npt.NDArray[np.intp], FloatArray, float, int], tuple[float, int]
]
FitKernel = Callable[[FloatArray, FloatArray], tuple[float, float]]
CheckKernel = Callable[..., tuple[float, float, float, float, int]]
_CONFLICT: dict[str, tuple[FitKernel, ScanKernel, CheckKernel]] = {}


def conflict_kernel() -> tuple[FitKernel, ScanKernel, CheckKernel] | None:
    """Return :func:`conflict_fit`, :func:`conflict_scan`, :func:`conflict_check` compiled.

    None without numba. Compiled at first use and cached on disk by numba (a second process
    loads them). The check calls the other two, registered with numba so that their plain
    Python functions compile inside it.
    """
    with _LOCK:
        if "numba" not in _CONFLICT:
            try:
                from numba.extending import register_jitable
            except ImportError:
                return None
            register_jitable(conflict_fit)
            register_jitable(conflict_scan)
            compiled = (jit(conflict_fit), jit(conflict_scan), jit(conflict_check))
            _CONFLICT["numba"] = cast("tuple[FitKernel, ScanKernel, CheckKernel]", compiled)
    return _CONFLICT["numba"]


def _kernel(name: str | None) -> Kernel:
    with _LOCK:
        if "numba" not in _KERNELS and name in (None, "numba"):
            compiled = _compile_numba()
            if compiled is not None:
                _KERNELS["numba"] = compiled
    if name is None:
        return _KERNELS.get("numba", _numpy_kernel)
    if name not in _KERNELS:
        msg = f"kernel must be one of {sorted(_KERNELS)} here. Got {name!r} instead."
        raise InvalidOptionError(msg)
    return _KERNELS[name]
