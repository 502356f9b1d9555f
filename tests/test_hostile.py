"""Every bad input gets a CalfdxError: hypothesis throws hostile values at every public function.

A call either succeeds or raises a :class:`calfdx.CalfdxError`; any other exception
(``OverflowError``, ``TypeError``, ``AttributeError``, ``OSError``...) fails the test. The
named cases of issue 9 are listed first, then hypothesis draws from :data:`HOSTILE`: huge
integers, NaN and infinities of several float types, NaT, unhashable containers, bytes,
paths, strings with NUL bytes, numpy scalars and arbitrary objects.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import calfdx

MODEL = calfdx.load_model()
VOCABULARY = calfdx.vocabulary()
COHORT = MODEL.simulate(40, seed=3, missing=0.2)

HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**63, -1, 0, 1, 2]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            np.float32("nan"),
            np.float32(0.5),
            np.float16(1.0),
            np.int64(1),
            np.int8(-3),
            np.uint64(2**64 - 1),
            np.bool_(True),
            np.datetime64("NaT"),
            pd.NaT,
            pd.NA,
            np.nan,
        ]
    ),
    st.text(max_size=20),
    st.sampled_from(["yes", "no", "unknown", "0.6_1", "\u0661", "1e400", "a\0b", "", "dvt"]),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.floats(), max_size=3),
    st.sampled_from([set(), frozenset({1}), (1, [2]), object(), Path("x"), b"yes", 1j]),
)


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


NAMES = st.one_of(
    st.sampled_from(sorted(VOCABULARY)), st.text(max_size=12), HOSTILE.filter(_hashable)
)

# The cases the issue names, each raising a non-CalfdxError before the fix.
NAMED: list[tuple[str, Callable[[], object]]] = [
    ("swelling=10**400", lambda: calfdx.diagnose(swelling=10**400)),
    ("dvt_threshold=10**400", lambda: calfdx.diagnose(dvt_threshold=10**400)),
    ("with_prior 10**400", lambda: MODEL.with_prior("dvt", 10**400)),
    ("wells 10**400", lambda: calfdx.wells_score(active_cancer=10**400)),
    ("sensitivity 10**400", lambda: calfdx.sensitivity(MODEL, {"swelling": 10**400})),
    ("vocabulary('x')", lambda: calfdx.vocabulary("x")),  # type: ignore[arg-type]
    ("load_model(123)", lambda: calfdx.load_model(123)),  # type: ignore[arg-type]
    ("seed='a'", lambda: MODEL.simulate(3, seed="a")),  # type: ignore[arg-type]
    ("seed=1.5", lambda: MODEL.simulate(3, seed=1.5)),  # type: ignore[arg-type]
    ("seed=-1", lambda: MODEL.simulate(3, seed=-1)),
    ("interval seed=-1", lambda: MODEL.posterior_interval(draws=5, seed=-1)),
    ("with_setting([...])", lambda: MODEL.with_setting(["primary_care"])),  # type: ignore[arg-type]
    (
        "ignore_columns=[['x']]",
        lambda: calfdx.diagnose_batch(pd.DataFrame({"x": [1]}), ignore_columns=[["x"]]),  # type: ignore[list-item]
    ),
    ("dict cell", lambda: calfdx.diagnose_batch(pd.DataFrame({"swelling": [{"yes": 2}]}))),
    ("list cell", lambda: calfdx.diagnose_batch(pd.DataFrame({"swelling": [["yes"]]}))),
    ("export(None)", lambda: MODEL.export(None)),  # type: ignore[arg-type]
    ("to_csv(None)", lambda: MODEL.to_csv(None)),  # type: ignore[arg-type]
    ("too long a path", lambda: calfdx.load_model("a" * 5000)),
    ("too long an export", lambda: MODEL.export("/tmp/" + "a" * 5000 + ".bif")),
    ("too long a to_csv", lambda: MODEL.to_csv("/tmp/" + "a" * 5000)),
    ("NUL in a path", lambda: calfdx.load_model("pri\0ors")),
    ("fit prior_strength=inf", lambda: MODEL.fit(COHORT, prior_strength=math.inf)),
    ("fit prior_strength=10**400", lambda: MODEL.fit(COHORT, prior_strength=10**400)),
    ("with_prior 1", lambda: MODEL.with_prior("dvt", 1)),
    ("with_likelihood 0", lambda: MODEL.with_likelihood("swelling", "yes", "dvt", 0.0)),
    ("diagnose(setting=...)", lambda: calfdx.diagnose(setting="sports_clinic")),
]


@pytest.mark.parametrize(("label", "call"), NAMED, ids=[label for label, _ in NAMED])
def test_named_bad_inputs_raise_calfdx_errors(label: str, call: Callable[[], object]) -> None:
    """Check each bad input the issue lists raises a CalfdxError (and a ValueError)."""
    with pytest.raises(calfdx.CalfdxError) as info:
        call()
    assert isinstance(info.value, ValueError)
    assert len(str(info.value)) < 20_000


def test_none_as_the_model_means_the_shipped_one() -> None:
    """Check sensitivity(None, ...) and evaluate(None, ...) use the shipped model."""
    table = calfdx.sensitivity(None, {"swelling": "yes"})  # type: ignore[arg-type]
    assert table.equals(calfdx.sensitivity(MODEL, {"swelling": "yes"}))
    assert calfdx.evaluate(None, COHORT).n == calfdx.evaluate(MODEL, COHORT).n  # type: ignore[arg-type]


def test_a_dask_series_is_refused_plainly() -> None:
    """Check a dask Series (not a DataFrame) gets a CalfdxError, not an AttributeError."""
    dd = pytest.importorskip("dask.dataframe")
    series = dd.from_pandas(pd.Series(["yes", "no"], name="swelling"), npartitions=1)
    with pytest.raises(calfdx.EvidenceError, match="a dask Series is not"):
        calfdx.diagnose_batch(series)


def test_an_unreadable_table_file_names_the_file(
    tmp_path: Path, shipped_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Check an OSError while reading a table becomes a TableError naming the file."""
    import shutil

    folder = tmp_path / "tables"
    shutil.copytree(shipped_dir, folder)
    original = Path.read_bytes

    def deny(self: Path) -> bytes:
        if self.name == "causes.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(calfdx.TableError, match=r"causes\.csv: the file cannot be read"):
        calfdx.load_model(folder)
    (problem,) = calfdx.table_problems(folder)
    assert problem.file == "causes.csv"


