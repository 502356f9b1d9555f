"""diagnose_batch: every row equals diagnose(), errors name rows and columns, dask agrees."""

from __future__ import annotations

import math
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import calfdx
from calfdx._batch import score_frame
from calfdx._jit import jit
from calfdx._kernels import _numpy_kernel, fused_kernel

from .tablewriter import with_zeros, write_tables

VOCABULARY = calfdx.vocabulary()
KERNELS = ["numpy", "numba"]
UNKNOWNS = [None, math.nan, "unknown"]


def row_findings(row: pd.Series) -> dict[str, Any]:
    return {str(name): value for name, value in row.items() if name in VOCABULARY}


@st.composite
def cohorts(draw: st.DrawFn, max_rows: int = 25) -> pd.DataFrame:
    """A random cohort: a subset of findings as columns, of mixed value types."""
    names = draw(st.lists(st.sampled_from(list(VOCABULARY)), unique=True, max_size=12))
    n = draw(st.integers(0, max_rows))
    data: dict[str, object] = {}
    for name in names:
        finding = VOCABULARY[name]
        values = st.one_of(st.sampled_from(finding.states), st.sampled_from(UNKNOWNS))
        if finding.is_yes_no:
            values = st.one_of(values, st.booleans())
        column = draw(st.lists(values, min_size=n, max_size=n))
        kind = draw(st.sampled_from(["object", "category"]))
        series = pd.Series(column, dtype=object)
        if kind == "category":
            series = series.where(series != "unknown").astype("category")
        data[name] = series
    frame = pd.DataFrame(data, index=pd.RangeIndex(n) * 3 + 7)
    return frame


def require(kernel: str) -> None:
    """Skip, saying why, when ``kernel`` cannot run here (numba is not installed)."""
    if kernel == "numba":
        pytest.importorskip("numba", reason="the numba kernel needs numba (calfdx[fast])")


@pytest.mark.parametrize("kernel", KERNELS)
@settings(max_examples=80, deadline=None)
@given(cases=cohorts())
def test_every_row_equals_diagnose(kernel: str, cases: pd.DataFrame) -> None:
    """Check each kernel's rows equal diagnose() on that row, and the numpy kernel, to 1e-12."""
    require(kernel)
    model = calfdx.load_model()
    scores = score_frame(model._compiled, cases, 0.02, (), kernel=kernel)
    reference = score_frame(model._compiled, cases, 0.02, (), kernel="numpy")
    pd.testing.assert_frame_equal(scores, reference, check_exact=False, atol=1e-12, rtol=0)
    assert scores.index.equals(cases.index)
    causes = [c.id for c in model.causes]
    assert list(scores.columns) == [*causes, "dvt_probability", "dvt_alert", "top_cause"]
    for i, (_, row) in enumerate(cases.iterrows()):
        expected = model.diagnose(row_findings(row))
        got = scores.iloc[i]
        for cause, p in expected.posterior.items():
            assert abs(got[cause] - p) <= 1e-12
        assert got["dvt_probability"] == got["dvt"]
        assert bool(got["dvt_alert"]) is expected.dvt_alert
        # Causes can tie to within an ulp; the kernels may then pick either one.
        assert expected.posterior[got["top_cause"]] >= max(expected.posterior.values()) - 1e-12


def test_booleans_and_categoricals_and_strings_agree() -> None:
    """Check bool, nullable boolean, categorical and string columns give the same result."""
    values = ["yes", "no", None, "yes"]
    as_bool = pd.DataFrame({"swelling": [True, False, True, True]})
    as_nullable = pd.DataFrame({"swelling": pd.array([True, False, None, True], "boolean")})
    as_category = pd.DataFrame({"swelling": pd.Categorical(values)})
    as_text = pd.DataFrame({"swelling": values})
    a = calfdx.diagnose_batch(as_text)
    b = calfdx.diagnose_batch(as_category)
    c = calfdx.diagnose_batch(as_nullable)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    pd.testing.assert_frame_equal(
        calfdx.diagnose_batch(as_bool).iloc[[0, 1, 3]], a.iloc[[0, 1, 3]]
    )


def test_bad_values_name_rows_and_columns_and_return_nothing() -> None:
    """Check one error names the rows, values, counts and allowed states of each column."""
    cases = pd.DataFrame(
        {"age": ["65_plus", 42, "old", *["65_plus"] * 7], "onset": [True] * 10},
        index=[f"p{i}" for i in range(10)],
    )
    with pytest.raises(calfdx.UnknownStateError) as info:
        calfdx.diagnose_batch(cases)
    text = str(info.value)
    assert "no result was returned" in text
    assert "column 'age': 2 rows with values not allowed (rows 'p1', 'p2'; values" in text
    assert "42" in text
    assert "'old'" in text
    assert "Allowed: ['under_18', '18_to_39', '40_to_64', '65_plus']" in text
    assert "column 'onset': 10 rows" in text
    assert "'p0', 'p1', 'p2', 'p3', 'p4', ..." in text
    assert len(info.value.problems) == 2


