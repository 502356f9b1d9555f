"""Schema of the frozen development set validation/cases.json (not the model's accuracy)."""

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES_FILE = ROOT / "validation" / "cases.json"
SETTINGS = {
    "primary_care",
    "emergency_department",
    "sports_clinic",
    "post_operative",
    "suspected_dvt",
}
CASE_KEYS = {
    "id",
    "url",
    "title",
    "year",
    "setting",
    "setting_reason",
    "findings",
    "final_diagnosis",
    "final_cause",
    "atypical",
    "quote",
    "tests",
    "notes",
}


def _document() -> dict[str, Any]:
    with CASES_FILE.open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


def _cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = _document()["cases"]
    return cases


def _vocabulary() -> dict[str, set[str]]:
    with (ROOT / "priors" / "findings.csv").open(encoding="utf-8") as handle:
        return {row["finding"]: set(row["states"].split("|")) for row in csv.DictReader(handle)}


def _cause_ids() -> set[str]:
    with (ROOT / "priors" / "causes.csv").open(encoding="utf-8") as handle:
        return {row["cause"] for row in csv.DictReader(handle)}


def test_header() -> None:
    document = _document()
    assert document["version"] == 1
    assert document["frozen"]
    assert document["description"]


def test_size_and_dvt_count() -> None:
    causes = Counter(case["final_cause"] for case in _cases())
    assert sum(causes.values()) >= 50
    assert causes["dvt"] >= 12


def test_ids_unique_and_urls_present() -> None:
    cases = _cases()
    ids = [case["id"] for case in cases]
    assert len(ids) == len(set(ids))
    assert all(isinstance(case["url"], str) and case["url"].strip() for case in cases)


@pytest.mark.parametrize("case", _cases(), ids=lambda case: case["id"])
def test_case_schema(case: dict[str, Any]) -> None:
    assert set(case) == CASE_KEYS
    assert case["setting"] in SETTINGS
    assert case["final_cause"] in _cause_ids()
    assert isinstance(case["atypical"], bool)
    assert case["year"] is None or isinstance(case["year"], int)
    assert case["quote"].strip()
    vocabulary = _vocabulary()
    for finding, state in case["findings"].items():
        assert finding in vocabulary, f"unknown finding {finding!r}"
        assert state in vocabulary[finding], f"{finding}={state!r} not in {vocabulary[finding]}"
