"""Sphinx extension of the calfdx docs: pages generated at build time, never committed.

At ``builder-inited`` it writes ``docs/_generated/`` afresh:

* ``api.md``: the API reference, an autosummary of every name in ``calfdx.__all__`` (grouped
  by kind) and of every public submodule (``calfdx.cli`` and any added later);
* ``notebooks/``: copies of ``notebooks/*.ipynb``, executed by myst-nb during the build;
* ``evidence/``: the knowledge base read from ``priors/``: an index, one page per finding,
  and one page for every other CSV file in the folder (whatever its columns).

The ``calfdx-csv`` directive renders rows of a CSV file of ``priors/`` as a table of plain
text (no markup is interpreted, so any cell is safe), optionally filtered by column values;
source ids become links to the source's row on the sources page. The pages are generic: a new
column or a new CSV file in ``priors/`` appears without a change here.
"""

from __future__ import annotations

import csv
import enum
import importlib
import inspect
import pkgutil
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
PRIORS = ROOT / "priors"
NOTEBOOKS = ROOT / "notebooks"
GENERATED = DOCS / "_generated"
SOURCES_DOC = "_generated/evidence/sources"
#: Columns that hold source ids (several may be joined by "|").
SOURCE_COLUMNS = ("source_id", "code_source_id")
#: Files with a page of their own in the evidence index (others get a generic page).
CORE_FILES = ("causes.csv", "findings.csv", "priors.csv", "likelihoods.csv", "sources.csv")


# --------------------------------------------------------------------------------------------
# Reading the tables (generic: whatever columns and files exist)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Return the header and the rows of a CSV file, cells stripped, blank rows skipped."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [column.strip() for column in next(reader, [])]
        rows = [
            dict(zip(header, (cell.strip() for cell in fields), strict=False))
            for fields in reader
            if any(cell.strip() for cell in fields)
        ]
    return header, rows


def csv_files(priors: Path = PRIORS) -> list[Path]:
    """Every CSV file of the folder, core files first, then the others by name."""
    files = sorted(priors.glob("*.csv"))
    core = [priors / name for name in CORE_FILES if (priors / name).exists()]
    return core + [path for path in files if path.name not in CORE_FILES]


# --------------------------------------------------------------------------------------------
# The directive


def _where(text: str) -> dict[str, str]:
    pairs = {}
    for term in text.split(","):
        column, _, value = term.partition("=")
        pairs[column.strip()] = value.strip()
    return pairs


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


