"""FHIR R5 output of a diagnosis: the code systems, codings and the ``RiskAssessment``.

The low half of :mod:`calfdx.fhir` (which re-exports its public names): it builds resources
from a diagnosis and the model's tables, read through protocols, so
:meth:`calfdx.Diagnosis.to_fhir` reaches it without importing the façades.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

try:
    from fhir.resources.riskassessment import RiskAssessment
except ImportError as error:  # pragma: no cover - depends on the environment
    msg = 'calfdx.fhir needs fhir.resources: pip install "calfdx[fhir]".'
    raise ImportError(msg) from error

from ._core import DISCLAIMER, HasCompiled, Posterior
from ._schema import CODE_SYSTEMS

if TYPE_CHECKING:
    from ._schema import Finding
    from ._triage import Triage


class Assessed(Posterior, Protocol):
    """What a ``RiskAssessment`` reads of a diagnosis (a :class:`~calfdx.Diagnosis` is one)."""

    @property
    def model(self) -> HasCompiled: ...

    @property
    def alert_message(self) -> str: ...

    @property
    def triage(self) -> Triage | None: ...

    @property
    def calfdx_version(self) -> str: ...

    @property
    def setting(self) -> str: ...

    @property
    def tables_hash(self) -> str: ...


_BASE: Final = "https://calfdx.org/fhir"
#: Code system of the findings: the code is the finding id (``swelling``).
FINDING_SYSTEM: Final = f"{_BASE}/CodeSystem/finding"
#: Code system of the states of findings: the code is the state (``yes``, ``sudden``...).
STATE_SYSTEM: Final = f"{_BASE}/CodeSystem/finding-state"
#: Code system of the causes: the code is the cause id (``dvt``).
CAUSE_SYSTEM: Final = f"{_BASE}/CodeSystem/cause"
#: Code system of the triage levels (``emergency``, ``same_day``, ``routine``, ``self_care``).
TRIAGE_SYSTEM: Final = f"{_BASE}/CodeSystem/triage-level"
_METHOD_SYSTEM: Final = f"{_BASE}/CodeSystem/method"
_ASSESSMENT_SYSTEM: Final = f"{_BASE}/CodeSystem/assessment"
#: Canonical URL of the calf-pain Questionnaire.
QUESTIONNAIRE_URL: Final = f"{_BASE}/Questionnaire/calf-pain"
#: Extension (valueBoolean) on a RiskAssessment: whether the DVT alert fires.
DVT_ALERT_EXTENSION: Final = f"{_BASE}/StructureDefinition/dvt-alert"
#: Extension (valueDecimal) on a RiskAssessment: the DVT alert threshold used.
DVT_THRESHOLD_EXTENSION: Final = f"{_BASE}/StructureDefinition/dvt-alert-threshold"
#: Extension (valueCodeableConcept in :data:`TRIAGE_SYSTEM`) on a RiskAssessment.
TRIAGE_EXTENSION: Final = f"{_BASE}/StructureDefinition/triage-level"
# System URIs of external terminologies, as listed by HL7 Terminology (THO) "External Code
# Systems" (terminology.hl7.org/5.2.0/external_terminologies.html) and FHIR's
# terminologies-systems page.
#: SNOMED CT.
SNOMED_CT: Final = CODE_SYSTEMS["snomed_ct"]
#: LOINC.
LOINC: Final = CODE_SYSTEMS["loinc"]
#: ICD-10-CM (the ``icd10`` column of causes.csv holds ICD-10-CM codes).
ICD_10: Final = CODE_SYSTEMS["icd10"]

# Attributes (columns) of the tables that may hold standard codes, and their systems. A
# ``None`` system means "SNOMED CT when the code is all digits, LOINC otherwise".
_CODE_ATTRIBUTES: Final = (
    ("snomed_ct", SNOMED_CT),
    ("snomed", SNOMED_CT),
    ("loinc", LOINC),
    ("icd10", ICD_10),
    ("icd_10", ICD_10),
    ("code", None),
)
_STATE_CODE_ATTRIBUTES: Final = ("state_codes", "state_snomed_ct", "state_loinc")
_LOINC_CODE = re.compile(r"(LA|LP|LL)?\d+-\d")
_UNKNOWN: Final = "unknown"
_SKIPPED_STATUSES: Final = frozenset({"cancelled", "entered-in-error"})

Coding = dict[str, str]


# ---------------------------------------------------------------------------- codes
def _standard(code: str, system: str | None) -> Coding:
    if system is None:
        system = SNOMED_CT if code.isdigit() else LOINC
    return {"system": system, "code": code}


def _extra_codings(record: object) -> list[Coding]:
    """Return the standard codings a table row carries, if the tables have such columns."""
    codings: list[Coding] = []
    for attribute, system in _CODE_ATTRIBUTES:
        value = getattr(record, attribute, None)
        if isinstance(value, str) and value.strip():
            for code in value.split("|"):
                if code.strip():
                    codings.append(_standard(code.strip(), system))
    return codings


def _state_extra_codings(finding: Finding, state: str) -> list[Coding]:
    codings: list[Coding] = []
    for attribute in _STATE_CODE_ATTRIBUTES:
        table = getattr(finding, attribute, None)
        if isinstance(table, Mapping):
            value = table.get(state)
            if isinstance(value, str) and value.strip():
                system = LOINC if _LOINC_CODE.fullmatch(value.strip()) else SNOMED_CT
                codings.append({"system": system, "code": value.strip()})
    return codings


def _fhir_id(name: str) -> str:
    """Return ``name`` as a FHIR id (letters, digits, '-' and '.')."""
    return name.replace("_", "-")


def _display(state: str) -> str:
    return state.replace("_", " ")


def _finding_codings(finding: Finding) -> list[Coding]:
    own = {"system": FINDING_SYSTEM, "code": finding.id, "display": _display(finding.id)}
    return [own, *_extra_codings(finding)]


def _state_codings(finding: Finding, state: str) -> list[Coding]:
    own = {"system": STATE_SYSTEM, "code": state, "display": _display(state)}
    return [own, *_state_extra_codings(finding, state)]


def _cause_codings(model: HasCompiled, cause: str) -> list[Coding]:
    record = next(c for c in model.causes if c.id == cause)
    own = {"system": CAUSE_SYSTEM, "code": cause, "display": record.label}
    return [own, *_extra_codings(record)]


def _questionnaire_version(model: HasCompiled) -> str:
    return model.content_hash[:12]


def _reference(subject: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if subject is None:
        return {"display": "patient (not identified)"}
    if isinstance(subject, str):
        return {"reference": subject}
    return dict(subject)


def _observation(
    model: HasCompiled,
    name: str,
    state: str,
    subject: dict[str, Any] | None,
    id_: str | None = None,
) -> dict[str, Any]:
    finding = model.vocabulary[name]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": _finding_codings(finding), "text": finding.question},
        "valueCodeableConcept": {
            "coding": _state_codings(finding, state),
            "text": _display(state),
        },
    }
    if id_ is not None:
        resource["id"] = id_
    if subject is not None:
        resource["subject"] = subject
    return resource


def risk_assessment(
    result: Assessed,
    *,
    subject: str | Mapping[str, Any] | None = None,
    basis: Iterable[str] | None = None,
) -> RiskAssessment:
    """Return a FHIR R5 ``RiskAssessment`` of a diagnosis; see :meth:`Diagnosis.to_fhir`."""
    model = result.model
    reference = _reference(subject)
    contained: list[dict[str, Any]] = []
    if basis is None:
        # The inputs travel with the result: one contained Observation per finding used.
        for name, state in result.findings.items():
            contained.append(_observation(model, name, state, None, f"finding-{_fhir_id(name)}"))
        references = [{"reference": f"#{resource['id']}"} for resource in contained]
    else:
        references = [{"reference": str(item)} for item in basis]
    predictions = []
    for cause, probability in result.posterior.items():
        prediction: dict[str, Any] = {
            "outcome": {"coding": _cause_codings(model, cause), "text": result.labels[cause]},
            "probabilityDecimal": probability,
        }
        if cause == "dvt":
            prediction["rationale"] = result.alert_message
        predictions.append(prediction)
    extensions: list[dict[str, Any]] = [
        {"url": DVT_ALERT_EXTENSION, "valueBoolean": result.dvt_alert},
        {"url": DVT_THRESHOLD_EXTENSION, "valueDecimal": result.dvt_threshold},
    ]
    mitigation = result.alert_message
    triage = result.triage
    if triage is not None:
        extensions.append(
            {
                "url": TRIAGE_EXTENSION,
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": TRIAGE_SYSTEM,
                            "code": triage.level,
                            "display": _display(triage.level),
                        }
                    ],
                    "text": str(triage),
                },
            }
        )
        mitigation = f"{mitigation} {triage}"
    return RiskAssessment.model_validate(
        {
            "contained": contained or None,
            "extension": extensions,
            "status": "final",
            "code": {
                "coding": [
                    {
                        "system": _ASSESSMENT_SYSTEM,
                        "code": "calf-pain-differential",
                        "display": "Differential diagnosis of calf pain",
                    }
                ],
                "text": "Differential diagnosis of calf pain, with a DVT alert",
            },
            "subject": reference,
            "method": {
                "coding": [
                    {
                        "system": _METHOD_SYSTEM,
                        "version": result.calfdx_version,
                        "code": "calfdx",
                        "display": f"calfdx {result.calfdx_version}",
                    }
                ],
                "text": (
                    f"calfdx {result.calfdx_version} Bayesian network (setting "
                    f"{result.setting}; tables sha256:{result.tables_hash})"
                ),
            },
            "basis": references or None,
            "prediction": predictions,
            "mitigation": mitigation,
            "note": [{"text": DISCLAIMER}],
        }
    )
