"""Parse a CSV table file into rows, and check single fields, collecting every problem.

A checker never raises: it adds a :class:`~calfdx.TableProblem` (file, line as an editor shows
it, column, message) to the collector and returns what it could read, so that one pass over a
folder reports every problem. The checks of whole files are in ``_validate.py``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from ._checks import ESS_RANGE
from ._codes import snomed_problem
from ._exceptions import TableProblem
from ._schema import _ALL_COLUMNS, DEFAULT_ESS, OPTIONAL_COLUMNS, SOURCE_TYPES, Source

__all__ = ["MAX_PROBLEMS", "parse_number"]

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")

#: Problems kept in memory when checking a folder (the rest are only counted), so that a
#: million broken rows cannot exhaust memory; TableError's message shows fewer still.
MAX_PROBLEMS: Final = 1000
#: A number in a table: ASCII digits with an optional sign, decimal point and exponent.
#: Python's float() also takes "0.6_1", "nan", Arabic-Indic and full-width digits; the
#: tables do not.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_number(text: str) -> float | None:
    """Return the value of a number written in a table, or None when it is not one.

    Examples
    --------
    >>> parse_number("0.045"), parse_number("4.5e-2"), parse_number("0.6_1"), parse_number("nan")
    (0.045, 0.045, None, None)
    """
    if not _NUMBER.fullmatch(text):
        return None
    return float(text)


@dataclass(slots=True)
class _Row:
    line: int
    values: dict[str, str]


@dataclass(slots=True)
class _Collector:
    problems: list[TableProblem] = field(default_factory=list)
    #: Every problem found, including those beyond MAX_PROBLEMS that were not kept.
    count: int = 0

    def add(self, file: str, line: int | None, column: str | None, message: str) -> None:
        self.count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(TableProblem(file, line, column, message))


def _parse_csv(name: str, data: bytes, out: _Collector) -> list[_Row] | None:
    """Parse one CSV file into rows keyed by column name; None when it cannot be read."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        out.add(name, None, None, f"the file is not valid UTF-8 ({error.reason}).")
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        out.add(name, 1, None, "the file is empty; expected a header row.")
        return None
    except csv.Error as error:
        out.add(name, 1, None, f"the header cannot be parsed as CSV ({error}).")
        return None
    header = [column.strip() for column in header]
    expected = _ALL_COLUMNS[name]
    optional = [column for column in OPTIONAL_COLUMNS.get(name, ()) if column in header]
    missing = [column for column in expected if column not in header]
    extra = [column for column in header if column not in (*expected, *optional)]
    duplicated = sorted({column for column in header if header.count(column) > 1})
    if missing:
        out.add(name, 1, None, f"missing columns {missing}. Expected columns: {list(expected)}.")
    if extra:
        out.add(name, 1, None, f"unexpected columns {extra}. Expected columns: {list(expected)}.")
    if duplicated:
        out.add(name, 1, None, f"columns {duplicated} appear more than once.")
    if missing or duplicated:
        return None
    rows: list[_Row] = []
    previous_end = reader.line_num
    try:
        for fields in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not fields or all(not value.strip() for value in fields):
                continue
            if len(fields) != len(header):
                out.add(
                    name,
                    line,
                    None,
                    f"expected {len(header)} fields, got {len(fields)}. "
                    "Quote any field that contains a comma.",
                )
                continue
            values = {column: value.strip() for column, value in zip(header, fields, strict=True)}
            nul = [column for column, value in values.items() if "\0" in value]
            if nul:
                out.add(name, line, nul[0], "the field holds a NUL byte (\\0); remove it.")
                continue
            rows.append(_Row(line, {column: values[column] for column in (*expected, *optional)}))
    except csv.Error as error:
        out.add(name, reader.line_num, None, f"the file cannot be parsed as CSV ({error}).")
    return rows


def _check_identifier(name: str, row: _Row, column: str, what: str, out: _Collector) -> bool:
    value = row.values[column]
    if _IDENTIFIER.fullmatch(value):
        return True
    shown = "an empty value" if not value else repr(value)
    out.add(
        name,
        row.line,
        column,
        f"expected a {what} id of lowercase letters, digits and underscores, "
        f"starting with a letter. Got {shown} instead.",
    )
    return False


def _check_text(name: str, row: _Row, column: str, out: _Collector) -> None:
    if not row.values[column]:
        out.add(name, row.line, column, "expected a non-empty text. Got an empty value instead.")


def _check_choice(
    name: str, row: _Row, column: str, allowed: tuple[str, ...], out: _Collector
) -> bool:
    value = row.values[column]
    if value in allowed:
        return True
    out.add(name, row.line, column, f"expected one of {list(allowed)}. Got {value!r} instead.")
    return False


def _parse_probability(name: str, row: _Row, out: _Collector) -> float | None:
    text = row.values["probability"]
    value = parse_number(text)
    if value is None:
        shown = "an empty value" if not text else repr(text)
        out.add(
            name,
            row.line,
            "probability",
            f"expected a number (digits 0-9, e.g. 0.045). Got {shown} instead.",
        )
        return None
    if not 0.0 < value < 1.0:
        out.add(
            name,
            row.line,
            "probability",
            "expected a probability strictly between 0 and 1 (rule 2 of priors/README.md: "
            f"use a floor such as 0.005 or 0.995, never 0 or 1). Got {text} instead.",
        )
        return None
    return value