def test_unknown_columns_are_an_error_unless_ignored() -> None:
    """Check unknown columns are rejected with a suggestion, or skipped when asked."""
    cases = pd.DataFrame({"sweling": ["yes"], "patient_id": [7], "side": ["unilateral"]})
    with pytest.raises(
        calfdx.UnknownFindingError, match=r"'sweling' \(did you mean 'swelling'\?\)"
    ):
        calfdx.diagnose_batch(cases)
    scored = calfdx.diagnose_batch(cases, ignore_columns=["sweling", "patient_id"])
    assert scored.loc[0, "dvt"] == pytest.approx(
        calfdx.diagnose(side="unilateral").dvt_probability
    )
    pd.testing.assert_frame_equal(scored, calfdx.diagnose_batch(cases, ignore_columns=True))
    with pytest.raises(calfdx.InvalidOptionError, match="ignore_columns must be"):
        calfdx.diagnose_batch(cases, ignore_columns="patient_id")


@pytest.mark.parametrize(
    ("cases", "error", "match"),
    [
        ([{"swelling": "yes"}], calfdx.EvidenceError, "cases must be a pandas"),
        (
            pd.DataFrame([["yes", "no"]], columns=["swelling", "swelling"]),
            calfdx.EvidenceError,
            "duplicated columns",
        ),
    ],
)
def test_bad_cases(cases: Any, error: type[Exception], match: str) -> None:
    """Check cases that are not a usable DataFrame get a clear error."""
    with pytest.raises(error, match=match):
        calfdx.diagnose_batch(cases)


def test_threshold_and_model_options() -> None:
    """Check the threshold is validated and applied, and the model option is checked."""
    cases = pd.DataFrame({"swelling": ["yes", "no"]})
    assert not calfdx.diagnose_batch(cases, dvt_threshold=1.0)["dvt_alert"].any()
    assert calfdx.diagnose_batch(cases, dvt_threshold=0.0)["dvt_alert"].all()
    with pytest.raises(calfdx.InvalidOptionError):
        calfdx.diagnose_batch(cases, dvt_threshold=2.0)
    with pytest.raises(calfdx.InvalidOptionError, match="model must be"):
        calfdx.diagnose_batch(cases, model="x")  # type: ignore[call-overload]


def test_empty_and_columnless_cohorts() -> None:
    """Check an empty cohort gives an empty frame, and no columns gives the prior."""
    empty = calfdx.diagnose_batch(pd.DataFrame({"swelling": pd.Series([], dtype=object)}))
    assert len(empty) == 0
    assert "dvt_alert" in empty.columns
    prior_only = calfdx.diagnose_batch(pd.DataFrame(index=range(3)))
    assert prior_only["dvt"].tolist() == pytest.approx([calfdx.diagnose().dvt_probability] * 3)


def test_input_is_not_changed() -> None:
    """Check diagnose_batch leaves the caller's DataFrame as it was."""
    cases = pd.DataFrame({"swelling": ["yes", None], "age": pd.Categorical(["65_plus", None])})
    before = cases.copy(deep=True)
    calfdx.diagnose_batch(cases)
    pd.testing.assert_frame_equal(cases, before)


@pytest.mark.parametrize("kernel", KERNELS)
def test_underflow_is_recomputed_exactly(tmp_path: Path, kernel: str) -> None:
    """Check rows whose linear product underflows are recomputed exactly in log space."""
    require(kernel)
    # 0.9999999 for "no": the rows sum to 1 within 1e-6, and 1 - 1e-30 would be 1.0 exactly,
    # which the loader refuses.
    tiny = {"yes": {"dvt": 1e-30, "cramp": 1e-31}, "no": {"dvt": 0.9999999, "cramp": 0.9999999}}
    likelihood = {f"f{i}": tiny for i in range(12)}
    model = calfdx.load_model(write_tables(tmp_path, {"dvt": 0.5, "cramp": 0.5}, likelihood))
    everything = {f"f{i}": "yes" for i in range(12)}
    # Odds dvt:cramp = 10**12, so P(cramp) = 1 / (1 + 1e12).
    expected = 1.0 / (1.0 + 1e12)
    assert model.diagnose(everything).posterior["cramp"] == pytest.approx(expected, rel=1e-12)
    cases = pd.DataFrame([everything, {"f0": "no"}])
    scores = score_frame(model._compiled, cases, 0.02, (), kernel=kernel)
    assert scores.loc[0, "cramp"] == pytest.approx(expected, rel=1e-12)
    assert scores.loc[0, "top_cause"] == "dvt"


