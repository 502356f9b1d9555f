"""The calfdx command line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import calfdx
from calfdx.cli import main


def test_diagnose_prints_the_ranked_differential(capsys: pytest.CaptureFixture[str]) -> None:
    """Check the text output ranks causes, shows the alert and the disclaimer."""
    code = main(["diagnose", "onset=gradual", "side=unilateral", "swelling=yes"])
    out = capsys.readouterr().out
    assert code == 0
    assert "  1. " in out
    assert "DVT ALERT" in out
    assert "does not make them" in out


def test_diagnose_json_matches_the_api(capsys: pytest.CaptureFixture[str]) -> None:
    """Check --json prints the same result as the Python API."""
    assert main(["diagnose", "--json", "swelling=yes", "age=65_plus"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(calfdx.diagnose(swelling="yes", age="65_plus").to_dict()))


def test_threshold_option(capsys: pytest.CaptureFixture[str]) -> None:
    """Check --threshold sets the alert threshold."""
    assert main(["diagnose", "--json", "--threshold", "1", "swelling=yes"]) == 0
    assert json.loads(capsys.readouterr().out)["dvt_alert"] is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["diagnose", "sweling=yes"], "Did you mean 'swelling'"),
        (["diagnose", "age=42"], "expects one of the states ['under_18'"),
        (["diagnose", "age=teen"], "Allowed states: ['under_18'"),
        (["diagnose", "swelling"], "Expected FINDING=STATE"),
        (["diagnose", "swelling=yes", "swelling=no"], "given twice"),
        (["diagnose", "--threshold", "2", "swelling=yes"], "dvt_threshold must be a number"),
        (["diagnose", "--setting", "moon", "swelling=yes"], "Unknown setting 'moon'"),
    ],
)
def test_errors_go_to_stderr_without_traceback(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Check bad input exits 2 with one clear line on stderr and no traceback."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("command", ["vocabulary", "findings"])
def test_vocabulary_lists_every_finding(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Check `calfdx vocabulary` (or its older name) lists every finding, states and question."""
    assert main([command]) == 0
    out = capsys.readouterr().out
    for finding in calfdx.vocabulary().values():
        assert finding.id in out
        assert finding.question in out
    assert main([command, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(calfdx.vocabulary())


def test_validate(capsys: pytest.CaptureFixture[str], toy_dir: Path, shipped_dir: Path) -> None:
    """Check `calfdx validate` passes good tables and lists every problem of bad ones."""
    assert main(["validate", str(shipped_dir)]) == 0
    assert "are valid" in capsys.readouterr().out
    priors = toy_dir / "priors.csv"
    priors.write_text(priors.read_text().replace("dvt,0.2,", "dvt,7,"))
    assert main(["validate", str(toy_dir)]) == 1
    out = capsys.readouterr().out
    assert "priors.csv, line 2, column 'probability'" in out
    assert main(["validate", "--json", str(toy_dir)]) == 1
    problems = json.loads(capsys.readouterr().out)
    assert {"file": "priors.csv", "line": 2, "column": "probability"}.items() <= problems[
        0
    ].items()


def test_diagnose_with_other_tables(capsys: pytest.CaptureFixture[str], toy_dir: Path) -> None:
    """Check --priors diagnoses on another folder of tables."""
    assert main(["diagnose", "--json", "--priors", str(toy_dir), "swelling=yes"]) == 0
    assert json.loads(capsys.readouterr().out)["dvt_probability"] == pytest.approx(0.6)


def test_python_dash_m_works_like_the_command() -> None:
    """Check `python -m calfdx` runs the same command line, in a separate process."""
    done = subprocess.run(
        [sys.executable, "-m", "calfdx", "diagnose", "--json", "palpable_cord=yes"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["top_cause"] == calfdx.diagnose(palpable_cord="yes").top_cause
    failed = subprocess.run(
        [sys.executable, "-m", "calfdx", "diagnose", "nonsense=1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 2
    assert "Unknown finding 'nonsense'" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_diagnose_explain_and_next(capsys: pytest.CaptureFixture[str]) -> None:
    """Check --explain and --next add the explanations and the next questions."""
    assert main(["diagnose", "--explain", "--next", "side=unilateral", "swelling=yes"]) == 0
    out = capsys.readouterr().out
    assert "Why Deep vein thrombosis (dvt)" in out
    assert "swelling = yes makes Deep vein thrombosis" in out
    assert "Next questions:" in out
    assert main(["diagnose", "--json", "--explain", "--next", "swelling=yes"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["explanations"][-1]["cause"] == "dvt"
    assert len(data["next_questions"]["suggestions"]) == 3


def _interview(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], answers: str, *args: str
) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(answers))
    assert main(["interview", *args]) == 0
    return capsys.readouterr().out


def test_interview_asks_until_the_user_stops(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Check the interview asks questions, re-asks on a bad answer, and stops on q."""
    first = calfdx.diagnose(side="unilateral").next_questions(1)[0]
    states = calfdx.vocabulary()[first.finding].states
    out = _interview(monkeypatch, capsys, f"banana\n{states[0]}\n?\nq\n", "side=unilateral")
    assert out.count(first.question) == 2, "a bad answer is asked again"
    assert "Please answer one of" in out
    assert "Stopped." in out
    assert f"{first.finding}={states[0]}" in out, "the answer is used in the final result"
    assert calfdx.DISCLAIMER in out


def test_interview_stops_when_the_top_cause_is_clear(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Check the interview stops at once when the top cause already reaches 80%."""
    out = _interview(
        monkeypatch,
        capsys,
        "",
        "palpable_cord=yes",
        "redness=yes",
        "warmth=yes",
        "side=unilateral",
        "fever=no",
    )
    assert "Stopping: Superficial thrombophlebitis reached" in out
    assert "[yes / no / ? / q]" not in out


def test_interview_ends_at_end_of_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Check the interview ends cleanly when stdin runs out, answering yes/no as y/n."""
    out = _interview(monkeypatch, capsys, "y\nn\n", "side=unilateral")
    assert "Stopped." in out
    assert "calfdx differential diagnosis" in out
