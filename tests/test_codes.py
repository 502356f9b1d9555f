"""The coded vocabulary: ICD-10 / SNOMED CT / LOINC columns, their checks and their exposure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import calfdx
from calfdx._codes import (
    icd10_problem,
    loinc_problem,
    snomed_problem,
    verhoeff_valid,
)

from .tablewriter import TOY_LIKELIHOOD, TOY_PRIOR, write_tables

# Concept ids read in HL7's IPS value sets (CurrentSmokingStatusUvIps, the IPS free set) and
# on VisualDx: core ids (partition 00) and a US-extension id (partition 10).
VALID_SNOMED = ["429513001", "77176002", "8517006", "404684003", "15971541000119105"]


@pytest.mark.parametrize("code", VALID_SNOMED)
def test_known_snomed_ids_pass(code: str) -> None:
    assert verhoeff_valid(code)
    assert snomed_problem(code) is None


@pytest.mark.parametrize("code", VALID_SNOMED)
def test_any_changed_digit_fails_the_verhoeff_check(code: str) -> None:
    """Verhoeff catches every single-digit error: change each digit in turn."""
    for position in range(len(code)):
        for digit in "0123456789":
            if digit == code[position] or (position == 0 and digit == "0"):
                continue
            changed = code[:position] + digit + code[position + 1 :]
            assert snomed_problem(changed) is not None, changed


def test_a_swapped_pair_of_digits_fails() -> None:
    assert snomed_problem("425913001") is not None  # 429513001 with 9 and 5 swapped


@pytest.mark.parametrize(
    ("code", "match"),
    [
        ("", "6 to 18 digits"),
        ("12345", "6 to 18 digits"),
        ("0429513001", "not starting with 0"),
        ("4295130O1", "6 to 18 digits"),
        ("429513011", "partition identifier '01'"),  # a description id's partition
        ("429513002", "Verhoeff check digit"),
    ],
)
def test_bad_snomed_ids_are_explained(code: str, match: str) -> None:
    message = snomed_problem(code)
    assert message is not None
    assert match in message


@pytest.mark.parametrize("code", ["I82.40", "R25.2", "M66.0", "T79.A2", "S86.011A", "I80"])
def test_icd10_pattern_accepts_real_shapes(code: str) -> None:
    assert icd10_problem(code) is None


@pytest.mark.parametrize("code", ["i82.40", "I8240X", "I82.", "82.40", "I82.40AB1", "I82,40"])
def test_icd10_pattern_rejects_other_shapes(code: str) -> None:
    assert icd10_problem(code) is not None


@pytest.mark.parametrize("code", ["8310-5", "72166-2", "11450-4"])
def test_loinc_check_digit_passes(code: str) -> None:
    assert loinc_problem(code) is None


@pytest.mark.parametrize(
    ("code", "match"),
    [("8310-6", "expected 5"), ("72166-3", "expected 2"), ("8310", "a dash"), ("A310-5", "dash")],
)
def test_loinc_check_digit_fails(code: str, match: str) -> None:
    message = loinc_problem(code)
    assert message is not None
    assert match in message


# --------------------------------------------------------------------------------------------
# The loader: every problem with file, line and column


def _toy(tmp_path: Path) -> Path:
    return write_tables(tmp_path / "tables", TOY_PRIOR, TOY_LIKELIHOOD)


def _add_columns(path: Path, columns: str, values: dict[str, str]) -> None:
    """Append ``columns`` to a CSV; ``values`` maps a row's first field to its new fields."""
    lines = path.read_text().splitlines()
    out = [f"{lines[0]},{columns}"]
    blank = "," * columns.count(",")
    out += [f"{line},{values.get(line.split(',')[0], blank)}" for line in lines[1:]]
    path.write_text("\n".join(out) + "\n")


