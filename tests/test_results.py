"""The Diagnosis record and its views."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

import calfdx


@pytest.fixture(scope="module")
def result() -> calfdx.Diagnosis:
    return calfdx.diagnose(side="unilateral", swelling="yes", recent_immobilization="yes")


def test_result_is_frozen(result: calfdx.Diagnosis) -> None:
    """Check a Diagnosis cannot be changed."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.dvt_alert = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.posterior["dvt"] = 0.0  # type: ignore[index]


def test_result_describes_itself(result: calfdx.Diagnosis, model: calfdx.Model) -> None:
    """Check the result carries threshold, findings used and unobserved, hash and version."""
    assert result.dvt_threshold == calfdx.DEFAULT_DVT_THRESHOLD == 0.02
    assert dict(result.findings) == {
        "side": "unilateral",
        "swelling": "yes",
        "recent_immobilization": "yes",
    }
    assert len(result.unobserved) == len(model.vocabulary) - 3
    assert result.tables_hash == model.content_hash
    assert len(result.tables_hash) == 64
    assert result.calfdx_version == calfdx.__version__
    assert isinstance(result.dvt_alert, bool)


def test_to_dict_is_json_and_unrounded(result: calfdx.Diagnosis) -> None:
    """Check to_dict round-trips through JSON with raw numbers."""
    data = json.loads(json.dumps(result.to_dict()))
    assert data["posterior"] == dict(result.posterior)
    assert list(data["posterior"]) == list(result.posterior)
    assert data["dvt_probability"] == result.dvt_probability
    assert data["dvt_alert"] is result.dvt_alert
    assert data["differential"][0]["cause"] == result.top_cause
    assert data["disclaimer"] == calfdx.DISCLAIMER
    assert "supports clinical decisions" in data["alert_message"]


def test_to_frame(result: calfdx.Diagnosis) -> None:
    """Check to_frame is ranked, indexed by cause and unrounded."""
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert frame.index.name == "cause"
    assert list(frame.index) == list(result.posterior)
    assert frame["probability"].tolist() == list(result.posterior.values())
    assert frame.loc["dvt", "label"] == "Deep vein thrombosis"


def test_top(result: calfdx.Diagnosis) -> None:
    """Check top(k) returns the k most probable causes."""
    assert result.top(2) == list(result.posterior.items())[:2]
    assert len(result.top(100)) == 23
    with pytest.raises(calfdx.InvalidOptionError, match="k must be a positive integer"):
        result.top(0)


def test_text_views(result: calfdx.Diagnosis) -> None:
    """Check repr, str and HTML say the top cause, the alert and the disclaimer."""
    assert repr(result).startswith(f"<Diagnosis top={result.top_cause!r} p=")
    assert "dvt_alert=True" in repr(result)
    text = str(result)
    assert "Deep vein thrombosis" in text
    assert "DVT ALERT" in text
    assert calfdx.DISCLAIMER in text
    assert "Findings: side=unilateral, swelling=yes, recent_immobilization=yes" in text
    page = result._repr_html_()
    assert "<table>" in page
    assert "DVT ALERT" in page
    assert "does not make them" in page


def test_no_alert_message_still_carries_the_disclaimer() -> None:
    """Check that a result without an alert says so plainly, with the disclaimer."""
    quiet = calfdx.diagnose(swelling="yes", dvt_threshold=1.0)
    assert quiet.dvt_alert is False
    assert quiet.alert_message.startswith("No DVT alert")
    assert calfdx.DISCLAIMER in quiet.alert_message


def test_threshold_per_call_and_per_model(model: calfdx.Model) -> None:
    """Check the threshold can be set per call and per model, and the alert follows it."""
    base = model.diagnose(swelling="yes")
    p = base.dvt_probability
    assert model.diagnose(swelling="yes", dvt_threshold=p).dvt_alert is True
    assert model.diagnose(swelling="yes", dvt_threshold=min(1.0, p * 1.01)).dvt_alert is False
    strict = model.with_dvt_threshold(0.9)
    assert strict.dvt_threshold == 0.9
    assert strict.diagnose(swelling="yes").dvt_alert is False
    assert model.dvt_threshold == 0.02
    assert calfdx.load_model(dvt_threshold=0.9).diagnose(swelling="yes").dvt_threshold == 0.9


def test_findings_vocabulary_is_json_friendly() -> None:
    """Check the vocabulary can be serialised for form builders."""
    vocabulary = calfdx.vocabulary()
    data = json.loads(json.dumps([f.to_dict() for f in vocabulary.values()]))
    assert data[0]["id"] == "age"
    assert all(item["question"] for item in data)


def test_diagnose_builds_the_same_result_as_the_constructor(model: calfdx.Model) -> None:
    """Check the fast builder behind diagnose sets every field as ``Diagnosis(...)`` does."""
    fast = model.diagnose(swelling="yes", side="unilateral", age="65_plus")
    fields = dataclasses.fields(calfdx.Diagnosis)
    built = calfdx.Diagnosis(**{f.name: getattr(fast, f.name) for f in fields if f.init})
    for spec in fields:
        assert getattr(fast, spec.name) == getattr(built, spec.name), spec.name
        assert type(getattr(fast, spec.name)) is type(getattr(built, spec.name)), spec.name
    assert fast == built
    assert fast._cache == {}
    assert fast._cache is not model.diagnose(swelling="yes")._cache
    assert json.dumps(fast.to_dict()) == json.dumps(built.to_dict())
