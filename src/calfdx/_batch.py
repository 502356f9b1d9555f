"""Score whole cohorts: ``diagnose_batch`` for pandas (and dask) DataFrames.

The engine's tables are compiled once more for cohorts: findings are packed into a few
groups, and each group gets one *joint* table with a row for every combination of its
findings' states (plus "unknown", which multiplies by one). A patient's posterior is then the
product of one row per group, normalised. Each joint-table row is divided by its maximum over
the causes (a per-patient constant, which normalisation cancels), and the prior is folded into
the first group, so products stay far from underflow. The joint tables are built in log space
(a group's raw product of likelihoods of 1e-150 could underflow to 0 before that division), and
a patient whose product still falls below ``1e-280`` is recomputed by the engine of
:func:`calfdx.diagnose`, as is every patient with soft evidence.

Two kernels compute the same numbers: a fused loop compiled by numba (the ``calfdx[fast]``
extra), and a chunked numpy version used when numba is not installed.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeGuard, cast, overload

import numpy as np
import numpy.typing as npt

from ._checks import hashable_names
from ._exceptions import (
    EvidenceError,
    ImpossibleEvidenceError,
    InvalidOptionError,
    UnknownFindingError,
    UnknownStateError,
)
from ._inference import Engine, Soft, check_threshold
from ._inference import _state_of as state_of
from ._tables import CAUSE_NODE, DVT, Finding

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd

    from ._model import Model

__all__ = ["BatchTables", "diagnose_batch", "kernel_name"]

FloatArray = npt.NDArray[np.float64]
CodeArray = npt.NDArray[np.int8]

#: Largest number of rows of one group's joint table (3**6 = six yes/no/unknown findings).
_GROUP_ROWS: Final = 729
#: Rows per chunk of the numpy kernel (the chunk's arrays stay in cache).
_CHUNK: Final = 16_384
#: Sums below this are recomputed in log space.
_TINY: Final = 1e-280
_SHOWN: Final = 5  # how many rows and values an error message names


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


def _compile_numba() -> Kernel | None:
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(nogil=True, cache=False)
    def numba_kernel(  # type: ignore[no-untyped-def]
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

    return cast("Kernel", numba_kernel)


def kernel_name() -> str:
    """Return the kernel ``diagnose_batch`` uses: ``"numba"`` when installed, else ``"numpy"``.

    Examples
    --------
    >>> from calfdx._batch import kernel_name
    >>> kernel_name() in ("numba", "numpy")
    True
    """
    return "numba" if _kernel(None) is not _numpy_kernel else "numpy"


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


# --------------------------------------------------------------------------------------------
# Encoding a DataFrame into state codes


_BAD: Final = -2  # the code of a value a finding does not allow (unknown is -1)
_SOFT: Final = -3  # the code of soft evidence (its weights are kept apart)

#: Soft evidence of one column: row position → weights per state.
SoftCells = dict[int, Soft]


def _value_code(finding: Finding, value: object) -> tuple[int, Soft | None]:
    """Return the code of one value, read exactly as diagnose() reads it.

    A state index, -1 (unknown), -2 (bad) or -3 (soft evidence, with its weights).
    """
    state, problem = state_of(finding, value)
    if problem is not None:
        return _BAD, None
    if state is None:
        return -1, None
    if isinstance(state, str):
        return finding.states.index(state), None
    return _SOFT, state


def _encode_cells(
    finding: Finding, values: npt.NDArray[np.object_]
) -> tuple[npt.NDArray[np.int8], SoftCells]:
    """Code cells one by one: for columns holding unhashable values (dicts, lists)."""
    codes = np.empty(len(values), dtype=np.int8)
    soft: SoftCells = {}
    for i, value in enumerate(values.tolist()):
        code, weights = _value_code(finding, value)
        codes[i] = code
        if weights is not None:
            soft[i] = weights
    return codes, soft


def _categorical(values: npt.NDArray[np.object_]) -> pd.Categorical | None:
    """Return the values as a pandas Categorical, or None when pandas cannot make one."""
    import pandas as pd  # imported here: diagnosing needs no pandas

    try:
        return pd.Categorical(values)
    except Exception:  # unhashable, unorderable, huge or float16 cells
        return None


def _encode_column(
    finding: Finding, column: pd.Series
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_] | None, list[object], SoftCells]:
    """Return (codes, bad-row mask or None, bad values, soft cells) for one column.

    A code is a state index, or -1 for unknown (also for soft cells, whose weights come
    apart). Distinct values are read once each; no loop over rows unless a cell holds an
    unhashable value such as a dict of soft evidence.
    """
    import pandas as pd  # imported here: diagnosing needs no pandas

    if column.dtype == np.bool_:
        if not finding.is_yes_no:
            return np.full(len(column), -1, np.int8), np.ones(len(column), np.bool_), [True], {}
        yes, no = finding.states.index("yes"), finding.states.index("no")
        return np.where(column.to_numpy(), yes, no).astype(np.int8), None, [], {}
    soft: SoftCells = {}
    values = None if isinstance(column.dtype, pd.CategoricalDtype) else column.to_numpy(object)
    categorical = column.array if values is None else _categorical(values)
    if categorical is None:
        # Cells pandas cannot categorise (unhashable, unorderable, huge, float16): read them
        # one by one, as diagnose() reads them.
        cells = values if values is not None else column.to_numpy(object)
        codes, soft = _encode_cells(finding, cells)
        categories: list[object] = []
        raw = np.arange(len(cells))
    else:
        raw = np.asarray(categorical.codes)
        categories = list(categorical.categories)
        if tuple(categories) == finding.states:
            return raw.astype(np.int8, copy=False), None, [], {}  # the fast path: states
        read = [_value_code(finding, c) for c in categories]
        lookup = np.array([code for code, _ in read] + [-1], dtype=np.int8)
        codes = lookup[raw]  # code -1 (missing) picks the trailing -1
        for c, (_, weights) in enumerate(read):
            if weights is not None:
                soft.update(dict.fromkeys(np.flatnonzero(raw == c).tolist(), weights))
    codes[codes == _SOFT] = -1
    bad = codes == _BAD
    if not bad.any():
        return codes, None, [], soft
    if categories:
        used = np.unique(raw[bad]).tolist()
        return codes, bad, [categories[i] for i in used], soft
    shown = values if values is not None else column.to_numpy(dtype=object)
    return codes, bad, list(shown[bad][:_SHOWN]), soft


def _labels(index: pd.Index, mask: npt.NDArray[np.bool_]) -> str:
    rows = index[np.flatnonzero(mask)[:_SHOWN]]
    return ", ".join(repr(label) for label in rows.tolist())


def _check_columns(
    columns: pd.Index, vocabulary: dict[str, Finding], ignore: Collection[str] | bool
) -> list[Hashable]:
    duplicated = columns[columns.duplicated()].unique().tolist()
    if duplicated:
        msg = f"cases has duplicated columns {duplicated}; give each finding one column."
        raise EvidenceError(msg)
    # The true cause (as Model.simulate() writes it) is a label, not a finding.
    unknown = [c for c in columns if c not in vocabulary and c != CAUSE_NODE]
    if ignore is not True:
        ignored = frozenset() if ignore is False else hashable_names(ignore, "ignore_columns")
        reported = [c for c in unknown if c not in ignored]
        if reported:
            hints = []
            for name in reported:
                close = (
                    difflib.get_close_matches(name, list(vocabulary), n=1)
                    if isinstance(name, str)
                    else []
                )
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            msg = (
                f"Unknown columns in cases: {', '.join(hints)}. Known findings: "
                f"{', '.join(vocabulary)}. Pass ignore_columns=[...] (or True) to skip "
                "columns that are not findings."
            )
            raise UnknownFindingError(msg)
    return [c for c in columns if c in vocabulary]


def encode_cases(
    cases: pd.DataFrame, vocabulary: dict[str, Finding], ignore: Collection[str] | bool
) -> tuple[CodeArray, dict[int, dict[str, Soft]]]:
    """Return codes and soft evidence for every patient.

    The codes are a (findings, patients) int8 array: a state index, or -1 for unknown (and
    for soft evidence); the soft evidence maps a patient's position to finding → weights.

    Raises
    ------
    EvidenceError
        Naming the rows and columns of every bad value (the first few, and how many).
    """
    _check_columns(cases.columns, vocabulary, ignore)
    codes = np.full((len(vocabulary), len(cases)), -1, dtype=np.int8)
    soft: dict[int, dict[str, Soft]] = {}
    problems: list[str] = []
    for j, (name, finding) in enumerate(vocabulary.items()):
        if name not in cases.columns:
            continue
        column_codes, bad, bad_values, soft_cells = _encode_column(finding, cases[name])
        for i, weights in soft_cells.items():
            soft.setdefault(i, {})[name] = weights
        if bad is not None and bad.any():
            count = int(bad.sum())
            shown = ", ".join(repr(v) for v in bad_values[:_SHOWN])
            extra = (
                ", True/False, 1/0 or a probability of yes strictly between 0 and 1"
                if finding.is_yes_no
                else ""
            )
            problems.append(
                f"column {name!r}: {count} row{'s' if count > 1 else ''} with values not "
                f"allowed (rows {_labels(cases.index, bad)}{', ...' if count > _SHOWN else ''}; "
                f"values {shown}). Allowed: {list(finding.states)}{extra}, a mapping of state "
                "to probability, or NaN/None for unknown."
            )
            continue
        codes[j] = column_codes
    if problems:
        msg = "Bad values in cases (no result was returned):\n" + "\n".join(
            f"  - {problem}" for problem in problems
        )
        raise UnknownStateError(msg, tuple(problems))
    return codes, soft


# --------------------------------------------------------------------------------------------
# The public function


def _output_frame(model: Model, scores: Scores, index: pd.Index) -> pd.DataFrame:
    import pandas as pd  # imported here: diagnosing needs no pandas

    causes = pd.Index(model._engine.causes)
    frame = pd.DataFrame(scores.probabilities, index=index, columns=causes, copy=False)
    frame["dvt_probability"] = scores.dvt
    frame["dvt_alert"] = scores.alert
    frame["top_cause"] = pd.Categorical.from_codes(scores.top, categories=causes, validate=False)
    return frame


def score_frame(
    model: Model,
    cases: pd.DataFrame,
    threshold: float,
    ignore: Collection[str] | bool,
    kernel: str | None = None,
) -> pd.DataFrame:
    """Score a pandas DataFrame (checked options); see :func:`calfdx.diagnose_batch`."""
    codes, soft = encode_cases(cases, dict(model.findings), ignore)
    scores = model._batch.score(codes, model._dvt_index, threshold, kernel)
    if soft:
        scores.redo[list(soft)] = True
    if scores.redo.any():
        _redo_exactly(model._engine, codes, soft, scores, threshold, cases.index)
    return _output_frame(model, scores, cases.index)


def _redo_exactly(
    engine: Engine,
    codes: CodeArray,
    soft: Mapping[int, Mapping[str, Soft]],
    scores: Scores,
    threshold: float,
    index: pd.Index,
) -> None:
    """Recompute with diagnose()'s engine the rows that underflowed or have soft evidence."""
    impossible = np.zeros(len(scores.redo), dtype=np.bool_)
    dvt_index = engine.causes.index(DVT)
    findings = engine.findings
    for i in np.flatnonzero(scores.redo).tolist():
        rows = engine.rows(
            {
                findings[f].id: findings[f].states[code]
                for f, code in enumerate(codes[:, i].tolist())
                if code >= 0
            }
        )
        try:
            posterior = engine.posterior_rows(rows, soft.get(i))
        except ImpossibleEvidenceError:
            impossible[i] = True
            continue
        scores.probabilities[i] = posterior
        scores.top[i] = int(np.argmax(posterior))
        scores.dvt[i] = posterior[dvt_index]
        scores.alert[i] = posterior[dvt_index] >= threshold
    if impossible.any():
        count = int(impossible.sum())
        msg = (
            f"{count} row{'s' if count > 1 else ''} of cases have evidence that is impossible "
            f"under the model (probability zero under every cause): rows "
            f"{_labels(index, impossible)}{', ...' if count > _SHOWN else ''}. No result was "
            "returned."
        )
        raise ImpossibleEvidenceError(msg)