class CsvTable(SphinxDirective):
    """Render rows of ``priors/<file>`` as a plain-text table.

    Options: ``where`` (``column=value, ...``), ``drop`` (columns to leave out),
    ``anchor`` (a column whose value gives each row an id ``<column>-<value>``).
    """

    required_arguments = 1
    option_spec: dict[str, Any] = {  # noqa: RUF012 (docutils API)
        "where": directives.unchanged,
        "drop": directives.unchanged,
        "anchor": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        """Return the table of the file's rows (filtered), or a sentence when none is left."""
        path = PRIORS / self.arguments[0]
        self.env.note_dependency(str(path))
        header, rows = read_csv(path)
        where = _where(self.options.get("where", "")) if "where" in self.options else {}
        rows = [row for row in rows if all(row.get(c) == v for c, v in where.items())]
        columns = [c for c in header if c not in set(_names(self.options.get("drop", "")))]
        if not rows:
            return [nodes.paragraph(text=f"No rows in {path.name}.")]
        return [self._table(columns, rows, self.options.get("anchor"))]

    def _cell(self, column: str, value: str) -> nodes.Node:
        paragraph = nodes.paragraph()
        if column in SOURCE_COLUMNS and value:
            ids = [part.strip() for part in value.split("|")]
            for index, source_id in enumerate(ids):
                if index:
                    paragraph += nodes.Text(" | ")
                uri = self.env.app.builder.get_relative_uri(self.env.docname, SOURCES_DOC)
                anchor = nodes.make_id(f"source_id-{source_id}")
                paragraph += nodes.reference(source_id, source_id, refuri=f"{uri}#{anchor}")
        elif column == "url" and value.startswith(("http://", "https://")):
            paragraph += nodes.reference(value, value, refuri=value)
        else:
            paragraph += nodes.Text(value)
        return paragraph

    def _table(
        self, columns: list[str], rows: Iterable[dict[str, str]], anchor: str | None
    ) -> nodes.table:
        table = nodes.table(classes=["calfdx-evidence"])
        group = nodes.tgroup(cols=len(columns))
        table += group
        for _ in columns:
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        group += head
        title_row = nodes.row()
        for column in columns:
            title_row += nodes.entry("", nodes.paragraph(text=column))
        head += title_row
        body = nodes.tbody()
        group += body
        for values in rows:
            row = nodes.row()
            if anchor and values.get(anchor):
                row["ids"].append(nodes.make_id(f"{anchor}-{values[anchor]}"))
            for column in columns:
                row += nodes.entry("", self._cell(column, values.get(column, "")))
            body += row
        return table


# --------------------------------------------------------------------------------------------
# Generated pages


def _heading(text: str, level: int = 1) -> str:
    return f"{'#' * level} {text}\n"


def _escape(text: str) -> str:
    """Text shown as written in MyST: every ASCII punctuation character backslash-escaped."""
    return "".join(f"\\{char}" if char in _PUNCTUATION else char for char in text)


_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _csv_block(name: str, **options: str) -> str:
    lines = [f"```{{calfdx-csv}} {name}"]
    lines += [f":{key}: {value}" for key, value in options.items() if value]
    return "\n".join([*lines, "```", ""])


def evidence_pages(priors: Path = PRIORS) -> dict[str, str]:
    """Return the Evidence pages (page name → MyST text) for a folder of tables."""
    pages: dict[str, str] = {}
    files = csv_files(priors)
    names = [path.name for path in files]
    _, findings = read_csv(priors / "findings.csv") if "findings.csv" in names else ([], [])
    _, causes = read_csv(priors / "causes.csv") if "causes.csv" in names else ([], [])
    with_finding = [
        path.name
        for path in files
        if path.name != "findings.csv" and "finding" in read_csv(path)[0]
    ]
    other = [name for name in names if name not in CORE_FILES]

    toc = ["causes", "findings/index"]
    toc += ["priors"] if "priors.csv" in names else []
    toc += [Path(name).stem for name in other]
    toc += ["sources"] if "sources.csv" in names else []
    pages["index"] = "\n".join(
        [
            _heading("Evidence"),
            "Every number of the knowledge base, with its `source_type`, its source and its",
            "reasoning, read from the CSV tables in `priors/` when these pages were built (so",
            "they cannot drift from the tables). The tables' rules and the weakest numbers are",
            "explained in `priors/README.md`; use the search box to find a finding, a cause or",
            "a source.",
            "",
            f"The tables: {', '.join(f'`{name}`' for name in names)}.",
            "",
            "```{toctree}",
            ":maxdepth: 1",
            "",
            *toc,
            "```",
            "",
        ]
    )
    pages["causes"] = "\n".join(
        [
            _heading("Causes"),
            f"The {len(causes)} causes of the differential (`causes.csv`), with their codes "
            "where verified. Their priors, by setting, are on the [priors](priors.md) page.",
            "",
            _csv_block("causes.csv", anchor="cause"),
        ]
    )
    finding_ids = [row["finding"] for row in findings if row.get("finding")]
    pages["findings/index"] = "\n".join(
        [
            _heading("Findings"),
            f"The {len(finding_ids)} findings (`findings.csv`): the question a clinician "
            "reads, and the states it can take. Each finding has a page with P(state | cause) "
            "for every cause, from `likelihoods.csv`.",
            "",
            _csv_block("findings.csv", anchor="finding"),
            "```{toctree}",
            ":maxdepth: 1",
            ":caption: One page per finding",
            "",
            *finding_ids,
            "```",
            "",
        ]
    )
    for row in findings:
        finding = row.get("finding", "")
        if not finding:
            continue
        parts = [
            _heading(finding),
            f"**Question.** {_escape(row.get('question', ''))}",
            "",
            f"**States.** {', '.join(_escape(s) for s in row.get('states', '').split('|'))}",
            "",
            _heading("The row in findings.csv", 2),
            _csv_block("findings.csv", where=f"finding={finding}", drop="question"),
        ]
        for name in with_finding:
            parts += [
                _heading(f"{name}", 2),
                _csv_block(name, where=f"finding={finding}", drop="finding"),
            ]
        pages[f"findings/{finding}"] = "\n".join(parts)
    if "priors.csv" in names:
        _, rows = read_csv(priors / "priors.csv")
        settings = list(dict.fromkeys(row.get("setting", "") for row in rows))
        parts = [
            _heading("Priors"),
            "P(cause) before any finding, one table per setting (`priors.csv`).",
            "",
        ]
        for setting in settings:
            parts += [
                _heading(setting, 2),
                _csv_block("priors.csv", where=f"setting={setting}", drop="setting"),
            ]
        pages["priors"] = "\n".join(parts)
    for name in other:
        pages[Path(name).stem] = "\n".join(
            [_heading(f"{Path(name).stem}"), f"Every row of `{name}`.", "", _csv_block(name)]
        )
    if "sources.csv" in names:
        pages["sources"] = "\n".join(
            [
                _heading("Sources"),
                "Every cited work (`sources.csv`): the citation shows only what was seen in the "
                "page read, and the URL is where it was read.",
                "",
                _csv_block("sources.csv", anchor="source_id"),
            ]
        )
    return pages


def api_page() -> str:
    """Return the API reference page: autosummary of ``calfdx.__all__`` and submodules."""
    calfdx = importlib.import_module("calfdx")
    groups: dict[str, list[str]] = {
        "Functions": [],
        "Classes": [],
        "Exceptions and warnings": [],
        "Constants": [],
    }
    for name in sorted(calfdx.__all__, key=str.lower):
        obj = getattr(calfdx, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            groups["Exceptions and warnings"].append(name)
        elif inspect.isclass(obj) and not issubclass(obj, enum.Enum):
            groups["Classes"].append(name)
        elif callable(obj) and not inspect.isclass(obj):
            groups["Functions"].append(name)
        else:
            groups["Constants"].append(name)
    modules = sorted(
        f"calfdx.{module.name}"
        for module in pkgutil.iter_modules(calfdx.__path__)
        if not module.name.startswith("_")
    )
    parts = [
        _heading("API reference"),
        "Generated from the docstrings of every name in `calfdx.__all__` and of every public",
        "submodule, so a new public name appears here without editing this page.",
        "",
    ]
    for title, names in groups.items():
        if not names:
            continue
        parts += [
            _heading(title, 2),
            "```{eval-rst}",
            ".. autosummary::",
            "   :toctree: api",
            "",
            *(f"   calfdx.{name}" for name in names),
            "```",
            "",
        ]
    parts += [
        _heading("Modules", 2),
        "```{eval-rst}",
        ".. autosummary::",
        "   :toctree: api",
        "   :template: module.rst",
        "",
        *(f"   {module}" for module in modules),
        "```",
        "",
    ]
    return "\n".join(parts)


def generate(app: Sphinx | None = None) -> dict[str, str]:
    """Write docs/_generated afresh; return {page: text} (also used by the tests)."""
    pages = {"api": api_page()}
    pages.update({f"evidence/{page}": text for page, text in evidence_pages().items()})
    if app is None:
        return pages
    if GENERATED.exists():
        shutil.rmtree(GENERATED)
    for page, text in pages.items():
        target = GENERATED / f"{page}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    notebooks = GENERATED / "notebooks"
    notebooks.mkdir(parents=True, exist_ok=True)
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        shutil.copy2(path, notebooks / path.name)
    return pages


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive and the page generator."""
    app.add_directive("calfdx-csv", CsvTable)
    # Before autosummary's own builder-inited handler, which writes the stubs of api.md.
    app.connect("builder-inited", generate, priority=100)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
