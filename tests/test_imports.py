"""Keep the import graph of ``src/calfdx`` one-way: façades on top, features below, no cycle.

The layers mirror the target layout (``design/layout.md``): a module may import modules of
its own layer or below, never above, and the whole graph (module-level imports, imports
inside functions and imports under ``if TYPE_CHECKING:``) has no cycle.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import calfdx

PACKAGE = Path(calfdx.__file__).parent

#: Module → layer. A module imports only modules of its own layer or below.
LAYERS: dict[str, int] = {
    # leaves
    "_exceptions": 0,
    "_version": 0,
    "_codes": 0,
    "_format": 0,
    "_jit": 0,
    "_checks": 1,
    # the tables: schema, checks of rows and files, reading
    "_schema": 2,
    "_rows": 3,
    "_validate": 4,
    "_optional": 4,
    "_tables": 5,
    # what is compiled from the tables
    "_edit": 6,
    "_evidence": 6,
    "_likelihood": 6,
    "_inference": 6,
    "_network": 6,
    "_kernels": 7,
    "_core": 8,
    # features, on the compiled record and the posterior record
    "_plots": 9,
    "_fhir": 9,
    "_triage": 9,
    "_explain": 10,
    "_conflict": 10,
    "_wells": 10,
    "_uncertainty": 10,
    "_batch": 10,
    "_evaluate": 11,
    "_simulate": 9,
    "_learn": 12,
    "_targets": 12,
    "_calibrate": 13,
    # façades
    "_results": 14,
    "_model": 15,
    "_api": 16,
    "__init__": 17,
    "cli": 18,
    "fhir": 18,
    "sklearn": 18,
    "__main__": 19,
}

#: What no module below the façades may pull in, even indirectly.
FACADES = ("_results", "_model", "_api", "cli", "fhir", "sklearn", "__main__")


def _imports(path: Path) -> Iterator[str]:
    """Yield the calfdx modules ``path`` imports, at any level of the file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module is not None:
                parts = node.module.split(".")
                if parts[0] != "calfdx":
                    continue
                module = parts[1] if len(parts) > 1 else None
            elif node.level == 1:
                module = node.module.split(".")[0] if node.module else None
            else:
                continue
            if module is None:  # `from . import x` or `from calfdx import x`
                for alias in node.names:
                    yield alias.name if alias.name in LAYERS else "__init__"
            else:
                yield module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "calfdx":
                    yield parts[1] if len(parts) > 1 else "__init__"


def _graph() -> dict[str, set[str]]:
    return {
        path.stem: {m for m in _imports(path) if m != path.stem}
        for path in sorted(PACKAGE.glob("*.py"))
    }


def test_every_module_has_a_layer() -> None:
    assert set(_graph()) == set(LAYERS)


def test_no_module_imports_upward() -> None:
    upward = [
        f"{module} (layer {LAYERS[module]}) imports {target} (layer {LAYERS[target]})"
        for module, targets in _graph().items()
        for target in sorted(targets)
        if LAYERS.get(target, -1) > LAYERS.get(module, -1)
    ]
    assert upward == []


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """Return one cycle of ``graph`` (a closed path of modules), or an empty list."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_import_graph_is_acyclic() -> None:
    assert " -> ".join(_cycle(_graph())) == ""


def test_cycle_finder() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


LOW = sorted(
    (name for name in LAYERS if name not in FACADES and name != "__init__"), key=LAYERS.__getitem__
)


@pytest.mark.parametrize("module", LOW)
def test_low_module_pulls_in_no_facade(module: str) -> None:
    """Import one module in a fresh interpreter, without running ``calfdx/__init__.py``."""
    probe = (
        "import importlib, json, sys, types\n"
        "package = types.ModuleType('calfdx')\n"
        f"package.__path__ = [{str(PACKAGE)!r}]\n"
        "sys.modules['calfdx'] = package\n"
        f"importlib.import_module('calfdx.{module}')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('calfdx.'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    loaded = {name.removeprefix("calfdx.") for name in json.loads(done.stdout)}
    assert loaded & set(FACADES) == set()


#: Issue 11: no module over about 500 lines of code (docstrings, comments and blank lines
#: not counted), so that each file does one job.
MAX_CODE_LINES = 500


def _code_lines(source: str) -> int:
    """Count the lines of code of a module: not blank, not a comment, not in a docstring."""
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return sum(
        1
        for number, line in enumerate(source.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#") and number not in docstrings
    )


def test_code_line_counter() -> None:
    source = (
        '"""Doc.\n\nMore."""\n\n# comment\nx = 1\n\n\ndef f():\n    """Doc."""\n    return x\n'
    )
    assert _code_lines(source) == 3


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda path: path.name)
def test_no_module_is_too_long(path: Path) -> None:
    assert _code_lines(path.read_text(encoding="utf-8")) <= MAX_CODE_LINES
