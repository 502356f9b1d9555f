"""The ``calfdx`` command: diagnose from the shell, list the vocabulary, check tables.

Examples of use::

    calfdx diagnose onset=gradual side=unilateral swelling=yes
    calfdx diagnose --json age=65_plus night_pain=yes
    calfdx diagnose --explain --next side=unilateral swelling=yes
    calfdx interview
    calfdx vocabulary
    calfdx validate path/to/priors

Findings are ``finding=state``; a yes/no finding also takes ``1``/``0`` or a probability of
yes strictly between 0 and 1 (``swelling=0.7``, soft evidence), and any finding a list of
``state:probability`` pairs (``age=40_to_64:0.5,65_plus:0.5``), as ``calfdx.diagnose`` does.

Errors go to stderr, without a traceback. Exit codes: 0 success; 1 tables with problems (for
``validate``); 2 bad input; 3 the output could not be written (a full disk; a closed pipe, as
in ``calfdx vocabulary | head -1``, exits 3 quietly).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Final

from ._api import load_model
from ._core import DISCLAIMER
from ._exceptions import CalfdxError, TableProblem
from ._model import Model
from ._results import Diagnosis
from ._rows import parse_number
from ._schema import DEFAULT_SETTING, Finding
from ._tables import table_problems
from ._version import __version__

__all__ = ["main"]

EXIT_OK: Final = 0
EXIT_PROBLEMS: Final = 1
EXIT_USAGE: Final = 2
EXIT_OUTPUT: Final = 3
#: ``validate`` prints at most this many problems (``--json`` gives all that were kept).
SHOWN_PROBLEMS: Final = 50
#: The interview stops when the top cause reaches this probability ...
STOP_PROBABILITY: Final = 0.8
#: ... or when no question is expected to gain more than this many bits.
MIN_GAIN: Final = 0.05


class _UsageError(Exception):
    """A command-line argument the parser accepted but calfdx cannot use."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calfdx",
        description="Bayesian differential diagnosis of calf pain, with a DVT alert. "
        + DISCLAIMER,
    )
    parser.add_argument("--version", action="version", version=f"calfdx {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    diagnose = commands.add_parser(
        "diagnose",
        help="rank the causes of calf pain for one patient",
        description="Rank the causes of calf pain for one patient. Findings are given as "
        "finding=state pairs; a finding not given is unknown. " + DISCLAIMER,
    )
    diagnose.add_argument(
        "findings", nargs="*", metavar="FINDING=STATE", help="e.g. swelling=yes onset=gradual"
    )
    _model_options(diagnose)
    diagnose.add_argument("--threshold", type=float, help="DVT alert threshold in [0, 1]")
    diagnose.add_argument("--json", action="store_true", help="print JSON for machines")
    diagnose.add_argument(
        "--explain", action="store_true", help="explain the top cause and DVT, finding by finding"
    )
    diagnose.add_argument(
        "--next", action="store_true", help="suggest the next questions worth asking"
    )

    interview = commands.add_parser(
        "interview",
        help="ask the next best question until the picture is clear",
        description="Ask the next best question in the terminal until the top cause reaches "
        f"{STOP_PROBABILITY:.0%}, no question gains more than {MIN_GAIN} bits, or you stop "
        "(q, or an empty line). Answer with a state, or ? for unknown. " + DISCLAIMER,
    )
    interview.add_argument(
        "findings", nargs="*", metavar="FINDING=STATE", help="findings known already"
    )
    _model_options(interview)
    interview.add_argument("--threshold", type=float, help="DVT alert threshold in [0, 1]")

    findings = commands.add_parser(
        "vocabulary", aliases=["findings"], help="list the findings, states and questions"
    )
    _model_options(findings)
    findings.add_argument("--json", action="store_true", help="print JSON for machines")

    validate = commands.add_parser("validate", help="check a folder of tables")
    validate.add_argument("path", help="the folder holding the CSV tables")
    validate.add_argument("--json", action="store_true", help="print JSON for machines")
    validate.add_argument(
        "--targets",
        action="store_true",
        help="also compute every published target of targets.csv and fail on a miss",
    )
    return parser


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--priors", metavar="PATH", help="a folder of tables (default: shipped)")
    parser.add_argument(
        "--setting", default=DEFAULT_SETTING, help=f"prior setting (default: {DEFAULT_SETTING})"
    )


