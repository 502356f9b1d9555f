"""Score whole cohorts: ``diagnose_batch`` for pandas (and dask) DataFrames.

The engine's tables are compiled once more for cohorts: findings are packed into a few
groups, and each group gets one *joint* table with a row for every combination of its
findings' states (plus "unknown", which multiplies by one). A patient's posterior is then the
product of one row per group, normalised. Each joint-table row is divided by its maximum over
the causes (a per-patient constant, which normalisation cancels), and the prior is folded into
the first group, so products stay far from underflow; a row whose sum still falls below
``1e-280`` is recomputed exactly in log space.

Two kernels compute the same numbers: a fused loop compiled by numba (the ``calfdx[fast]``
extra), and a chunked numpy version used when numba is not installed.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Collection, Hashable, Mapping
from typing import TYPE_CHECKING, Any, Final, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._exceptions import (
    EvidenceError,
    ImpossibleEvidenceError,
    InvalidOptionError,
    UnknownFindingError,
    UnknownStateError,
)
from ._inference import UNKNOWN, Engine, check_threshold
from ._tables import Finding

if TYPE_CHECKING:
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
#: Output columns besides one probability column per cause.
EXTRA_COLUMNS: Final = ("dvt_probability", "dvt_alert", "top_cause")
_SHOWN: Final = 5  # how many rows and values an error message names


class BatchTables:
    """A model's tables compiled for cohorts: grouped joint tables (read-only).

    Parameters
    ----------
    findings : tuple of Finding
        The vocabulary, in table order.
    prior : ndarray
        P(cause) in table order.
    likelihood : mapping
        Finding id → (states, causes) likelihood matrix.
    """

    __slots__ = ("group_of", "n_causes", "stride_of", "tables", "unknown_code")

    def __init__(
        self,
        findings: tuple[Finding, ...],
        prior: FloatArray,
        likelihood: Mapping[str, FloatArray],
    ) -> None:
        n_causes = prior.shape[0]
        groups: list[list[int]] = []
        size = _GROUP_ROWS + 1
        for index, finding in enumerate(findings):
            width = len(finding.states) + 1
            if size * width > _GROUP_ROWS or not groups:
                groups.append([])
                size = 1
            groups[-1].append(index)
            size *= width
        group_of = np.zeros(len(findings), dtype=np.intp)
        stride_of = np.zeros(len(findings), dtype=np.intp)
        joint_tables: list[FloatArray] = []
        for g, members in enumerate(groups or [[]]):
            joint = prior.reshape(1, -1).copy() if g == 0 else np.ones((1, n_causes))
            stride = 1
            for index in reversed(members):  # the last member varies fastest
                finding = findings[index]
                extended = np.vstack([likelihood[finding.id], np.ones((1, n_causes))])
                joint = (extended[:, None, :] * joint[None, :, :]).reshape(-1, n_causes)
                group_of[index] = g
                stride_of[index] = stride
                stride *= extended.shape[0]
            peak = joint.max(axis=1, keepdims=True)
            peak[peak == 0.0] = 1.0
            joint_tables.append(joint / peak)
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
        self.unknown_code: tuple[int, ...] = tuple(len(f.states) for f in findings)

    def score(
        self, codes: CodeArray, kernel: str | None = None
    ) -> tuple[FloatArray, npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
        """Return (posteriors, top cause index, rows needing the exact log-space path)."""
        n = codes.shape[0]
        out = np.empty((n, self.n_causes))
        top = np.empty(n, dtype=np.intp)
        redo = np.zeros(n, dtype=np.bool_)
        if n:
            _kernel(kernel)(codes, self.group_of, self.stride_of, self.tables, out, top, redo)
        return out, top, redo


# --------------------------------------------------------------------------------------------
# Kernels: (codes, group_of, stride_of, tables, out, top, redo) -> None, filling the outputs.

Kernel = Callable[..., None]


def _numpy_kernel(
    codes: CodeArray,
    group_of: npt.NDArray[np.intp],
    stride_of: npt.NDArray[np.intp],
    tables: FloatArray,
    out: FloatArray,
    top: npt.NDArray[np.intp],
    redo: npt.NDArray[np.bool_],
) -> None:
    n_groups = tables.shape[0]
    # (findings, groups) matrix: codes @ strides gives every group's joint-table row.
    strides = np.zeros((codes.shape[1], n_groups), dtype=np.intp)
    strides[np.arange(codes.shape[1]), group_of] = stride_of
    buffer = np.empty((min(_CHUNK, codes.shape[0]), tables.shape[2]))
    for start in range(0, codes.shape[0], _CHUNK):
        stop = min(start + _CHUNK, codes.shape[0])
        index = codes[start:stop].astype(np.intp) @ strides
        block = out[start:stop]
        np.take(tables[0], index[:, 0], axis=0, out=block)
        part = buffer[: stop - start]
        for g in range(1, n_groups):
            np.take(tables[g], index[:, g], axis=0, out=part)
            block *= part
        total = block.sum(axis=1)
        redo[start:stop] = ~(total > _TINY)
        total[redo[start:stop]] = 1.0
        block /= total[:, None]
        np.argmax(block, axis=1, out=top[start:stop])


_KERNELS: dict[str, Kernel] = {"numpy": _numpy_kernel}
_LOCK = threading.Lock()


def _compile_numba() -> Kernel | None:
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(nogil=True, cache=False)
    def numba_kernel(codes, group_of, stride_of, tables, out, top, redo):  # type: ignore[no-untyped-def]
        n, n_findings = codes.shape
        n_groups = tables.shape[0]
        n_causes = tables.shape[2]
        index = np.empty(n_groups, np.intp)
        acc = np.empty(n_causes)
        for i in range(n):
            for g in range(n_groups):
                index[g] = 0
            for f in range(n_findings):
                index[group_of[f]] += codes[i, f] * stride_of[f]
            row = index[0]
            for c in range(n_causes):
                acc[c] = tables[0, row, c]
            for g in range(1, n_groups):
                row = index[g]
                for c in range(n_causes):
                    acc[c] *= tables[g, row, c]
            total = 0.0
            for c in range(n_causes):
                total += acc[c]
            if not total > _TINY:
                redo[i] = True
                total = 1.0
            best = 0
            best_value = -1.0
            for c in range(n_causes):
                value = acc[c] / total
                out[i, c] = value
                if value > best_value:
                    best_value = value
                    best = c
            top[i] = best

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


def _value_code(finding: Finding, value: object) -> int:
    """Return the state code of one distinct value: a state index, unknown, or -1 (bad)."""
    unknown = len(finding.states)
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return unknown
    if isinstance(value, bool | np.bool_):
        return finding.states.index("yes" if value else "no") if finding.is_yes_no else -1
    if isinstance(value, str):
        if value in finding.states:
            return finding.states.index(value)
        return unknown if value == UNKNOWN else -1
    return -1


def _encode_column(
    finding: Finding, column: pd.Series
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_], list[object]]:
    """Return (codes, bad-row mask, bad values) for one column; no loop over rows."""
    values = column.to_numpy() if column.dtype == np.bool_ else None
    if values is not None:
        if not finding.is_yes_no:
            return (
                np.zeros(len(column), np.int8),
                np.ones(len(column), np.bool_),
                [True, False],
            )
        yes, no = finding.states.index("yes"), finding.states.index("no")
        return np.where(values, yes, no).astype(np.int8), np.zeros(len(column), np.bool_), []
    categorical = (
        column.array
        if isinstance(column.dtype, pd.CategoricalDtype)
        else pd.Categorical(column.to_numpy(dtype=object))
    )
    categories = list(categorical.categories)
    lookup = np.array(
        [_value_code(finding, category) for category in categories] + [len(finding.states)],
        dtype=np.int8,
    )
    codes = lookup[np.asarray(categorical.codes)]  # code -1 (missing) picks the last entry
    bad = codes < 0
    bad_values = [c for c, code in zip(categories, lookup, strict=False) if code < 0]
    if bad.any():
        used = set(np.unique(np.asarray(categorical.codes)[bad]).tolist())
        bad_values = [categories[i] for i in sorted(used)]
    return codes, bad, bad_values


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
    unknown = [c for c in columns if c not in vocabulary]
    if ignore is not True:
        ignored = set() if ignore is False else set(ignore)
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
) -> CodeArray:
    """Return an (n, findings) int8 array of state codes (state index, or unknown).

    Raises
    ------
    EvidenceError
        Naming the rows and columns of every bad value (the first few, and how many).
    """
    _check_columns(cases.columns, vocabulary, ignore)
    codes = np.empty((len(cases), len(vocabulary)), dtype=np.int8)
    problems: list[str] = []
    for j, (name, finding) in enumerate(vocabulary.items()):
        if name not in cases.columns:
            codes[:, j] = len(finding.states)
            continue
        column_codes, bad, bad_values = _encode_column(finding, cases[name])
        if bad.any():
            count = int(bad.sum())
            shown = ", ".join(repr(v) for v in bad_values[:_SHOWN])
            extra = " or True/False" if finding.is_yes_no else ""
            problems.append(
                f"column {name!r}: {count} row{'s' if count > 1 else ''} with values not "
                f"allowed (rows {_labels(cases.index, bad)}{', ...' if count > _SHOWN else ''}; "
                f"values {shown}). Allowed: {list(finding.states)}{extra}, or NaN/None for "
                "unknown."
            )
        codes[:, j] = column_codes
    if problems:
        msg = "Bad values in cases (no result was returned):\n" + "\n".join(
            f"  - {problem}" for problem in problems
        )
        raise UnknownStateError(msg, tuple(problems))
    return codes


# --------------------------------------------------------------------------------------------
# The public function


def _output_frame(
    model: Model,
    probabilities: FloatArray,
    top: npt.NDArray[np.intp],
    index: pd.Index,
    threshold: float,
) -> pd.DataFrame:
    causes = list(model._engine.causes)
    frame = pd.DataFrame(probabilities, index=index, columns=pd.Index(causes), copy=False)
    dvt = probabilities[:, model._dvt_index]
    frame["dvt_probability"] = dvt
    frame["dvt_alert"] = dvt >= threshold
    frame["top_cause"] = pd.Categorical.from_codes(top, categories=pd.Index(causes))
    return frame


def score_frame(
    model: Model,
    cases: pd.DataFrame,
    threshold: float,
    ignore: Collection[str] | bool,
    kernel: str | None = None,
) -> pd.DataFrame:
    """Score a pandas DataFrame (checked options); see :func:`calfdx.diagnose_batch`."""
    codes = encode_cases(cases, dict(model.findings), ignore)
    batch = model._batch
    probabilities, top, redo = batch.score(codes, kernel)
    if redo.any():
        _redo_exactly(model._engine, batch, codes, probabilities, top, redo, cases.index)
    return _output_frame(model, probabilities, top, cases.index, threshold)


def _redo_exactly(
    engine: Engine,
    batch: BatchTables,
    codes: CodeArray,
    probabilities: FloatArray,
    top: npt.NDArray[np.intp],
    redo: npt.NDArray[np.bool_],
    index: pd.Index,
) -> None:
    """Recompute, in log space, the rows whose linear product underflowed."""
    impossible = np.zeros(len(redo), dtype=np.bool_)
    offsets = np.cumsum([1, *batch.unknown_code[:-1]])
    for i in np.flatnonzero(redo):
        row_codes = codes[i]
        rows = [
            int(offsets[f] + code)
            for f, code in enumerate(row_codes.tolist())
            if code != batch.unknown_code[f]
        ]
        try:
            probabilities[i] = engine._log_posterior(rows)
        except ImpossibleEvidenceError:
            impossible[i] = True
            continue
        top[i] = int(np.argmax(probabilities[i]))
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


def diagnose_batch(
    cases: Any,
    /,
    *,
    model: Model | None = None,
    dvt_threshold: float | None = None,
    ignore_columns: Collection[str] | bool = (),
) -> Any:
    """Return the posterior of every cause and the DVT alert for every patient of a cohort.

    calfdx supports clinical decisions; it does not make them.

    Parameters
    ----------
    cases : pandas.DataFrame or dask.dataframe.DataFrame
        One row per patient, one column per finding (any subset of the vocabulary, in any
        order). Values are state names (strings or categoricals; categoricals are fastest),
        ``True``/``False`` for yes/no findings, and NaN, None or ``"unknown"`` for unknown.
        A finding without a column is unknown for every patient.
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
    work is vectorised: no Python loop over rows. With numba installed (``calfdx[fast]``)
    a compiled kernel is used; its first call in a process compiles it (about a second).

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
    ann            0.117       True  muscle_strain
    bob            0.003      False           doms
    cy             0.045       True          cramp
    >>> one = calfdx.diagnose(swelling="yes", side="unilateral")
    >>> bool(abs(scores.loc["ann", "dvt"] - one.dvt_probability) < 1e-12)
    True
    """
    from ._model import Model, _default_model

    if model is None:
        model = _default_model()
    elif not isinstance(model, Model):
        msg = f"model must be a calfdx.Model (see calfdx.load_model). Got {type(model).__name__}."
        raise InvalidOptionError(msg)
    threshold = model.dvt_threshold if dvt_threshold is None else check_threshold(dvt_threshold)
    if not isinstance(ignore_columns, bool) and (
        isinstance(ignore_columns, str) or not isinstance(ignore_columns, Collection)
    ):
        msg = (
            "ignore_columns must be a collection of column names, or True/False. "
            f"Got {ignore_columns!r} instead."
        )
        raise InvalidOptionError(msg)
    if _is_dask(cases):
        return _diagnose_dask(model, cases, threshold, ignore_columns)
    if not isinstance(cases, pd.DataFrame):
        msg = (
            "cases must be a pandas (or dask) DataFrame with one column per finding. "
            f"Got {type(cases).__name__} instead."
        )
        raise EvidenceError(msg)
    return score_frame(model, cases, threshold, ignore_columns)


def _diagnose_dask(
    model: Model, cases: Any, threshold: float, ignore: Collection[str] | bool
) -> Any:
    _check_columns(cases.columns, dict(model.findings), ignore)
    meta = _output_frame(
        model,
        np.empty((0, len(model.causes))),
        np.empty(0, dtype=np.intp),
        cases._meta.index,
        threshold,
    )
    return cases.map_partitions(_score_partition, model, threshold, ignore, meta=meta)


def _score_partition(
    partition: pd.DataFrame, model: Model, threshold: float, ignore: Collection[str] | bool
) -> pd.DataFrame:
    return score_frame(model, partition, threshold, ignore)
