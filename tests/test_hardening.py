"""Issue 9, sections 2, 4 and 5: the same answer everywhere, a strict loader, strict JSON.

Each test failed on the code before the fix.
"""

from __future__ import annotations

import csv
import json
import math
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import calfdx
from calfdx.cli import main

MODEL = calfdx.load_model()


# --------------------------------------------------------------------------------------------
# 2. The same answer everywhere

HARD_YES = [1, np.int64(1), np.int8(1), np.uint8(1), np.bool_(True), 1.0, np.float32(1.0)]
HARD_NO = [0, np.int64(0), np.bool_(False), 0.0, np.float64(0.0)]


@pytest.mark.parametrize("yes", HARD_YES, ids=repr)
def test_one_and_zero_are_hard_answers(yes: object) -> None:
    """Check 1/0 of any numeric type are answers, so red flags and Wells see them."""
    hard = calfdx.diagnose(swelling="yes", recent_immobilization="yes")
    given = calfdx.diagnose(swelling=yes, recent_immobilization=yes)  # type: ignore[arg-type]
    assert given == hard
    assert dict(given.findings) == {"swelling": "yes", "recent_immobilization": "yes"}
    assert not given.soft_findings
    assert [f.id for f in given.red_flags] == [f.id for f in hard.red_flags]
    assert given.red_flags  # the DVT red flag for swelling after immobilisation fires


@pytest.mark.parametrize("no", HARD_NO, ids=repr)
def test_zero_is_a_hard_no(no: object) -> None:
    """Check 0 of any numeric type means no."""
    assert calfdx.diagnose(swelling=no).findings["swelling"] == "no"  # type: ignore[arg-type]


def test_wells_counts_integer_answers() -> None:
    """Check integer answers score Wells points (they were soft evidence, so missing)."""
    answers = {item.finding: 0 for item in calfdx.WELLS_ITEMS}
    # A numpy integer, as pandas hands them out: accepted, though not in the annotations.
    numpy_one: Any = np.int64(1)
    score = calfdx.wells_score({**answers, "active_cancer": 1, "previous_dvt": numpy_one})
    assert score.complete
    assert score.points == 2


@pytest.mark.parametrize("value", [2, -1, np.int64(3), 1.5, -0.2, 10**400], ids=repr)
def test_other_numbers_are_refused_with_the_rule(value: object) -> None:
    """Check a number that is neither 0/1 nor a probability strictly inside is refused."""
    with pytest.raises(calfdx.UnknownStateError, match=r"takes 'yes'/'no', True/False or 1/0"):
        calfdx.diagnose(swelling=value)  # type: ignore[arg-type]


def test_soft_evidence_is_declared_not_counted_by_red_flags_and_wells() -> None:
    """Check red flags and Wells say plainly that soft evidence was not counted."""
    result = calfdx.diagnose(trauma="yes", pain_on_passive_stretch=0.95, active_cancer=0.6)
    assert result.red_flags == ()
    assert "acs_after_injury" in [flag.id for flag in result.red_flags_not_checked]
    text = str(result)
    assert "RED FLAG NOT CHECKED (emergency, acs_after_injury)" in text
    assert "red flags and the Wells score do not count it" in text
    data = result.to_dict()
    assert "acs_after_injury" in [flag["id"] for flag in data["red_flags_not_checked"]]
    score = calfdx.wells_score(active_cancer=0.6)
    assert score.not_counted == ("active_cancer",)
    assert "active_cancer" in score.missing
    assert "given as soft evidence: not counted" in str(score)
    assert score.to_dict()["not_counted"] == ["active_cancer"]