@pytest.mark.parametrize("kernel", KERNELS)
def test_impossible_rows_are_named(tmp_path: Path, kernel: str) -> None:
    """Check rows with probability zero under every cause raise, naming the rows."""
    require(kernel)
    even = {"yes": {"dvt": 0.5, "cramp": 0.5}, "no": {"dvt": 0.5, "cramp": 0.5}}
    loaded = calfdx.load_model(write_tables(tmp_path, {"dvt": 0.5, "cramp": 0.5}, {"f": even}))
    model = with_zeros(loaded, "f", [[0.0, 0.0], [1.0, 1.0]])  # the loader refuses 0 and 1
    cases = pd.DataFrame({"f": ["no", "yes", "no", "yes"]}, index=list("abcd"))
    with pytest.raises(calfdx.ImpossibleEvidenceError, match=r"2 rows .* rows 'b', 'd'"):
        score_frame(model._compiled, cases, 0.02, (), kernel=kernel)


def test_dask_matches_pandas_partition_by_partition() -> None:
    """Check a dask DataFrame is scored lazily, per partition, equal to the pandas result."""
    dd = pytest.importorskip("dask.dataframe")
    import dask

    rng = np.random.default_rng(5)
    cases = pd.DataFrame(
        {
            name: rng.choice(np.array([*VOCABULARY[name].states, None], dtype=object), size=500)
            for name in ["age", "swelling", "side", "onset", "fever", "thompson_test"]
        }
    )
    lazy = calfdx.diagnose_batch(dd.from_pandas(cases, npartitions=4))
    assert type(lazy).__module__.startswith("dask")
    with dask.config.set(scheduler="synchronous"):
        computed = lazy.compute()
    pd.testing.assert_frame_equal(computed, calfdx.diagnose_batch(cases))
    with pytest.raises(calfdx.UnknownFindingError):
        calfdx.diagnose_batch(dd.from_pandas(cases.rename(columns={"age": "agee"}), npartitions=2))


def test_concurrent_calls_give_the_serial_answers() -> None:
    """Check diagnose and diagnose_batch from many threads equal the serial results."""
    rng = np.random.default_rng(11)
    model = calfdx.load_model()
    patients = [
        {
            f.id: f.states[rng.integers(len(f.states))]
            for f in VOCABULARY.values()
            if rng.random() < 0.5
        }
        for _ in range(200)
    ]
    serial = [model.diagnose(p) for p in patients]
    cases = pd.DataFrame(patients)
    serial_batch = calfdx.diagnose_batch(cases)
    barrier = threading.Barrier(8)

    def work(offset: int) -> bool:
        barrier.wait()
        same = all(model.diagnose(p) == serial[i] for i, p in enumerate(patients[offset:], offset))
        return same and calfdx.diagnose_batch(cases).equals(serial_batch)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(work, range(8)))


def test_models_and_results_pickle() -> None:
    """Check models and results survive pickling (for process pools and dask workers)."""
    model = calfdx.load_model().with_dvt_threshold(0.1)
    again = pickle.loads(pickle.dumps(model))
    assert again.dvt_threshold == 0.1
    assert again.content_hash == model.content_hash
    result = model.diagnose(swelling="yes", side="unilateral")
    assert again.diagnose(swelling="yes", side="unilateral") == result
    assert pickle.loads(pickle.dumps(result)) == result


def test_the_fused_kernel_as_plain_python_equals_numpy() -> None:
    """Check the loop numba compiles gives the numpy kernel's outputs when run as Python."""
    model = calfdx.load_model()
    batch = model._compiled.batch
    rng = np.random.default_rng(5)
    n = 40
    codes = np.array(
        [rng.integers(-1, int(states), size=n) for states in batch.unknown], dtype=np.int8
    )
    outputs = []
    for kernel in (_numpy_kernel, fused_kernel):
        out = (np.empty((n, batch.n_causes)), np.empty(n, dtype=np.int16), np.empty(n))
        flags = (np.empty(n, dtype=np.bool_), np.zeros(n, dtype=np.bool_))
        kernel(
            codes, batch.unknown, batch.group_of, batch.stride_of, batch.tables, 0, 0.02,
            *out, *flags,
        )  # fmt: skip
        outputs.append((*out, *flags))
    for expected, got in zip(*outputs, strict=True):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_jit_compiles_in_memory_when_it_cannot_cache() -> None:
    """A function numba cannot cache (no source file here) is still compiled and runs."""
    pytest.importorskip("numba")
    namespace: dict[str, Any] = {}
    exec("def twice(x):\n    return 2 * x\n", namespace)
    compiled = jit(namespace["twice"])
    assert compiled(21) == 42
    assert type(compiled).__name__ == "CPUDispatcher"