def _is_dask(obj: object) -> bool:
    return type(obj).__module__.split(".")[0] == "dask"


def _is_dask_frame(obj: object) -> TypeGuard[dd.DataFrame]:
    """Return whether ``obj`` is a dask DataFrame (not a dask Series, Array or Bag)."""
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover - dask objects imply dask is installed
        return False
    return isinstance(obj, dd.DataFrame)


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
    :func:`calfdx.diagnose`. With numba installed (``calfdx[fast]``) a compiled kernel is
    used; its first call in a process compiles it (about a second).

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
    import pandas as pd  # imported here: diagnosing needs no pandas

    from ._model import resolve_model

    model = resolve_model(model)
    threshold = model.dvt_threshold if dvt_threshold is None else check_threshold(dvt_threshold)
    if not isinstance(ignore_columns, bool) and (
        isinstance(ignore_columns, str) or not isinstance(ignore_columns, Collection)
    ):
        msg = (
            "ignore_columns must be a collection of column names, or True/False. "
            f"Got {ignore_columns!r} instead."
        )
        raise InvalidOptionError(msg)
    if ignore_columns is not True and ignore_columns is not False:
        hashable_names(ignore_columns, "ignore_columns")
    if _is_dask_frame(cases):
        return _diagnose_dask(model, cases, threshold, ignore_columns)
    if not isinstance(cases, pd.DataFrame):
        msg = (
            "cases must be a pandas (or dask) DataFrame with one column per finding"
            f"{' (a dask Series is not)' if _is_dask(cases) else ''}. "
            f"Got {type(cases).__name__} instead."
        )
        raise EvidenceError(msg)
    return score_frame(model, cases, threshold, ignore_columns)


def _diagnose_dask(
    model: Model, cases: dd.DataFrame, threshold: float, ignore: Collection[str] | bool
) -> dd.DataFrame:
    _check_columns(cases.columns, dict(model.findings), ignore)
    empty = model._batch.score(
        np.empty((len(model.findings), 0), dtype=np.int8), model._dvt_index, threshold
    )
    meta = _output_frame(model, empty, cases._meta.index)
    scored: dd.DataFrame = cases.map_partitions(  # type: ignore[no-untyped-call]
        _score_partition, model, threshold, ignore, meta=meta
    )
    return scored


def _score_partition(
    partition: pd.DataFrame, model: Model, threshold: float, ignore: Collection[str] | bool
) -> pd.DataFrame:
    return score_frame(model, partition, threshold, ignore)
