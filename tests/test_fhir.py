"""calfdx.fhir: resources that validate, findings that round-trip, and bad codes that raise."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.questionnaire import Questionnaire
from fhir.resources.questionnaireresponse import QuestionnaireResponse
from fhir.resources.riskassessment import RiskAssessment
from hypothesis import given, settings

import calfdx
import calfdx._fhir as _fhir
import calfdx.fhir as fhir

from .strategies import evidence

MODEL = calfdx.load_model()
VOCABULARY = {name: finding.states for name, finding in MODEL.vocabulary.items()}

T = TypeVar("T")


def present(value: T | None) -> T:
    """``value``, which the FHIR model types as optional, after checking it is there."""
    assert value is not None
    return value


def _revalidated(resource: Any) -> Any:
    """Serialise to JSON and parse back with fhir.resources: the resource validates."""
    again = type(resource).model_validate_json(resource.model_dump_json())
    assert again.model_dump() == resource.model_dump()
    return again


def test_questionnaire_has_one_item_per_finding() -> None:
    form = _revalidated(fhir.questionnaire())
    assert isinstance(form, Questionnaire)
    assert form.url == fhir.QUESTIONNAIRE_URL
    assert form.version == MODEL.content_hash[:12]
    items = present(form.item)
    assert [item.linkId for item in items] == list(MODEL.vocabulary)
    for item, finding in zip(items, MODEL.vocabulary.values(), strict=True):
        assert item.text == finding.question
        assert item.type == "coding"
        assert not item.required
        code = present(item.code)[0]
        assert (code.system, code.code) == (fhir.FINDING_SYSTEM, finding.id)
        options = [present(option.valueCoding) for option in present(item.answerOption)]
        assert [(o.system, o.code) for o in options] == [
            (fhir.STATE_SYSTEM, state) for state in finding.states
        ]


@settings(max_examples=60, deadline=None)
@given(findings=evidence(VOCABULARY))
def test_round_trip_through_a_questionnaire_response(findings: dict[str, str]) -> None:
    """Findings -> QuestionnaireResponse (JSON) -> findings -> diagnose: the same posterior."""
    response = _revalidated(fhir.questionnaire_response(findings, subject="Patient/1"))
    assert isinstance(response, QuestionnaireResponse)
    data = json.loads(response.model_dump_json())
    back = fhir.findings_from(data)
    assert back == {name: findings[name] for name in MODEL.vocabulary if name in findings}
    assert calfdx.diagnose(back).posterior == calfdx.diagnose(findings).posterior


@settings(max_examples=30, deadline=None)
@given(findings=evidence(VOCABULARY))
def test_round_trip_through_observations(findings: dict[str, str]) -> None:
    bundle = _revalidated(fhir.observations(findings, subject={"reference": "Patient/1"}))
    assert isinstance(bundle, Bundle)
    back = fhir.findings_from(bundle)
    assert calfdx.diagnose(back).posterior == calfdx.diagnose(findings).posterior


@pytest.mark.parametrize(
    "findings",
    [
        {},
        {"swelling": "yes", "side": "unilateral"},
        {"trauma": "yes", "pain_on_passive_stretch": "yes"},
        {"onset": "sudden", "pop_sensation": "yes", "thompson_test": "positive"},
    ],
)
def test_risk_assessment(findings: dict[str, str]) -> None:
    result = calfdx.diagnose(findings)
    risk = _revalidated(result.to_fhir())
    assert isinstance(risk, RiskAssessment)
    assert risk.status == "final"
    predictions = present(risk.prediction)
    codings = [present(present(p.outcome).coding)[0] for p in predictions]
    outcomes = [(c.system, c.code) for c in codings]
    assert outcomes == [(fhir.CAUSE_SYSTEM, cause) for cause in result.posterior]
    probabilities = [float(present(p.probabilityDecimal)) for p in predictions]
    assert probabilities == pytest.approx(list(result.posterior.values()), abs=1e-15)
    extensions = {e.url: e for e in present(risk.extension)}
    assert extensions[fhir.DVT_ALERT_EXTENSION].valueBoolean is result.dvt_alert
    threshold = present(extensions[fhir.DVT_THRESHOLD_EXTENSION].valueDecimal)
    assert float(threshold) == result.dvt_threshold
    concept = present(extensions[fhir.TRIAGE_EXTENSION].valueCodeableConcept)
    triage = present(concept.coding)[0]
    assert result.triage is not None
    assert (triage.system, triage.code) == (fhir.TRIAGE_SYSTEM, result.triage.level)
    assert result.alert_message in present(risk.mitigation)
    assert present(risk.note)[0].text == calfdx.DISCLAIMER
    method = present(risk.method)
    assert present(method.coding)[0].code == "calfdx"
    assert present(method.coding)[0].version == calfdx.__version__
    assert result.tables_hash in present(method.text)
    # basis references one contained Observation per finding, which reads back as the input.
    contained = {resource.id: resource for resource in risk.contained or []}
    assert [ref.reference for ref in risk.basis or []] == [f"#{key}" for key in contained]
    inputs = Bundle.model_validate(
        {"type": "collection", "entry": [{"resource": r} for r in contained.values()] or None}
    )
    assert fhir.findings_from(inputs) == dict(result.findings)


def test_risk_assessment_with_references() -> None:
    result = calfdx.diagnose(swelling="yes")
    risk = _revalidated(
        result.to_fhir(subject="Patient/42", basis=["QuestionnaireResponse/7", "Observation/8"])
    )
    assert risk.subject.reference == "Patient/42"
    assert [ref.reference for ref in risk.basis] == [
        "QuestionnaireResponse/7",
        "Observation/8",
    ]
    assert risk.contained is None
    default = result.to_fhir()
    assert default.subject.display
    assert default.subject.reference is None


def _response(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": fhir.QUESTIONNAIRE_URL,
        "status": "completed",
        "item": list(items),
    }


def _coding(code: str, system: str = fhir.STATE_SYSTEM) -> dict[str, Any]:
    return {"valueCoding": {"system": system, "code": code}}


def _observation(code: str, value: dict[str, Any], **extra: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": fhir.FINDING_SYSTEM, "code": code}]},
        **value,
        **extra,
    }
    return resource


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def test_unanswered_means_unknown() -> None:
    response = _response(
        {"linkId": "swelling", "answer": [_coding("yes")]},
        {"linkId": "onset"},
        {"linkId": "side", "answer": [_coding("unknown")]},
        {"linkId": "group", "item": [{"linkId": "fever", "answer": [{"valueBoolean": False}]}]},
    )
    assert fhir.findings_from(response) == {"swelling": "yes", "fever": "no"}
    bundle = _bundle(
        _observation("swelling", {"valueBoolean": True}),
        _observation("onset", {"dataAbsentReason": {"text": "asked, unknown"}}),
        _observation("side", {"valueBoolean": True}, status="entered-in-error"),
        {"resourceType": "Patient", "id": "p1"},
    )
    assert fhir.findings_from(bundle) == {"swelling": "yes"}
    single = _observation(
        "exertion", {"valueCodeableConcept": {"coding": [_coding("after")["valueCoding"]]}}
    )
    assert fhir.findings_from(single) == {"exertion": "after"}


@pytest.mark.parametrize(
    ("resource", "error", "match"),
    [
        (
            _response({"linkId": "sweling", "answer": [_coding("yes")]}),
            calfdx.UnknownFindingError,
            "'sweling'.*Did you mean 'swelling'",
        ),
        (
            _response({"linkId": "swelling", "answer": [_coding("maybe")]}),
            calfdx.UnknownStateError,
            "'maybe'.*Allowed: yes, no",
        ),
        (
            _response(
                {"linkId": "onset", "answer": [_coding("sudden", "http://example.org/other")]}
            ),
            calfdx.UnknownStateError,
            "'sudden' \\(system 'http://example.org/other'\\)",
        ),
        (
            _response({"linkId": "onset", "answer": [{"valueBoolean": True}]}),
            calfdx.UnknownStateError,
            "valueBoolean.*not a state of 'onset'",
        ),
        (
            _response({"linkId": "swelling", "answer": [{"valueString": "yes"}]}),
            calfdx.UnknownStateError,
            "valueString",
        ),
        (
            _response({"linkId": "swelling", "answer": [_coding("yes"), _coding("no")]}),
            calfdx.DuplicateFindingError,
            "2 answers",
        ),
        (
            _bundle(_observation("ankle_swelling", {"valueBoolean": True})),
            calfdx.UnknownFindingError,
            "'ankle_swelling'",
        ),
        (
            _bundle(
                _observation("swelling", {"valueBoolean": True}),
                _observation("swelling", {"valueBoolean": False}),
            ),
            calfdx.DuplicateFindingError,
            "'swelling' is given twice",
        ),
        (
            _bundle(_observation("swelling", {"valueQuantity": {"value": 2}})),
            calfdx.UnknownStateError,
            "valueQuantity",
        ),
        (
            _bundle(
                _observation(
                    "side",
                    {
                        "valueCodeableConcept": {
                            "coding": [{"system": fhir.STATE_SYSTEM, "code": "left"}]
                        }
                    },
                )
            ),
            calfdx.UnknownStateError,
            "'left'.*unilateral, bilateral",
        ),
        ({"resourceType": "Patient"}, calfdx.EvidenceError, "'Patient'"),
        (
            {"resourceType": "QuestionnaireResponse", "status": "done"},
            calfdx.EvidenceError,
            "Not a valid FHIR R5 QuestionnaireResponse",
        ),
        ("swelling=yes", calfdx.EvidenceError, "Got <class 'str'>"),
    ],
)
def test_bad_codes_raise_and_name_the_code(
    resource: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        fhir.findings_from(resource)


def test_errors_are_calfdx_errors() -> None:
    with pytest.raises(calfdx.CalfdxError):
        fhir.findings_from(_response({"linkId": "swelling", "answer": [_coding("maybe")]}))
    with pytest.raises(calfdx.UnknownStateError):
        fhir.questionnaire_response({"swelling": "maybe"})
    with pytest.raises(calfdx.EvidenceError, match="Soft evidence"):
        fhir.observations({"swelling": 0.7})


def test_standard_codes_light_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the tables carry standard codes, they are written and read beside calfdx's.

    The codes here are placeholders to exercise the plumbing, not real concept ids.
    """

    def extra(record: object) -> list[dict[str, str]]:
        key = getattr(record, "id", "")
        return [{"system": fhir.SNOMED_CT, "code": f"9{len(key)}{ord(key[0])}"}]

    def state_extra(finding: Any, state: str) -> list[dict[str, str]]:
        return [{"system": fhir.LOINC, "code": f"LA{len(state)}{ord(state[0])}-0"}]

    monkeypatch.setattr(_fhir, "_extra_codings", extra)
    monkeypatch.setattr(_fhir, "_state_extra_codings", state_extra)
    form = fhir.questionnaire()
    assert present(present(form.item)[0].code)[1].system == fhir.SNOMED_CT
    risk = calfdx.diagnose(swelling="yes").to_fhir()
    outcome = present(present(risk.prediction)[0].outcome)
    assert {c.system for c in present(outcome.coding)} == {
        fhir.CAUSE_SYSTEM,
        fhir.SNOMED_CT,
    }
    swelling, yes = extra(MODEL.vocabulary["swelling"])[0], state_extra(None, "yes")[0]
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [swelling]},
        "valueCodeableConcept": {"coding": [yes]},
    }
    assert fhir.findings_from(observation) == {"swelling": "yes"}


def test_extra_codings_read_table_columns() -> None:
    """The optional code columns become codings with the right systems."""
    from types import SimpleNamespace

    record = SimpleNamespace(snomed_ct="1000001", icd10="X00.0", loinc="", code=None)
    assert _fhir._extra_codings(record) == [
        {"system": fhir.SNOMED_CT, "code": "1000001"},
        {"system": fhir.ICD_10, "code": "X00.0"},
    ]
    # The shipped tables code DVT in ICD-10-CM (causes.csv), and the coding says so.
    assert _fhir._extra_codings(MODEL.causes[0]) == [{"system": fhir.ICD_10, "code": "I82.40"}]
    assert fhir.ICD_10 == "http://hl7.org/fhir/sid/icd-10-cm"
