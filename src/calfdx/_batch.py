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

Two kernels compute the same numbers: a fused loop compiled by numba (a default dependency),
and a chunked numpy version used when numba is not installed.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Hashable, Mapping
from typing import TYPE_CHECKING, Final, TypeGuard

import numpy as np
import numpy.typing as npt

from ._checks import hashable_names
from ._evidence import Soft, check_threshold
from ._evidence import _state_of as state_of
from ._exceptions import (
    EvidenceError,
    ImpossibleEvidenceError,
    InvalidOptionError,
    UnknownFindingError,
    UnknownStateError,
)
from ._inference import Engine
from ._kernels import CodeArray, Scores
from ._schema import CAUSE_NODE, DVT, Finding

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd

    from ._core import Compiled

__all__ = ["encode_cases", "score_frame"]

_SHOWN: Final = 5  # how many rows and values an error message names
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
    import pandas as pd

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
    import pandas as pd

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


def _output_frame(compiled: Compiled, scores: Scores, index: pd.Index) -> pd.DataFrame:
    import pandas as pd

    causes = pd.Index(compiled.engine.causes)
    frame = pd.DataFrame(scores.probabilities, index=index, columns=causes, copy=False)
    frame["dvt_probability"] = scores.dvt
    frame["dvt_alert"] = scores.alert
    frame["top_cause"] = pd.Categorical.from_codes(scores.top, categories=causes, validate=False)
    return frame


def score_frame(
    compiled: Compiled,
    cases: pd.DataFrame,
    threshold: float,
    ignore: Collection[str] | bool,
    kernel: str | None = None,
) -> pd.DataFrame:
    """Score a pandas DataFrame (checked options); see :func:`calfdx.diagnose_batch`."""
    codes, soft = encode_cases(cases, dict(compiled.findings), ignore)
    scores = compiled.batch.score(codes, compiled.dvt_index, threshold, kernel)
    if soft:
        scores.redo[list(soft)] = True
    if scores.redo.any():
        _redo_exactly(compiled.engine, codes, soft, scores, threshold, cases.index)
    return _output_frame(compiled, scores, cases.index)


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


def _diagnose_batch(
    compiled: Compiled,
    cases: pd.DataFrame | dd.DataFrame,
    dvt_threshold: float | None,
    ignore_columns: Collection[str] | bool,
) -> pd.DataFrame | dd.DataFrame:
    """Return :func:`calfdx.diagnose_batch` of ``cases`` on compiled tables."""
    import pandas as pd

    threshold = compiled.dvt_threshold if dvt_threshold is None else check_threshold(dvt_threshold)
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
        return _diagnose_dask(compiled, cases, threshold, ignore_columns)
    if not isinstance(cases, pd.DataFrame):
        msg = (
            "cases must be a pandas (or dask) DataFrame with one column per finding"
            f"{' (a dask Series is not)' if _is_dask(cases) else ''}. "
            f"Got {type(cases).__name__} instead."
        )
        raise EvidenceError(msg)
    return score_frame(compiled, cases, threshold, ignore_columns)


def _diagnose_dask(
    compiled: Compiled, cases: dd.DataFrame, threshold: float, ignore: Collection[str] | bool
) -> dd.DataFrame:
    _check_columns(cases.columns, dict(compiled.findings), ignore)
    empty = compiled.batch.score(
        np.empty((len(compiled.findings), 0), dtype=np.int8), compiled.dvt_index, threshold
    )
    meta = _output_frame(compiled, empty, cases._meta.index)
    scored: dd.DataFrame = cases.map_partitions(  # type: ignore[no-untyped-call]
        _score_partition, compiled, threshold, ignore, meta=meta
    )
    return scored


def _score_partition(
    partition: pd.DataFrame, compiled: Compiled, threshold: float, ignore: Collection[str] | bool
) -> pd.DataFrame:
    return score_frame(compiled, partition, threshold, ignore)