def _only_calfdx_errors(call: Callable[[], object]) -> object:
    """Run ``call``; return its result, or None after a CalfdxError. Anything else fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return call()
    except calfdx.CalfdxError:
        return None


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    findings=st.dictionaries(NAMES, HOSTILE, max_size=5),
    more=st.dictionaries(st.sampled_from(sorted(VOCABULARY)), HOSTILE, max_size=3),
)
def test_diagnose_and_wells_take_any_values(
    findings: dict[Any, Any], more: dict[str, Any]
) -> None:
    """Check diagnose, wells_score and sensitivity raise only CalfdxErrors on any values."""
    result = _only_calfdx_errors(lambda: calfdx.diagnose(findings, **more))
    if result is not None:
        assert isinstance(result, calfdx.Diagnosis)
        assert abs(sum(result.posterior.values()) - 1.0) < 1e-9
    _only_calfdx_errors(lambda: calfdx.wells_score(findings, **more))
    _only_calfdx_errors(lambda: calfdx.sensitivity(MODEL, findings))


@SETTINGS
@given(value=HOSTILE)
def test_every_option_takes_any_value(value: Any) -> None:
    """Check every option of every public function raises only CalfdxErrors."""
    result = MODEL.diagnose(swelling="yes")
    calls: list[Callable[[], object]] = [
        lambda: calfdx.diagnose(swelling="yes", dvt_threshold=value),
        lambda: calfdx.diagnose(model=value),
        lambda: calfdx.load_model(value),
        lambda: calfdx.load_model(setting=value),
        lambda: calfdx.load_model(dvt_threshold=value),
        lambda: calfdx.vocabulary(value),
        lambda: MODEL.with_dvt_threshold(value),
        lambda: MODEL.with_prior(value, 0.1),
        lambda: MODEL.with_prior("dvt", value),
        lambda: MODEL.with_likelihood("swelling", "yes", "dvt", value),
        lambda: MODEL.with_likelihood(value, "yes", "dvt", 0.1),
        lambda: MODEL.with_setting(value),
        lambda: MODEL.likelihood(value, "dvt"),
        lambda: MODEL.simulate(value),
        lambda: MODEL.simulate(3, seed=value),
        lambda: MODEL.simulate(3, missing=value),
        lambda: MODEL.posterior_interval(draws=value),
        lambda: MODEL.posterior_interval(draws=5, seed=value),
        lambda: MODEL.posterior_interval(draws=5, level=value),
        lambda: MODEL.fit(COHORT, prior_strength=value),
        lambda: MODEL.fit(COHORT, update_prior=value),
        lambda: MODEL.fit(value),
        lambda: MODEL.export(value),
        lambda: calfdx.sensitivity(value),
        lambda: calfdx.sensitivity(MODEL, {}, target=value),
        lambda: calfdx.evaluate(value, COHORT),
        lambda: calfdx.evaluate(MODEL, value),
        lambda: calfdx.evaluate(MODEL, COHORT, dvt_threshold=value),
        lambda: calfdx.threshold_for_sensitivity(MODEL, COHORT, value),
        lambda: calfdx.diagnose_batch(value),
        lambda: calfdx.diagnose_batch(COHORT, ignore_columns=value),
        lambda: calfdx.diagnose_batch(COHORT, dvt_threshold=value),
        lambda: calfdx.diagnose_batch(COHORT, model=value),
        lambda: calfdx.wells_score(model=value),
        lambda: result.top(value),
        lambda: result.explain(value),
        lambda: result.next_questions(value),
        lambda: result.next_questions(2, rank_by=value),
    ]
    for call in calls:
        _only_calfdx_errors(call)


@SETTINGS
@given(cells=st.lists(HOSTILE, min_size=1, max_size=6), name=st.sampled_from(sorted(VOCABULARY)))
def test_diagnose_batch_takes_any_cells_like_diagnose(cells: list[Any], name: str) -> None:
    """Check any cell values give a CalfdxError, or the rows diagnose() gives, in batch."""
    cases = pd.DataFrame({name: pd.Series(cells, dtype=object)})
    scores = _only_calfdx_errors(lambda: calfdx.diagnose_batch(cases))
    singles = [
        _only_calfdx_errors(functools.partial(calfdx.diagnose, {name: value})) for value in cells
    ]
    if scores is None:
        assert None in singles, f"diagnose took every value of {cells!r}, batch did not"
        return
    for i, (value, one) in enumerate(zip(cells, singles, strict=True)):
        if True:
            assert isinstance(scores, pd.DataFrame)
            assert one is not None, f"batch took {value!r}, diagnose did not"
            assert isinstance(one, calfdx.Diagnosis)
            assert abs(scores.iloc[i]["dvt"] - one.posterior["dvt"]) < 1e-12