def test_soft_evidence_is_shown_with_its_weights() -> None:
    """Check print, to_dict and explain show soft evidence with its weights."""
    result = calfdx.diagnose(swelling=0.7, age={"40_to_64": 0.5, "65_plus": 0.5})
    text = str(result)
    assert "Findings: none" not in text
    assert "swelling~(yes 0.7, no 0.3)" in text
    assert "age~(under_18 0, 18_to_39 0, 40_to_64 0.5, 65_plus 0.5)" in text
    assert result.to_dict()["soft_findings"]["age"] == {
        "under_18": 0.0,
        "18_to_39": 0.0,
        "40_to_64": 0.5,
        "65_plus": 0.5,
    }
    why = result.explain("dvt")
    sentences = "\n".join(str(why).splitlines())
    assert "= soft makes" not in sentences
    assert "swelling = soft (yes 0.7, no 0.3)" in sentences
    record = next(r for r in why.records if r.finding == "swelling")
    assert record.weights == {"yes": 0.7, "no": pytest.approx(0.3)}
    assert record.to_dict()["weights"]["yes"] == 0.7
    assert "yes 0.7, no 0.3" in why._repr_html_()
    assert "swelling~(yes 0.7, no 0.3)" in result._repr_html_()


@pytest.mark.parametrize(
    "unknown", [pd.NaT, np.float32("nan"), np.float16("nan"), np.datetime64("NaT"), pd.NA]
)
def test_nat_and_float32_nan_mean_unknown_everywhere(unknown: object) -> None:
    """Check pd.NaT and float32 NaN are unknown in diagnose and in diagnose_batch."""
    result = calfdx.diagnose(swelling=unknown, side="unilateral")  # type: ignore[arg-type]
    assert "swelling" in result.unobserved
    cases = pd.DataFrame({"swelling": pd.Series([unknown], dtype=object), "side": ["unilateral"]})
    scores = calfdx.diagnose_batch(cases)
    assert scores.loc[0, "dvt"] == pytest.approx(result.dvt_probability, abs=1e-12)