def test_loader_collects_every_code_problem(tmp_path: Path) -> None:
    folder = _toy(tmp_path)
    _add_columns(
        folder / "causes.csv",
        "icd10,snomed_ct,code_source_id,code_notes",
        {"dvt": "i82.40,429513002,toy2026,", "cramp": "R25.2,,,"},
    )
    _add_columns(
        folder / "findings.csv",
        "snomed_ct,loinc,state_codes,code_source_id,code_notes",
        {
            "swelling": "77176002,8310-6,,nobody1999,",
            "onset": ",,sudden:429513001|slow:77176002|gradual:12,toy2026,",
        },
    )
    problems = [str(p) for p in calfdx.table_problems(folder)]
    text = "\n".join(problems)
    assert "causes.csv, line 2, column 'icd10': expected an ICD-10 code" in text
    assert "causes.csv, line 2, column 'snomed_ct': the Verhoeff check digit" in text
    assert "causes.csv, line 3, column 'code_source_id': a code needs the source" in text
    assert "findings.csv, line 2, column 'loinc': the mod-10 check digit" in text
    assert "findings.csv, line 2, column 'code_source_id': unknown sources ['nobody1999']" in text
    assert "findings.csv, line 3, column 'state_codes'" in text
    assert "unknown state 'slow'" in text
    assert "state 'gradual': expected a SNOMED CT concept id" in text
    assert len(problems) == 7


def test_codes_are_optional_columns(tmp_path: Path) -> None:
    """Tables without the coded columns stay valid; their records carry empty codes."""
    model = calfdx.load_model(_toy(tmp_path))
    assert all(cause.codes == {} for cause in model.causes)
    assert model.vocabulary["swelling"].codes == {}


def test_valid_codes_reach_the_records(tmp_path: Path) -> None:
    folder = _toy(tmp_path)
    _add_columns(
        folder / "causes.csv",
        "icd10,snomed_ct,code_source_id,code_notes",
        {"dvt": "I82.40,429513001,toy2026,a note"},
    )
    _add_columns(
        folder / "findings.csv",
        "snomed_ct,loinc,state_codes,code_source_id,code_notes",
        {"onset": ",8310-5,sudden:77176002,toy2026,"},
    )
    model = calfdx.load_model(folder)
    dvt = next(cause for cause in model.causes if cause.id == "dvt")
    assert (dvt.icd10, dvt.snomed_ct) == ("I82.40", "429513001")
    assert dvt.to_dict()["codes"] == {"icd10": "I82.40", "snomed_ct": "429513001"}
    onset = model.vocabulary["onset"]
    assert onset.loinc == "8310-5"
    assert onset.state_codes == (("sudden", "77176002"),)
    assert onset.codes == {"loinc": "8310-5", "states": {"sudden": "77176002"}}


# --------------------------------------------------------------------------------------------
# The shipped vocabulary


def test_shipped_codes_are_exposed_and_json_friendly(model: calfdx.Model) -> None:
    causes = {cause.id: cause for cause in model.causes}
    assert causes["achilles_rupture"].codes == {"icd10": "S86.0", "snomed_ct": "429513001"}
    assert causes["dvt"].icd10 == "I82.40"
    assert causes["other"].codes == {}
    assert model.vocabulary["smoker"].snomed_ct == "77176002"
    data = json.loads(json.dumps([f.to_dict() for f in model.vocabulary.values()]))
    assert data[[f["id"] for f in data].index("smoker")]["codes"] == {"snomed_ct": "77176002"}


def test_diagnosis_to_dict_carries_each_causes_codes(model: calfdx.Model) -> None:
    result = model.diagnose(onset="sudden", pop_sensation="yes", thompson_test="positive")
    data = json.loads(json.dumps(result.to_dict()))
    by_cause = {entry["cause"]: entry["codes"] for entry in data["differential"]}
    assert by_cause["achilles_rupture"] == {"icd10": "S86.0", "snomed_ct": "429513001"}
    assert by_cause["other"] == {}
    assert len(by_cause) == len(model.causes)


def test_every_code_source_is_a_cited_work(model: calfdx.Model, shipped_dir: Path) -> None:
    """Each code_source_id names a row of sources.csv whose citation shows what was read."""
    import csv

    for name in ("causes.csv", "findings.csv"):
        with (shipped_dir / name).open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                coded = [row.get(c, "") for c in ("icd10", "snomed_ct", "loinc", "state_codes")]
                ids = [s for s in row["code_source_id"].split("|") if s]
                assert bool(any(coded)) == bool(ids), row
                assert set(ids) <= set(model.sources)
                if not any(coded):
                    assert row["code_notes"], f"{name}: say why {row} has no code"
