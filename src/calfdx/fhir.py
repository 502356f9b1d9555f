"""FHIR in and out: a Questionnaire of the vocabulary, findings from answers, a RiskAssessment.

Needs ``fhir.resources`` (``pip install "calfdx[fhir]"``); every resource is built with its
model classes, so it is validated as it is made. This module is not imported by
``import calfdx``: import it as ``import calfdx.fhir``.

**FHIR version: R5 (5.0.0).** ``fhir.resources`` 8 generates its default (top-level)
classes from R5 and keeps R4B and STU3 in sub-packages; R5 is the version it tests and
documents first, and the one whose RiskAssessment, Questionnaire and Observation calfdx
uses unchanged. Clients on R4 read these resources with the usual R4/R5 differences
(R5's ``Questionnaire.item.answerConstraint`` is new; the rest used here exists in R4).

**Codes.** Findings, states and causes are coded in calfdx's own code systems
(:data:`FINDING_SYSTEM`, :data:`STATE_SYSTEM`, :data:`CAUSE_SYSTEM`; the code is the id in
the tables). Where the tables carry standard codes (SNOMED CT, LOINC, ICD-10 columns of
``causes.csv`` and ``findings.csv``), those codings are added beside calfdx's, and
:func:`findings_from` understands either.

**The DVT alert and the triage level in a RiskAssessment** are carried twice:

* for software, as extensions on the RiskAssessment (:data:`DVT_ALERT_EXTENSION`, a
  ``valueBoolean``; :data:`DVT_THRESHOLD_EXTENSION`, a ``valueDecimal``;
  :data:`TRIAGE_EXTENSION`, a ``valueCodeableConcept`` coded in :data:`TRIAGE_SYSTEM` with
  the level: ``emergency``, ``same_day``, ``routine`` or ``self_care``), and the DVT
  prediction's ``probabilityDecimal``;
* for people, in ``mitigation`` (the alert sentence and the triage advice) and ``note``
  (the decision-support disclaimer).

FHIR has no core element for "this risk crosses an action threshold", hence extensions: a
client that does not know them still reads every probability and the text.

Examples
--------
>>> import calfdx, calfdx.fhir
>>> form = calfdx.fhir.questionnaire()
>>> form.item[0].linkId, form.item[0].answerOption[0].valueCoding.code
('age', 'under_18')
>>> answers = calfdx.fhir.questionnaire_response({"swelling": "yes", "side": "unilateral"})
>>> calfdx.fhir.findings_from(answers)
{'side': 'unilateral', 'swelling': 'yes'}
>>> risk = calfdx.diagnose(calfdx.fhir.findings_from(answers)).to_fhir()
>>> risk.prediction[0].outcome.coding[0].code, risk.extension[0].valueBoolean
('muscle_strain', True)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

try:
    from fhir.resources.bundle import Bundle
    from fhir.resources.observation import Observation
    from fhir.resources.questionnaire import Questionnaire
    from fhir.resources.questionnaireresponse import QuestionnaireResponse
    from pydantic import ValidationError
except ImportError as error:  # pragma: no cover - depends on the environment
    msg = 'calfdx.fhir needs fhir.resources: pip install "calfdx[fhir]".'
    raise ImportError(msg) from error

from ._api import resolve_model
from ._core import DISCLAIMER
from ._evidence import FindingValue, normalize_evidence
from ._exceptions import (
    DuplicateFindingError,
    EvidenceError,
    UnknownFindingError,
    UnknownStateError,
)
from ._fhir import (
    _SKIPPED_STATUSES,
    _UNKNOWN,
    CAUSE_SYSTEM,
    DVT_ALERT_EXTENSION,
    DVT_THRESHOLD_EXTENSION,
    FINDING_SYSTEM,
    ICD_10,
    LOINC,
    QUESTIONNAIRE_URL,
    SNOMED_CT,
    STATE_SYSTEM,
    TRIAGE_EXTENSION,
    TRIAGE_SYSTEM,
    _fhir_id,
    _finding_codings,
    _observation,
    _questionnaire_version,
    _reference,
    _state_codings,
    risk_assessment,
)
from ._model import Model
from ._version import __version__

if TYPE_CHECKING:
    from ._schema import Finding

__all__ = [
    "CAUSE_SYSTEM",
    "DVT_ALERT_EXTENSION",
    "DVT_THRESHOLD_EXTENSION",
    "FINDING_SYSTEM",
    "ICD_10",
    "LOINC",
    "QUESTIONNAIRE_URL",
    "SNOMED_CT",
    "STATE_SYSTEM",
    "TRIAGE_EXTENSION",
    "TRIAGE_SYSTEM",
    "findings_from",
    "observations",
    "questionnaire",
    "questionnaire_response",
    "risk_assessment",
]


# ---------------------------------------------------------------------------- out
def questionnaire(model: Model | None = None) -> Questionnaire:
    """Return a FHIR R5 ``Questionnaire`` of the vocabulary, for a form builder to render.

    One item per finding, in table order: ``linkId`` is the finding id, ``text`` its
    question, ``code`` its codings, and one ``answerOption`` per state (a ``valueCoding``
    in :data:`STATE_SYSTEM`, plus standard codes where the tables have them). No item is
    required: an unanswered question is an unknown finding.

    Parameters
    ----------
    model : Model, optional
        Default: the tables shipped with calfdx.

    Returns
    -------
    fhir.resources.questionnaire.Questionnaire
        Its ``version`` is the first 12 characters of the tables' hash.

    Examples
    --------
    >>> import calfdx.fhir
    >>> form = calfdx.fhir.questionnaire()
    >>> onset = form.item[1]
    >>> len(form.item), onset.linkId, [o.valueCoding.code for o in onset.answerOption]
    (38, 'onset', ['sudden', 'gradual'])
    >>> onset.text
    'Did the pain start suddenly (within seconds to minutes) or come on gradually ...'
    """
    model = resolve_model(model)
    items = [
        {
            "linkId": finding.id,
            "code": _finding_codings(finding),
            "text": finding.question,
            "type": "coding",
            "required": False,
            "repeats": False,
            "answerConstraint": "optionsOnly",
            "answerOption": [
                {"valueCoding": _state_codings(finding, state)[0]} for state in finding.states
            ],
        }
        for finding in model.vocabulary.values()
    ]
    return Questionnaire.model_validate(
        {
            "id": "calfdx-calf-pain",
            "url": QUESTIONNAIRE_URL,
            "version": _questionnaire_version(model),
            "name": "CalfdxCalfPain",
            "title": "calfdx: history and examination of calf pain",
            "status": "active",
            "subjectType": ["Patient"],
            "publisher": "calfdx",
            "description": (
                f"The findings calfdx {__version__} uses (tables sha256:{model.content_hash}). "
                f"Leave a question unanswered when unknown. {DISCLAIMER}"
            ),
            "item": items,
        }
    )


def _hard_findings(model: Model, findings: Mapping[str, FindingValue]) -> dict[str, str]:
    checked = normalize_evidence(model.vocabulary, findings, {})
    if checked.soft:
        msg = (
            f"Soft evidence ({', '.join(checked.soft)}) has no FHIR answer: give a state, "
            "or leave the finding out."
        )
        raise EvidenceError(msg)
    return dict(checked.hard)


def questionnaire_response(
    findings: Mapping[str, FindingValue],
    *,
    model: Model | None = None,
    subject: str | Mapping[str, Any] | None = None,
) -> QuestionnaireResponse:
    """Return a completed FHIR R5 ``QuestionnaireResponse`` to :func:`questionnaire`.

    Parameters
    ----------
    findings : Mapping[str, str | bool | None]
        Finding id → state, as for :func:`calfdx.diagnose`; unknown findings get no item.
    model : Model, optional
        Default: the tables shipped with calfdx.
    subject : str or Mapping, optional
        A reference (``"Patient/123"``) or a Reference as a dict; default: a display-only
        reference to an unidentified patient.

    Returns
    -------
    fhir.resources.questionnaireresponse.QuestionnaireResponse

    Raises
    ------
    EvidenceError
        Unknown findings or states (subclasses say which), or soft evidence.

    Examples
    --------
    >>> import calfdx.fhir
    >>> answers = calfdx.fhir.questionnaire_response({"swelling": True}, subject="Patient/7")
    >>> answers.item[0].answer[0].valueCoding.code, answers.subject.reference
    ('yes', 'Patient/7')
    """
    model = resolve_model(model)
    hard = _hard_findings(model, findings)
    items = [
        {
            "linkId": name,
            "text": model.vocabulary[name].question,
            "answer": [{"valueCoding": _state_codings(model.vocabulary[name], state)[0]}],
        }
        for name, state in hard.items()
    ]
    return QuestionnaireResponse.model_validate(
        {
            "questionnaire": f"{QUESTIONNAIRE_URL}|{_questionnaire_version(model)}",
            "status": "completed",
            "subject": _reference(subject),
            "item": items or None,
        }
    )


def observations(
    findings: Mapping[str, FindingValue],
    *,
    model: Model | None = None,
    subject: str | Mapping[str, Any] | None = None,
) -> Bundle:
    """Return a FHIR R5 ``Bundle`` (type ``collection``) of one ``Observation`` per finding.

    Each Observation's ``code`` is the finding's codings and its ``valueCodeableConcept``
    the state's; unknown findings get none.

    Parameters
    ----------
    findings : Mapping[str, str | bool | None]
        Finding id → state, as for :func:`calfdx.diagnose`.
    model : Model, optional
        Default: the tables shipped with calfdx.
    subject : str or Mapping, optional
        A reference for every Observation; default: a display-only reference.

    Returns
    -------
    fhir.resources.bundle.Bundle

    Examples
    --------
    >>> import calfdx.fhir
    >>> bundle = calfdx.fhir.observations({"onset": "sudden", "pop_sensation": "yes"})
    >>> [e.resource.code.coding[0].code for e in bundle.entry]
    ['onset', 'pop_sensation']
    >>> calfdx.fhir.findings_from(bundle)
    {'onset': 'sudden', 'pop_sensation': 'yes'}
    """
    model = resolve_model(model)
    hard = _hard_findings(model, findings)
    reference = _reference(subject)
    entries = [
        {"resource": _observation(model, name, state, reference, f"calfdx-{_fhir_id(name)}")}
        for name, state in hard.items()
    ]
    return Bundle.model_validate({"type": "collection", "entry": entries or None})


# ---------------------------------------------------------------------------- in
def _as_resource(resource: object) -> Any:
    """Return a fhir.resources object from an object or a JSON dictionary."""
    if isinstance(resource, QuestionnaireResponse | Bundle | Observation):
        return resource
    if isinstance(resource, Mapping):
        kinds: dict[str, Any] = {
            "QuestionnaireResponse": QuestionnaireResponse,
            "Bundle": Bundle,
            "Observation": Observation,
        }
        kind = resource.get("resourceType")
        if kind in kinds:
            try:
                return kinds[kind].model_validate(dict(resource))
            except ValidationError as error:
                msg = f"Not a valid FHIR R5 {kind}: {error}"
                raise EvidenceError(msg) from error
    kind = resource.get("resourceType") if isinstance(resource, Mapping) else type(resource)
    msg = (
        "findings_from takes a QuestionnaireResponse, a Bundle of Observations or an "
        f"Observation (a fhir.resources object or its JSON as a dict). Got {kind!r} instead."
    )
    raise EvidenceError(msg)


def _coding_key(coding: Any) -> tuple[str | None, str | None]:
    return (coding.system, coding.code)


def _shown(coding: Any) -> str:
    return f"{coding.code!r} (system {coding.system!r})"


def _finding_index(model: Model) -> dict[tuple[str | None, str | None], str]:
    index: dict[tuple[str | None, str | None], str] = {}
    for finding in model.vocabulary.values():
        for coding in _finding_codings(finding):
            index.setdefault((coding["system"], coding["code"]), finding.id)
    return index


def _state_of(finding: Finding, codings: list[Any], where: str) -> str | None:
    """Return the state coded by ``codings`` (None for unknown); raise if none is."""
    index: dict[tuple[str | None, str | None], str] = {
        (coding["system"], coding["code"]): state
        for state in finding.states
        for coding in _state_codings(finding, state)
    }
    for coding in codings:
        if coding.system == STATE_SYSTEM and coding.code == _UNKNOWN:
            return None
        state = index.get(_coding_key(coding))
        if state is not None:
            return state
    shown = ", ".join(_shown(c) for c in codings) or "no coding"
    msg = (
        f"{where}: the answer {shown} is not a state of {finding.id!r}. Allowed: "
        f"{', '.join(finding.states)} (system {STATE_SYSTEM!r})."
    )
    raise UnknownStateError(msg)


def _answer_state(finding: Finding, value: Any, where: str) -> str | None:
    if value.valueCoding is not None:
        return _state_of(finding, [value.valueCoding], where)
    if value.valueBoolean is not None and finding.is_yes_no:
        return "yes" if value.valueBoolean else "no"
    given = {
        key: item
        for key, item in value.model_dump(exclude_none=True).items()
        if key.startswith("value")
    }
    msg = (
        f"{where}: the answer {given or 'without a value'} is not a state of {finding.id!r}: "
        f"give a valueCoding in {STATE_SYSTEM!r} ({', '.join(finding.states)})"
        + (" or a valueBoolean." if finding.is_yes_no else ".")
    )
    raise UnknownStateError(msg)


def _unknown_finding(model: Model, what: str, name: str) -> UnknownFindingError:
    close = difflib.get_close_matches(name, list(model.vocabulary), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    msg = f"Unknown finding {what}.{hint} Known findings: {', '.join(model.vocabulary)}."
    return UnknownFindingError(msg)


def _items(items: Iterable[Any] | None) -> Iterator[Any]:
    for item in items or ():
        yield item
        yield from _items(item.item)
        for answer in item.answer or ():
            yield from _items(answer.item)


def _add(out: dict[str, str], name: str, state: str | None, where: str) -> None:
    if state is None:
        return
    if name in out and out[name] != state:
        msg = f"{where}: {name!r} is given twice, as {out[name]!r} and {state!r}."
        raise DuplicateFindingError(msg)
    out[name] = state


def _from_response(model: Model, response: QuestionnaireResponse) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in _items(response.item):
        answers = item.answer or []
        if not answers:
            continue  # unanswered: unknown (or a group whose children are read)
        where = f"QuestionnaireResponse item {item.linkId!r}"
        if item.linkId not in model.vocabulary:
            raise _unknown_finding(
                model, f"{item.linkId!r} (the linkId of an answered item)", item.linkId
            )
        if len(answers) > 1:
            msg = f"{where}: {len(answers)} answers; a finding takes one."
            raise DuplicateFindingError(msg)
        finding = model.vocabulary[item.linkId]
        _add(out, finding.id, _answer_state(finding, answers[0], where), where)
    return out


def _from_observations(model: Model, resources: Iterable[Any]) -> dict[str, str]:
    index = _finding_index(model)
    out: dict[str, str] = {}
    for number, resource in enumerate(resources, start=1):
        if not isinstance(resource, Observation) or resource.status in _SKIPPED_STATUSES:
            continue
        codings = list(resource.code.coding or [])
        name = next((index[key] for c in codings if (key := _coding_key(c)) in index), None)
        where = f"Observation {resource.id or number!r}"
        if name is None:
            shown = ", ".join(_shown(c) for c in codings) or f"{resource.code.text!r}"
            raise _unknown_finding(
                model, f"code {shown} in {where}", str(codings[0].code if codings else "")
            )
        finding = model.vocabulary[name]
        if resource.valueCodeableConcept is not None:
            state = _state_of(finding, list(resource.valueCodeableConcept.coding or []), where)
        elif resource.valueBoolean is not None and finding.is_yes_no:
            state = "yes" if resource.valueBoolean else "no"
        else:
            given = {
                key: value
                for key, value in resource.model_dump(exclude_none=True).items()
                if key.startswith("value")
            }
            if given:
                msg = (
                    f"{where}: the value {given} is not a state of {finding.id!r}: give a "
                    f"valueCodeableConcept in {STATE_SYSTEM!r} ({', '.join(finding.states)})"
                    + (" or a valueBoolean." if finding.is_yes_no else ".")
                )
                raise UnknownStateError(msg)
            state = None  # no value (dataAbsentReason): unknown
        _add(out, name, state, where)
    return out


def findings_from(resource: object, *, model: Model | None = None) -> dict[str, str]:
    """Return the findings in a FHIR answer, ready for :func:`calfdx.diagnose`.

    Parameters
    ----------
    resource : QuestionnaireResponse, Bundle or Observation
        A ``QuestionnaireResponse`` to :func:`questionnaire` (answers matched by ``linkId``),
        or a ``Bundle`` of ``Observation`` resources (or one Observation) coded with the
        finding codes (matched by ``code``); a fhir.resources object or its JSON as a
        dict. Answers are a ``valueCoding`` (``valueCodeableConcept`` for an Observation)
        with a state's code, or a ``valueBoolean`` for yes/no findings.
    model : Model, optional
        Default: the tables shipped with calfdx.

    Returns
    -------
    dict of str to str
        Finding → state, in table order. Unanswered items, Observations without a value,
        the ``unknown`` state code, and cancelled or entered-in-error Observations are
        unknown findings and left out. Resources of other types in a Bundle are ignored.

    Raises
    ------
    UnknownFindingError
        An answered item whose linkId, or an Observation whose code, is not a finding.
    UnknownStateError
        An answer that is not one of the finding's states (names the code and system).
    DuplicateFindingError
        A finding answered twice with different states.
    EvidenceError
        Not a supported resource, or JSON that is not valid FHIR R5.

    Examples
    --------
    >>> import calfdx.fhir
    >>> response = {
    ...     "resourceType": "QuestionnaireResponse",
    ...     "questionnaire": calfdx.fhir.QUESTIONNAIRE_URL,
    ...     "status": "completed",
    ...     "item": [
    ...         {"linkId": "swelling", "answer": [{"valueBoolean": True}]},
    ...         {"linkId": "onset"},
    ...     ],
    ... }
    >>> calfdx.fhir.findings_from(response)
    {'swelling': 'yes'}
    """
    model = resolve_model(model)
    parsed = _as_resource(resource)
    if isinstance(parsed, QuestionnaireResponse):
        found = _from_response(model, parsed)
    elif isinstance(parsed, Bundle):
        found = _from_observations(model, (entry.resource for entry in parsed.entry or ()))
    else:
        found = _from_observations(model, [parsed])
    return {name: found[name] for name in model.vocabulary if name in found}
