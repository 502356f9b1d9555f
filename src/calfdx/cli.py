"""The ``calfdx`` command: diagnose from the shell, list the vocabulary, check tables.

Examples of use::

    calfdx diagnose onset=gradual side=unilateral swelling=yes
    calfdx diagnose --json age=65_plus night_pain=yes
    calfdx diagnose --explain --next side=unilateral swelling=yes
    calfdx interview
    calfdx findings
    calfdx validate path/to/priors

Errors go to stderr, without a traceback, with exit code 2 (bad input) or 1 (tables with
problems, for ``validate``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Final

from ._exceptions import CalfdxError, TableProblem
from ._model import Model, load_model
from ._results import DISCLAIMER
from ._tables import DEFAULT_SETTING, table_problems
from ._version import __version__

__all__ = ["main"]

EXIT_OK: Final = 0
EXIT_PROBLEMS: Final = 1
EXIT_USAGE: Final = 2
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

    findings = commands.add_parser("findings", help="list the findings, states and questions")
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


def _model(args: argparse.Namespace) -> Model:
    return load_model(args.priors, setting=args.setting)


def _diagnose(args: argparse.Namespace) -> int:
    model = _model(args)
    result = model.diagnose(_pairs(args.findings), dvt_threshold=args.threshold)
    causes = list(dict.fromkeys([result.top_cause, "dvt"]))
    if args.json:
        data = result.to_dict()
        if args.explain:
            data["explanations"] = [result.explain(cause).to_dict() for cause in causes]
        if args.next:
            data["next_questions"] = result.next_questions(3).to_dict()
        print(json.dumps(data, indent=2))
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


def _interview(args: argparse.Namespace) -> int:
    model = _model(args)
    findings: dict[str, str] = _pairs(args.findings)
    skipped: set[str] = set()
    print(DISCLAIMER)
    while True:
        result = model.diagnose(findings, dvt_threshold=args.threshold)
        top = result.posterior[result.top_cause]
        if top >= STOP_PROBABILITY:
            print(f"\nStopping: {result.labels[result.top_cause]} reached {top:.0%}.")
            break
        ranking = [
            s for s in result.next_questions(len(model.findings)) if s.finding not in skipped
        ]
        if not ranking:
            print("\nStopping: no questions left.")
            break
        best = ranking[0]
        if best.information_gain < MIN_GAIN and best.flip_probability == 0:
            print(f"\nStopping: no question gains more than {MIN_GAIN} bits.")
            break
        answer = _ask(best.question, model.findings[best.finding].states)
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
    vocabulary = _model(args).findings
    if args.json:
        print(json.dumps([finding.to_dict() for finding in vocabulary.values()], indent=2))
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
            print(json.dumps({"problems": found, "targets": targets}, indent=2))
        else:
            print(json.dumps(found, indent=2))
    elif problems:
        print(f"{len(problems)} problem(s) in the tables in {args.path}:")
        for problem in problems:
            print(f"  - {problem}")
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
        0 on success, 1 when ``validate`` found problems, 2 on bad input.

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
        "findings": _findings,
        "validate": _validate,
        "interview": _interview,
    }
    try:
        return handlers[args.command](args)
    except (CalfdxError, _UsageError) as error:
        print(f"calfdx {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
