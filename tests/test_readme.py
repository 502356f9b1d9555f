"""The README's examples stay true: every Python block runs, and what its comments show holds.

Each ```python block of README.md and priors/README.md runs, in order, in one namespace (in a
temporary folder holding a copy of the shipped tables as ``my_priors/``). Two kinds of
comment are checked, with doctest's ELLIPSIS:

* an inline comment that starts with a Python value (``# 'dvt'``, ``# True: ...``,
  ``# [('dvt', 0.33...), ...]``) must match the repr of the expression before it, up to the
  first top-level ``:``; ``'a' | 'b'`` lists alternatives;
* full-line comments right after a statement must match what it printed (for an
  expression that prints nothing: its ``str``).

Any other comment is prose and is not checked.
"""

from __future__ import annotations

import ast
import contextlib
import doctest
import io
import re
import shutil
from pathlib import Path

import pytest

import calfdx

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", ROOT / "priors" / "README.md"]
_VALUE_START = re.compile(r"""['"(\[{\d-]|True\b|False\b|None\b""")
_CHECKER = doctest.OutputChecker()
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def _top_level_cut(text: str, stop: str) -> list[str]:
    """Split ``text`` at ``stop`` outside brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(stop, i):
            parts.append(text[start:i])
            start = i + len(stop)
            i = start
            continue
        i += 1
    parts.append(text[start:])
    return parts


def expected_values(comment: str) -> list[str] | None:
    """Return the values an inline comment claims, or None for a prose comment."""
    if not _VALUE_START.match(comment):
        return None
    claim = _top_level_cut(comment, ": ")[0].strip()
    return [part.strip() for part in _top_level_cut(claim, " | ")]


def matches(expected: str, got: str) -> bool:
    return _CHECKER.check_output(expected + "\n", got + "\n", _FLAGS)


def run_block(source: str, namespace: dict[str, object]) -> list[str]:
    """Run one block statement by statement; return the failed claims."""
    lines = source.splitlines()
    failures = []
    statements = ast.parse(source).body
    for index, statement in enumerate(statements):
        code = ast.get_source_segment(source, statement)
        assert code is not None
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            if isinstance(statement, ast.Expr):
                expression = compile(ast.Expression(statement.value), "<README>", "eval")
                value = eval(expression, namespace)
            else:
                exec(compile(ast.Module([statement], []), "<README>", "exec"), namespace)
                value = None
        end = statement.end_lineno or statement.lineno
        last = lines[end - 1]
        if "  # " in last and isinstance(statement, ast.Expr):
            claims = expected_values(last.split("  # ", 1)[1])
            if claims is not None and not any(matches(claim, repr(value)) for claim in claims):
                failures.append(f"{code!r}: the comment says {claims}, got {value!r}")
        # Full-line comments after a statement that printed: its output.
        following = statements[index + 1].lineno - 1 if index + 1 < len(statements) else None
        comments = []
        for line in lines[end:following]:
            if not line.startswith("#"):
                break
            comments.append(line[2:] if line.startswith("# ") else line[1:])
        printed = output.getvalue().rstrip("\n")
        if not printed and isinstance(statement, ast.Expr):
            printed = str(value)  # an expression's comment shows its str, as print would
        if comments and printed and not matches("\n".join(comments), printed):
            failures.append(f"{code!r}: the comments show\n{comments}\nbut it printed\n{printed}")
    return failures


@pytest.fixture
def in_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shipped_dir: Path) -> Path:
    shutil.copytree(shipped_dir, tmp_path / "my_priors")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=lambda path: path.parent.name + "/" + path.name)
def test_readme_examples_run_and_show_what_they_print(path: Path, in_a_folder: Path) -> None:
    """Check every Python block runs and every value or output its comments show holds."""
    import matplotlib as mpl

    mpl.use("Agg")
    namespace: dict[str, object] = {}
    failures = []
    for block in python_blocks(path):
        failures += run_block(block, namespace)
    assert not failures, "\n\n".join(failures)


def test_the_comment_checker_catches_a_wrong_example() -> None:
    """Check the checker itself: a comment that does not hold is reported."""
    namespace: dict[str, object] = {}
    assert run_block("x = 0.34\nx  # 0.34\n", namespace) == []
    assert run_block("x = 0.34\nx  # 0.8...\n", namespace)
    assert run_block("print('a b')\n# a b\n", namespace) == []
    assert run_block("print('a c')\n# a b\n", namespace)
    assert run_block("'a b'\n# a c\n", namespace)
    assert run_block("x = 'b'\nx  # 'a' | 'b': prose\n", namespace) == []
    assert run_block("x = 1\nx  # prose only\n", namespace) == []


def test_findings_table_lists_every_finding() -> None:
    """Check the README's findings table names every finding of the vocabulary, with states."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    categories = {
        "history": "history",
        "examination": "examination",
        "risk factors": "risk_factor",
        "investigations": "investigation",
    }
    listed: dict[str, tuple[str, str]] = {}
    for name, category in categories.items():
        row = re.search(rf"^\| {name} \| (.*) \|$", text, re.M)
        assert row is not None, name
        for finding, states in re.findall(r"`(\w+)`(?: \(([^)]*)\))?", row.group(1)):
            listed[finding] = (category, states)
    vocabulary = calfdx.vocabulary()
    assert set(listed) == set(vocabulary)
    for name, finding in vocabulary.items():
        category, states = listed[name]
        assert category == finding.category, name
        shown = tuple(states.split(" / ")) if states else ("yes", "no")
        assert shown == finding.states, name