def _parse_ess(name: str, row: _Row, out: _Collector) -> float:
    """Return the row's effective sample size (its own, or the default by source type)."""
    text = row.values.get("ess", "")
    default = DEFAULT_ESS.get(row.values["source_type"], min(DEFAULT_ESS.values()))
    if not text:
        return default
    value = parse_number(text)
    low, high = ESS_RANGE
    if value is None or not low <= value <= high:
        out.add(
            name,
            row.line,
            "ess",
            f"expected a number of patients from {low:g} to {high:g} (or empty for the "
            f"default of its source_type). Got {text!r} instead.",
        )
        return default
    return value


def _check_provenance(
    name: str,
    row: _Row,
    sources: Mapping[str, Source],
    out: _Collector,
    reasoning: str = "reasoning",
) -> None:
    if not _check_choice(name, row, "source_type", SOURCE_TYPES, out):
        return
    source_type = row.values["source_type"]
    source_id = row.values["source_id"]
    if source_id and source_id not in sources:
        out.add(
            name,
            row.line,
            "source_id",
            f"unknown source {source_id!r}; every source_id must be a row of sources.csv.",
        )
    if source_type != "expert_estimate" and not source_id:
        out.add(
            name,
            row.line,
            "source_id",
            f"a {source_type} number needs a source_id (a row of sources.csv). "
            "Got an empty value instead.",
        )
    if source_type == "expert_estimate" and not row.values[reasoning]:
        out.add(
            name,
            row.line,
            reasoning,
            "an expert_estimate needs its reasoning: what anchors the number and why this "
            "value. Got an empty value instead.",
        )


def _check_code(
    name: str, row: _Row, column: str, problem: Callable[[str], str | None], out: _Collector
) -> str:
    """Return the row's code in ``column`` ('' when absent or invalid; problems collected)."""
    code = row.values.get(column, "")
    if not code:
        return ""
    message = problem(code)
    if message is not None:
        out.add(name, row.line, column, message)
        return ""
    return code


def _check_code_sources(
    name: str, row: _Row, sources: Mapping[str, Source], coded: bool, out: _Collector
) -> None:
    """Check the row's ``code_source_id``: known sources, and present when a code is given."""
    text = row.values.get("code_source_id", "")
    ids = [part.strip() for part in text.split("|")] if text else []
    unknown = [source_id for source_id in ids if source_id not in sources]
    if unknown:
        out.add(
            name,
            row.line,
            "code_source_id",
            f"unknown sources {unknown}; every code_source_id must be a row of sources.csv "
            "(separate several with '|').",
        )
    if coded and not ids:
        out.add(
            name,
            row.line,
            "code_source_id",
            "a code needs the source it was verified in (a row of sources.csv). "
            "Got an empty value instead.",
        )


def _state_codes(
    name: str, row: _Row, states: tuple[str, ...], out: _Collector
) -> tuple[tuple[str, str], ...]:
    """Parse ``state:code|state:code`` (SNOMED CT ids for individual states)."""
    text = row.values.get("state_codes", "")
    pairs: list[tuple[str, str]] = []
    if not text:
        return ()
    for term in text.split("|"):
        state, sep, code = (part.strip() for part in term.partition(":"))
        if not sep or state not in states:
            detail = "expected state:code" if not sep else f"unknown state {state!r}"
            out.add(
                name,
                row.line,
                "state_codes",
                f"each term must be state:code, joined by '|'; {detail}. "
                f"Allowed states: {list(states)}. Got {term.strip()!r} instead.",
            )
            continue
        if any(state == seen for seen, _ in pairs):
            out.add(name, row.line, "state_codes", f"state {state!r} is coded more than once.")
            continue
        message = snomed_problem(code)
        if message is not None:
            out.add(name, row.line, "state_codes", f"state {state!r}: {message}")
            continue
        pairs.append((state, code))
    return tuple(pairs)


def _duplicate(
    seen: dict[tuple[str, ...], int], key: tuple[str, ...], name: str, row: _Row, out: _Collector
) -> bool:
    first = seen.get(key)
    if first is not None:
        out.add(name, row.line, None, f"duplicate row for {key}; first given on line {first}.")
        return True
    seen[key] = row.line
    return False


def _parse_min_ratio(name: str, row: _Row, out: _Collector) -> float | bool | None:
    """Return the row's ``min_likelihood_ratio``: None when empty, False when invalid."""
    text = row.values.get("min_likelihood_ratio", "").strip()
    if not text:
        return None
    try:
        ratio = float(text)
    except ValueError:
        ratio = math.nan
    if not 1.0 <= ratio < math.inf:
        out.add(
            name,
            row.line,
            "min_likelihood_ratio",
            f"expected a finite number of at least 1 (or empty). Got {text!r} instead.",
        )
        return False
    return ratio


def _parse_number(name: str, row: _Row, column: str, out: _Collector) -> float | None:
    text = row.values[column]
    value = parse_number(text)
    if value is None or not math.isfinite(value):
        shown = "an empty value" if not text else repr(text)
        out.add(name, row.line, column, f"expected a finite number. Got {shown} instead.")
        return None
    return value