def _pairs(items: Sequence[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        name, sep, state = item.partition("=")
        if not sep or not name.strip() or not state.strip():
            msg = f"Expected FINDING=STATE, e.g. swelling=yes. Got {item!r} instead."
            raise _UsageError(msg)
        name = name.strip()
        if name in pairs:
            msg = f"Finding {name!r} was given twice."
            raise _UsageError(msg)
        pairs[name] = state.strip()
    return pairs


def _value(finding: Finding | None, text: str) -> str | float | dict[str, float]:
    """Read a value from the command line as calfdx.diagnose would take it from Python.

    A state name stays a string; ``0.7`` (or ``1``, ``0``) becomes a number; and
    ``state:p,state:p`` a mapping of soft evidence. Anything else stays a string, for
    diagnose to name the problem.
    """
    if finding is None or text in finding.states:
        return text
    if ":" in text:
        weights: dict[str, float] = {}
        for part in text.split(","):
            state, _, weight = part.partition(":")
            value = parse_number(weight.strip())
            if value is None or state.strip() in weights:
                return text
            weights[state.strip()] = value
        return weights
    number = parse_number(text)
    return text if number is None else number


def _findings_of(model: Model, pairs: Mapping[str, str]) -> dict[str, object]:
    return {name: _value(model.vocabulary.get(name), text) for name, text in pairs.items()}


def _model(args: argparse.Namespace) -> Model:
    return load_model(args.priors, setting=args.setting)


def _diagnose(args: argparse.Namespace) -> int:
    model = _model(args)
    result = model.diagnose(
        _findings_of(model, _pairs(args.findings)),  # type: ignore[arg-type]
        dvt_threshold=args.threshold,
    )
    causes = list(dict.fromkeys([result.top_cause, "dvt"]))
    if args.json:
        data = result.to_dict()
        if args.explain:
            data["explanations"] = [result.explain(cause).to_dict() for cause in causes]
        if args.next:
            data["next_questions"] = result.next_questions(3).to_dict()
        print(json.dumps(data, indent=2, allow_nan=False))
        return EXIT_OK
    print(result)
    if args.explain:
        for cause in causes:
            print()
            print(result.explain(cause))
    if args.next:
        print()
        print(result.next_questions(3))
    return EXIT_OK


def _ask(question: str, states: tuple[str, ...]) -> str | None:
    """Ask one question on stdin; return a state, "?" for unknown, or None to stop."""
    prompt = f"{question} [{' / '.join(states)} / ? / q]: "
    while True:
        print(prompt, end="", flush=True)
        line = sys.stdin.readline()
        answer = line.strip().lower()
        if not line or answer in ("", "q", "quit", "stop"):
            return None
        if answer in ("?", "unknown", "u"):
            return "?"
        if answer in states:
            return answer
        if answer in ("y", "n") and set(states) == {"yes", "no"}:
            return "yes" if answer == "y" else "no"
        print(f"  Please answer one of: {', '.join(states)}, ? (unknown) or q (stop).")


def _status(result: Diagnosis) -> str:
    """One line: the top causes, P(DVT) and the triage level."""
    top = ", ".join(f"{result.labels[c]} {p:.0%}" for c, p in result.top(3))
    alert = " (DVT alert)" if result.dvt_alert else ""
    triage = "" if result.triage is None else f"; triage {result.triage.level}"
    return f"  Now: {top}; P(DVT) {result.dvt_probability:.1%}{alert}{triage}"


def _worth_asking(gain: float, flip: float) -> bool:
    return gain >= MIN_GAIN or flip > 0


def _interview(args: argparse.Namespace) -> int:
    model = _model(args)
    findings: dict[str, object] = _findings_of(model, _pairs(args.findings))
    skipped: set[str] = set()
    print(DISCLAIMER)
    while True:
        result = model.diagnose(findings, dvt_threshold=args.threshold)  # type: ignore[arg-type]
        print(_status(result))
        top = result.posterior[result.top_cause]
        if top >= STOP_PROBABILITY:
            print(f"\nStopping: {result.labels[result.top_cause]} reached {top:.0%}.")
            break
        ranking = [
            s
            for s in result.next_questions(len(model.vocabulary))
            if s.finding not in skipped and _worth_asking(s.information_gain, s.flip_probability)
        ]
        if not ranking:
            print(f"\nStopping: no question left gains more than {MIN_GAIN} bits.")
            break
        # History first, as a clinician takes it: examination items (which need the patient
        # on the couch, some a tape measure) come once no history question is worth asking.
        history = [s for s in ranking if model.vocabulary[s.finding].category != "examination"]
        best = (history or ranking)[0]
        answer = _ask(best.question, model.vocabulary[best.finding].states)
        if answer is None:
            print("\nStopped.")
            break
        if answer == "?":
            skipped.add(best.finding)
        else:
            findings[best.finding] = answer
    print()
    print(result)
    return EXIT_OK


def _findings(args: argparse.Namespace) -> int:
    vocabulary = _model(args).vocabulary
    if args.json:
        data = [finding.to_dict() for finding in vocabulary.values()]
        print(json.dumps(data, indent=2, allow_nan=False))
        return EXIT_OK
    width = max(len(name) for name in vocabulary)
    category = None
    for finding in vocabulary.values():
        if finding.category != category:
            category = finding.category
            print(f"\n[{category}]")
        print(f"  {finding.id.ljust(width)}  {' | '.join(finding.states)}")
        print(f"  {' ' * width}  {finding.question}")
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    problems: tuple[TableProblem, ...] = table_problems(args.path)
    report = None
    if args.targets and not problems:
        report = load_model(args.path).check_targets()
    if args.json:
        found = [
            {"file": p.file, "line": p.line, "column": p.column, "message": p.message}
            for p in problems
        ]
        if args.targets:
            targets = report.to_dict() if report is not None else None
            print(json.dumps({"problems": found, "targets": targets}, indent=2, allow_nan=False))
        else:
            print(json.dumps(found, indent=2, allow_nan=False))
    elif problems:
        print(f"{len(problems)} problem(s) in the tables in {args.path[:200]}:")
        for problem in problems[:SHOWN_PROBLEMS]:
            print(f"  - {problem}")
        if len(problems) > SHOWN_PROBLEMS:
            print(f"  ... and {len(problems) - SHOWN_PROBLEMS} more (use --json for all).")
    else:
        print(f"The tables in {args.path} are valid.")
        if report is not None:
            print(report)
    missed = report is not None and not report.all_met
    return EXIT_PROBLEMS if problems or missed else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``calfdx`` command and return its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments, without the program name; default: ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 when ``validate`` found problems, 2 on bad input, 3 when the
        output could not be written (a full disk, or a pipe closed early: quietly).

    Examples
    --------
    >>> from calfdx.cli import main
    >>> main(["diagnose", "palpable_cord=yes", "redness=yes"])  # doctest: +ELLIPSIS
    calfdx differential diagnosis of calf pain (setting: primary_care)
      1. Superficial thrombophlebitis ...
    0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    handlers = {
        "diagnose": _diagnose,
        "vocabulary": _findings,
        "findings": _findings,  # the older name of the same command
        "validate": _validate,
        "interview": _interview,
    }
    try:
        code = handlers[args.command](args)
        sys.stdout.flush()  # a full disk shows here, not at exit
    except (CalfdxError, _UsageError) as error:
        print(f"calfdx {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader closed the pipe (| head): stop quietly
        _silence_stdout()
        return EXIT_OUTPUT
    except OSError as error:  # the output could not be written (a full disk, an I/O error)
        _silence_stdout()
        reason = error.strerror or type(error).__name__
        print(f"calfdx {args.command}: error: cannot write the output: {reason}.", file=sys.stderr)
        return EXIT_OUTPUT
    return code


def _silence_stdout() -> None:
    """Point stdout at the null device, so the interpreter's last flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file (captured)
        pass