def test_batch_and_cli_take_soft_evidence_like_diagnose(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Check diagnose_batch and the CLI accept the soft evidence diagnose accepts."""
    rows = [
        {"swelling": 0.7, "age": {"40_to_64": 0.5, "65_plus": 0.5}, "side": "unilateral"},
        {"swelling": 1, "age": "65_plus", "side": None},
        {"swelling": np.float32(0.25), "age": None, "side": "bilateral"},
        {"swelling": pd.NaT, "age": None, "side": None},
    ]
    cases = pd.DataFrame(rows, index=list("abcd"))
    for kernel in ("numpy", "numba"):
        scores = calfdx._batch.score_frame(MODEL._compiled, cases, 0.02, (), kernel=kernel)
        for label, row in zip(cases.index, rows, strict=True):
            one = calfdx.diagnose(row)  # type: ignore[arg-type]
            for cause, p in one.posterior.items():
                assert scores.loc[label, cause] == pytest.approx(p, abs=1e-12)
            assert bool(scores.loc[label, "dvt_alert"]) is one.dvt_alert
    assert main(["diagnose", "--json", "swelling=0.7", "age=40_to_64:0.5,65_plus:0.5"]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = calfdx.diagnose(swelling=0.7, age={"40_to_64": 0.5, "65_plus": 0.5})
    assert data["dvt_probability"] == pytest.approx(expected.dvt_probability, abs=1e-15)
    assert data["soft_findings"]["swelling"]["yes"] == 0.7


def test_the_same_bad_value_gets_the_same_error_everywhere(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Check diagnose, diagnose_batch and the CLI reject swelling=1.5 with the same rule."""
    rule = "a probability of yes strictly between 0 and 1"
    with pytest.raises(calfdx.UnknownStateError, match=rule):
        calfdx.diagnose(swelling=1.5)
    with pytest.raises(calfdx.UnknownStateError, match=rule):
        calfdx.diagnose_batch(pd.DataFrame({"swelling": [1.5]}))
    assert main(["diagnose", "swelling=1.5"]) == 2
    assert rule in capsys.readouterr().err


def test_a_simulated_cohort_goes_straight_into_batch_evaluate_and_fit() -> None:
    """Check simulate()'s cause column is recognised by diagnose_batch, evaluate and fit."""
    cohort = MODEL.simulate(300, seed=4, missing=0.3)
    scores = calfdx.diagnose_batch(cohort)
    assert len(scores) == 300
    assert "cause" not in scores.columns
    assert calfdx.evaluate(MODEL, cohort).n == 300
    assert MODEL.fit(cohort, prior_strength=20) != MODEL


def test_fit_refuses_soft_evidence() -> None:
    """Check fit, which counts answers, names the rows holding soft evidence."""
    cohort = MODEL.simulate(5, seed=4).astype(object)
    cohort.loc[2, "swelling"] = 0.4
    with pytest.raises(calfdx.EvidenceError, match=r"1 rows of cases hold soft evidence"):
        MODEL.fit(cohort)


def test_setting_is_not_a_finding() -> None:
    """Check diagnose(setting=...) says to use load_model(setting=...)."""
    with pytest.raises(calfdx.InvalidOptionError, match=r"load_model\(setting=\.\.\.\)") as info:
        calfdx.diagnose(swelling="yes", setting="sports_clinic")
    assert "did you mean" not in str(info.value).lower()


def test_diagnose_batch_is_typed() -> None:
    """Check diagnose_batch's annotations name DataFrames, not Any."""
    import inspect

    returned = inspect.signature(calfdx.diagnose_batch).return_annotation
    assert returned == "pd.DataFrame | dd.DataFrame"


# --------------------------------------------------------------------------------------------
# 4. The loader refuses what the README forbids


def _edit(folder: Path, name: str, line: int, column: str, value: str) -> None:
    path = folder / name
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[line - 1][rows[0].index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


@pytest.fixture
def tables(tmp_path: Path, shipped_dir: Path) -> Path:
    folder = tmp_path / "tables"
    shutil.copytree(shipped_dir, folder)
    return folder


@pytest.mark.parametrize(
    ("name", "column", "value", "match"),
    [
        ("likelihoods.csv", "probability", "0", r"strictly between 0 and 1 \(rule 2"),
        ("likelihoods.csv", "probability", "1", r"strictly between 0 and 1 \(rule 2"),
        ("likelihoods.csv", "probability", "0.0", r"strictly between 0 and 1"),
        ("priors.csv", "probability", "1.0", r"strictly between 0 and 1"),
        ("priors.csv", "probability", "0", r"strictly between 0 and 1"),
        ("likelihoods.csv", "probability", "0.0_1", r"expected a number \(digits 0-9"),
        ("likelihoods.csv", "probability", "\uff10.\uff11", r"expected a number \(digits 0-9"),
        ("likelihoods.csv", "probability", "\u0660.\u0661", r"expected a number \(digits 0-9"),
        ("likelihoods.csv", "probability", "inf", r"expected a number"),
        ("likelihoods.csv", "reasoning", "a\0b", r"NUL byte"),
        ("causes.csv", "label", "Deep\0vein", r"NUL byte"),
        ("likelihoods.csv", "ess", "1e-300", r"'ess': expected a number of patients from 1 to"),
        ("likelihoods.csv", "ess", "1e308", r"'ess': expected a number of patients from 1 to"),
        ("priors.csv", "ess", "0.5", r"'ess': expected a number of patients"),
        ("priors.csv", "ess", "nan", r"'ess': expected a number of patients"),
        ("priors.csv", "ess", "1_000", r"'ess': expected a number of patients"),
        ("likelihoods.csv", "source_id", "", r"needs a source_id"),
        ("priors.csv", "source_type", "published", r"needs a source_id"),
        ("red_flags.csv", "source_id", "", r"needs a source_id"),
        ("triage.csv", "source_type", "published", r"needs a source_id"),
    ],
)
def test_the_loader_refuses_what_the_readme_forbids(
    tables: Path, name: str, column: str, value: str, match: str
) -> None:
    """Check each forbidden value is refused with its file, line and column."""
    if name == "priors.csv" and column == "source_type":
        _edit(tables, name, 2, "source_id", "")
    if name == "triage.csv":
        _edit(tables, name, 2, "source_id", "")
    if name == "likelihoods.csv" and column == "source_id":
        _edit(tables, name, 2, "source_type", "published")
    if name == "red_flags.csv":
        _edit(tables, name, 2, "source_type", "published")
    _edit(tables, name, 2, column, value)
    with pytest.raises(calfdx.TableError, match=match) as info:
        calfdx.load_model(tables)
    assert any(p.file == name and p.line == 2 for p in info.value.problems), info.value.problems
    assert main(["validate", str(tables)]) == 1


def test_the_shipped_tables_follow_every_rule(shipped_dir: Path) -> None:
    """Check no shipped row breaks the stricter loader (no 0 or 1, ess in range, sources)."""
    assert calfdx.table_problems(shipped_dir) == ()


def test_the_list_of_problems_is_capped(tables: Path) -> None:
    """Check a million-problem folder gives a short message with a count."""
    path = tables / "likelihoods.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0]
    bad = "swelling,yes,dvt,2,published,,,\n"
    path.write_text(header + "\n" + bad * 30_000, encoding="utf-8")
    with pytest.raises(calfdx.TableError) as info:
        calfdx.load_model(tables)
    error = info.value
    assert error.total > 30_000
    assert len(error.problems) == 1000
    assert len(str(error)) < 20_000
    assert f"... and {error.total - 50} more (first 50 shown)" in str(error)


def test_edits_never_round_silently() -> None:
    """Check with_prior and with_likelihood keep 1e-13 exactly, and refuse 0 and 1."""
    tiny = MODEL.with_prior("cramp", 1e-13)
    assert float(tiny.prior["cramp"]) == 1e-13
    assert abs(float(tiny.prior.sum()) - 1.0) < 1e-12
    odd = MODEL.with_likelihood("swelling", "yes", "dvt", 0.123456789012345678)
    assert odd.likelihood("swelling", "dvt")["yes"] == 0.123456789012345678
    with pytest.raises(calfdx.InvalidOptionError, match=r"\(0, 1\), strictly"):
        MODEL.with_prior("cramp", 0.0)
    with pytest.raises(calfdx.InvalidOptionError, match=r"\(0, 1\), strictly"):
        MODEL.with_likelihood("swelling", "yes", "dvt", 1.0)


@pytest.mark.parametrize("strength", [0, -1, math.nan, math.inf, 1e-300, 1e308, "20", True])
def test_fit_checks_prior_strength(strength: object) -> None:
    """Check prior_strength must be a number of patients from 1 to 1e9."""
    cohort = MODEL.simulate(20, seed=1)
    with pytest.raises(calfdx.InvalidOptionError, match=r"prior_strength must be a number from"):
        MODEL.fit(cohort, prior_strength=strength)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# 5. The CLI, JSON and results

CLI = [sys.executable, "-m", "calfdx"]


def test_a_closed_pipe_gives_no_traceback() -> None:
    """Check `calfdx ... | head -1` ends quietly with exit code 3, without a traceback."""
    with subprocess.Popen(
        [*CLI, "findings", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        error = process.stderr.read().decode()
        assert process.wait(timeout=120) == 3
    assert "Traceback" not in error
    assert error == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_gives_one_line_and_exit_3() -> None:
    """Check `calfdx ... > /dev/full` says so on stderr, exit code 3, no traceback."""
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [*CLI, "diagnose", "swelling=yes"], stdout=full, stderr=subprocess.PIPE, timeout=120
        )
    assert done.returncode == 3
    error = done.stderr.decode()
    assert "cannot write the output" in error
    assert "Traceback" not in error
    assert "Exception ignored" not in error


@pytest.mark.parametrize("path", ["a" * 5000, "x\0y"], ids=["too long", "NUL"])
def test_bad_paths_give_an_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str], path: str
) -> None:
    """Check a path too long for the system, or with a NUL, is a plain error."""
    assert main(["diagnose", "--priors", path, "swelling=yes"]) == 2
    assert "No folder of tables" in capsys.readouterr().err
    assert main(["validate", path]) == 1
    out = capsys.readouterr().out
    assert "No folder of tables" in out
    assert len(out) < 2000


def test_an_unreadable_file_is_named_by_the_cli(
    tables: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Check an unreadable table file is named, with exit code 2 and no traceback."""
    original = Path.read_bytes

    def deny(self: Path) -> bytes:
        if self.name == "priors.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    assert main(["diagnose", "--priors", str(tables), "swelling=yes"]) == 2
    err = capsys.readouterr().err
    assert "priors.csv: the file cannot be read (Permission denied)" in err


def test_validate_lists_the_first_fifty(tables: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Check validate prints at most 50 problems and the count of the rest."""
    path = tables / "likelihoods.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0]
    path.write_text(header + "\n" + "swelling,yes,dvt,2,published,,,\n" * 200, encoding="utf-8")
    assert main(["validate", str(tables)]) == 1
    out = capsys.readouterr().out
    assert out.count("\n  - ") == 50
    assert "more (use --json for all)" in out


def _strict(data: object) -> None:
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data


def test_every_to_dict_is_strict_json() -> None:
    """Check to_dict() and --json hold plain types only, with no NaN or infinity."""
    # A near-certain posterior gives infinite log-odds in explain().
    result = calfdx.diagnose(
        onset="sudden",
        pop_sensation="yes",
        thompson_test="positive",
        calf_tenderness="yes",
        swelling="yes",
        bruising="yes",
        trauma="no",
        age="40_to_64",
    )
    _strict(result.to_dict())
    for cause in result.posterior:
        _strict(result.explain(cause).to_dict())
    _strict(result.next_questions(5).to_dict())
    _strict(result.conflict.to_dict())
    cohort = MODEL.simulate(30, seed=2)
    evaluation = calfdx.evaluate(MODEL, cohort)
    assert math.isnan(evaluation.sensitivity) or evaluation.calibration["cases"].min() == 0
    _strict(evaluation.to_dict())
    _strict(MODEL.posterior_interval({"swelling": "yes"}, draws=50, seed=1).to_dict())
    wells = calfdx.wells_score({item.finding: "yes" for item in calfdx.WELLS_ITEMS})
    _strict(wells.compared_with(1.0).to_dict())
    for finding in MODEL.vocabulary.values():
        _strict(finding.to_dict())


def test_cli_json_is_strict(capsys: pytest.CaptureFixture[str]) -> None:
    """Check --json output parses with a strict parser (no NaN, -Infinity)."""
    assert main(["diagnose", "--json", "--explain", "--next", "thompson_test=positive"]) == 0

    def refuse(token: str) -> None:
        raise AssertionError(token)

    json.loads(capsys.readouterr().out, parse_constant=refuse)


def test_a_diagnosis_is_hashable() -> None:
    """Check a Diagnosis (frozen) hashes, consistently with equality."""
    one, two = calfdx.diagnose(swelling="yes"), calfdx.diagnose(swelling=True)
    assert one == two
    assert hash(one) == hash(two)
    assert len({one, two, calfdx.diagnose(swelling="no")}) == 2
    assert hash(pickle.loads(pickle.dumps(one))) == hash(one)


def test_models_from_the_same_tables_are_equal(tables: Path, shipped_dir: Path) -> None:
    """Check two models from the same tables compare equal, also after a pickle round trip."""
    one, two = calfdx.load_model(shipped_dir), calfdx.load_model(tables)
    assert one == two
    assert hash(one) == hash(two)
    again = pickle.loads(pickle.dumps(one))
    assert again == one
    assert hash(again) == hash(one)
    assert one == MODEL
    assert one != one.with_dvt_threshold(0.05)
    assert one != one.with_setting("sports_clinic")
    assert one != one.with_prior("dvt", 0.1)
    assert one != "a model"


def _interview(
    answers: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(answers))
    assert main(["interview"]) == 0
    return str(capsys.readouterr().out)


def test_the_interview_shows_the_picture_after_each_answer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Check the top causes, P(DVT) and triage are shown before each question."""
    out = _interview("?\n?\nq\n", monkeypatch, capsys)
    status = out.split("  Now: ")[1:]
    assert len(status) == 3
    assert all("P(DVT)" in part and "; triage " in part for part in status)


def test_the_interview_does_not_open_with_a_tape_measure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Check the first question on an empty form is a history question, not an examination."""
    out = _interview("q\n", monkeypatch, capsys)
    question = next(line for line in out.splitlines() if "/ ? / q]" in line)
    asked = next(f for f in MODEL.vocabulary.values() if question.startswith(f.question))
    assert asked.category != "examination"
    assert asked.id != "calf_difference_3cm"


def test_the_cli_passes_the_environment_without_a_traceback() -> None:
    """Check `python -m calfdx` runs in a subprocess at all (sanity for the tests above)."""
    done = subprocess.run(
        [*CLI, "diagnose", "swelling=1"],
        capture_output=True,
        timeout=120,
        env={**os.environ},
        check=False,
    )
    assert done.returncode == 0
    assert b"swelling=yes" in done.stdout
