"""Bad input gets a CalfdxError naming the finding, the state given and the states allowed."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import calfdx

from .tablewriter import with_zeros, write_tables

BAD_EVIDENCE = [
    (
        {"sweling": "yes"},
        calfdx.UnknownFindingError,
        r"Unknown finding 'sweling'\. Did you mean 'swelling'\? Known findings: age, onset",
    ),
    (
        {"xyzzy": "yes"},
        calfdx.UnknownFindingError,
        r"Unknown finding 'xyzzy'\. Known findings:",
    ),
    (
        {"swelling": "maybe"},
        calfdx.UnknownStateError,
        r"Unknown state 'maybe' for finding 'swelling'\. Allowed states: \['yes', 'no'\]",
    ),
    ({"swelling": "Yes"}, calfdx.UnknownStateError, r"Did you mean 'yes'\? Allowed states"),
    (
        {"age": 42},
        calfdx.UnknownStateError,
        r"Finding 'age' expects one of the states \['under_18', '18_to_39', '40_to_64', "
        r"'65_plus'\], a mapping of state to probability, or None for unknown\. "
        r"Got 42 \(of type int\) instead",
    ),
    (
        {"swelling": 1.5},
        calfdx.UnknownStateError,
        r"Finding 'swelling' takes 'yes'/'no', True/False or 1/0 as an answer, or a "
        r"probability of yes strictly between 0 and 1 as soft evidence\. Got 1\.5",
    ),
    (
        {"onset": True},
        calfdx.UnknownStateError,
        r"Finding 'onset' does not take True/False \(only yes/no findings do\)\. "
        r"Allowed states: \['sudden', 'gradual'\]",
    ),
    (
        {"thompson_test": "yes"},
        calfdx.UnknownStateError,
        r"Allowed states: \['positive', 'negative'\]",
    ),
    ({3: "yes"}, calfdx.UnknownFindingError, r"Finding names are strings\. Got 3 \(of type int\)"),
    ({"swelling": ["yes"]}, calfdx.UnknownStateError, r"Got \['yes'\] \(of type list\)"),
]


@pytest.mark.parametrize(("findings", "error", "match"), BAD_EVIDENCE)
def test_bad_evidence_is_named(findings: dict[str, Any], error: type, match: str) -> None:
    """Check each kind of bad finding raises its own error with a helpful message."""
    with pytest.raises(error, match=match) as info:
        calfdx.diagnose(findings)
    assert isinstance(info.value, calfdx.EvidenceError)
    assert isinstance(info.value, ValueError)


def test_a_finding_given_twice_is_an_error() -> None:
    """Check a finding given in the mapping and as a keyword is rejected."""
    with pytest.raises(calfdx.DuplicateFindingError, match="'swelling' was given twice"):
        calfdx.diagnose({"swelling": "yes"}, swelling="yes")


def test_every_problem_is_listed() -> None:
    """Check several bad findings are reported together."""
    with pytest.raises(calfdx.EvidenceError) as info:
        calfdx.diagnose(sweling="yes", age=42, onset="sudden")
    assert len(info.value.problems) == 2
    assert "sweling" in str(info.value)
    assert "'age'" in str(info.value)


def test_findings_must_be_a_mapping() -> None:
    """Check a list of findings gets a clear error."""
    with pytest.raises(calfdx.EvidenceError, match="Findings must be a mapping"):
        calfdx.diagnose(["swelling"])  # type: ignore[arg-type]


@pytest.mark.parametrize("threshold", [-0.1, 1.5, math.nan, math.inf, "0.5", True, [0.5]])
def test_bad_thresholds_are_rejected(threshold: object) -> None:
    """Check a threshold outside [0, 1] or of the wrong type is an InvalidOptionError."""
    with pytest.raises(
        calfdx.InvalidOptionError, match=r"dvt_threshold must be a number in \[0, 1\]"
    ):
        calfdx.diagnose(swelling="yes", dvt_threshold=threshold)  # type: ignore[arg-type]
    with pytest.raises(calfdx.InvalidOptionError):
        calfdx.load_model(dvt_threshold=threshold)  # type: ignore[arg-type]


def test_model_must_be_a_model() -> None:
    """Check that passing something else as the model is an InvalidOptionError."""
    with pytest.raises(calfdx.InvalidOptionError, match=r"model must be a calfdx\.Model"):
        calfdx.diagnose(model="default")  # type: ignore[arg-type]


def test_impossible_evidence_names_the_findings(tmp_path: Path) -> None:
    """Check evidence with probability zero raises, naming the finding, not a NaN posterior."""
    folder = write_tables(
        tmp_path,
        {"dvt": 0.5, "cramp": 0.5},
        {"swelling": {"yes": {"dvt": 0.5, "cramp": 0.5}, "no": {"dvt": 0.5, "cramp": 0.5}}},
    )
    # The loader refuses zeros (rule 2 of priors/README.md): build them behind its back.
    model = with_zeros(calfdx.load_model(folder), "swelling", [[0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(
        calfdx.ImpossibleEvidenceError,
        match=r"swelling='yes' \(zero under dvt, cramp\)",
    ):
        model.diagnose(swelling="yes")
    assert model.diagnose(swelling="no").posterior["dvt"] == 0.5


@pytest.mark.parametrize("unknown", [None, "unknown", math.nan])
def test_unknown_values_are_marginalised(unknown: object) -> None:
    """Check None, NaN and 'unknown' leave the finding unobserved, never taken as absent."""
    result = calfdx.diagnose(swelling=unknown, onset="sudden")  # type: ignore[arg-type]
    assert "swelling" in result.unobserved
    assert "swelling" not in result.findings
    assert result == calfdx.diagnose(onset="sudden")
    assert result != calfdx.diagnose(onset="sudden", swelling="no")


def test_booleans_mean_yes_and_no() -> None:
    """Check True/False are accepted for yes/no findings."""
    assert calfdx.diagnose(swelling=True) == calfdx.diagnose(swelling="yes")
    assert calfdx.diagnose(swelling=False) == calfdx.diagnose(swelling="no")


def test_the_callers_input_is_not_changed() -> None:
    """Check diagnose neither mutates nor keeps the caller's mapping."""
    findings: dict[str, str | bool | None] = {"swelling": True, "age": "65_plus", "fever": None}
    before = copy.deepcopy(findings)
    result = calfdx.diagnose(findings)
    assert findings == before
    findings["swelling"] = False
    assert result.findings["swelling"] == "yes"
    assert calfdx.diagnose(MappingProxyType(before)) == result


def test_a_failed_call_changes_nothing(model: calfdx.Model) -> None:
    """Check an error leaves the model and later results unchanged."""
    before = model.diagnose(swelling="yes")
    with pytest.raises(calfdx.EvidenceError):
        model.diagnose(swelling="yes", age=42)
    assert model.diagnose(swelling="yes") == before


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["yes", "no", "sudden", "65_plus", "positive", "unknown", "Yes", ""]),
    st.lists(st.integers(), max_size=2),
    st.binary(max_size=4),
)
NAMES = st.one_of(
    st.sampled_from(sorted(calfdx.vocabulary())),
    st.text(max_size=12),
    st.integers(),
)


@settings(max_examples=300, deadline=None)
@given(findings=st.dictionaries(NAMES, JUNK, max_size=6), threshold=st.one_of(st.none(), JUNK))
def test_random_bad_evidence_only_raises_calfdx_errors(
    findings: dict[str, Any], threshold: object
) -> None:
    """Check that no input makes diagnose raise anything but a CalfdxError."""
    try:
        result = calfdx.diagnose(findings, dvt_threshold=threshold)  # type: ignore[arg-type]
    except calfdx.CalfdxError:
        return
    assert abs(sum(result.posterior.values()) - 1.0) < 1e-12
