"""Read a folder of prior and likelihood tables, check it, and assemble one setting's tables.

The CSV tables in ``priors/`` are the single source of truth (documented column by column in
``priors/README.md``). This module reads them, has every row checked (``_rows.py``,
``_validate.py``, ``_optional.py``), collects every problem with its file, line and column,
and raises one :class:`~calfdx.TableError` listing them all. On success it returns an
immutable :class:`~calfdx._schema.Tables`: the vocabulary, the prior of each cause for one
setting, and one likelihood matrix per finding, keyed by state and cause names (never by
position in the file).

Data flows one way: files → :class:`~calfdx._schema.Tables` → network / compiled engine →
results.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._checks import describe, text
from ._exceptions import InvalidOptionError, TableError, TableProblem
from ._optional import _red_flags, _targets, _triage
from ._rows import _Collector, _parse_csv, _parse_ess, _Row
from ._schema import (
    _ALL_COLUMNS,
    _FILE_ORDER,
    DEFAULT_SETTING,
    OPTIONAL_FILES,
    TABLE_FILES,
    Cause,
    Finding,
    FloatArray,
    RedFlag,
    Source,
    Tables,
    Target,
)
from ._validate import _causes, _findings, _likelihoods, _priors, _sources

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "build_tables",
    "default_tables_dir",
    "parse_targets",
    "read_files",
    "read_tables",
    "table_frame",
    "table_problems",
]


def _readonly(array: FloatArray) -> FloatArray:
    array.flags.writeable = False
    return array


# --------------------------------------------------------------------------------------------
# Reading


def default_tables_dir() -> Traversable:
    """Return the folder of the tables shipped with calfdx.

    In an installed wheel the tables live in the package (``calfdx/data/priors``); in a
    source checkout (an editable install) they are the top-level ``priors/`` folder.
    """
    packaged = resources.files("calfdx").joinpath("data", "priors")
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "priors"
    if checkout.is_dir():
        return checkout
    msg = (
        "The tables shipped with calfdx were not found: neither the package data "
        f"({packaged}) nor a source checkout's priors/ folder ({checkout}) exists. "
        "Reinstall calfdx, or pass the folder of tables explicitly: load_model(path)."
    )
    raise FileNotFoundError(msg)


def table_frame(rows: tuple[dict[str, str], ...], name: str) -> pd.DataFrame:
    """Return the rows of a probability table as a new DataFrame (numbers as floats)."""
    import pandas as pd

    columns = list(rows[0]) if rows else list(_ALL_COLUMNS[name])
    frame = pd.DataFrame(list(rows), columns=columns)
    frame["probability"] = frame["probability"].astype(float)
    if "ess" in frame.columns:
        frame["ess"] = pd.to_numeric(frame["ess"].replace("", None), errors="coerce")
    return frame


@dataclass(slots=True)
class _Content:
    sources: dict[str, Source]
    causes: dict[str, Cause]
    findings: dict[str, Finding]
    priors: dict[str, dict[str, float]]
    likelihoods: dict[tuple[str, str, str], dict[str, float]]
    rows: dict[str, list[_Row]]
    red_flags: tuple[RedFlag, ...] = ()
    triage: dict[str, float] | None = None
    targets: tuple[Target, ...] = ()
    triage_evidence: dict[str, float] = field(default_factory=dict)
    # (setting, cause) -> ess; (finding, cause, parent state) -> ess (smallest over the states)
    prior_ess: dict[tuple[str, str], float] = field(default_factory=dict)
    likelihood_ess: dict[tuple[str, str, str], float] = field(default_factory=dict)
    #: How many problems were found (more than are kept when there are very many).
    problem_count: int = 0


def read_files(folder: Traversable) -> dict[str, bytes]:
    """Return the bytes of every table file present in ``folder`` (required and optional)."""
    files = {}
    problems = []
    for name in _FILE_ORDER:
        entry = folder.joinpath(name)
        try:
            if entry.is_file():
                files[name] = entry.read_bytes()
        except OSError as error:  # unreadable (permissions), a path too long, an I/O error
            reason = error.strerror or type(error).__name__
            message = f"the file cannot be read ({reason})."
            problems.append(TableProblem(name, None, None, message))
    if problems:
        raise TableError(str(folder), problems)
    return files


def _collect(files: Mapping[str, bytes], source: str) -> tuple[_Content, list[TableProblem], str]:
    out = _Collector()
    digest = hashlib.sha256()
    parsed: dict[str, list[_Row]] = {}
    unreadable: set[str] = set()  # files whose rows cannot be checked for completeness
    for name in TABLE_FILES:
        data = files.get(name)
        if data is None:
            out.add(name, None, None, f"the file is missing from the folder {source}.")
        rows = None
        if data is not None:
            digest.update(name.encode() + b"\0" + data + b"\0")
            rows = _parse_csv(name, data, out)
        if rows is None:
            unreadable.add(name)
        parsed[name] = rows or []
    sources = _sources(parsed["sources.csv"], out)
    causes = _causes(parsed["causes.csv"], out, sources)
    findings = _findings(parsed["findings.csv"], out, sources)
    declared_causes = frozenset(row.values["cause"] for row in parsed["causes.csv"])
    priors = _priors(parsed["priors.csv"], causes, sources, out, declared_causes)
    # Rows of a file are checked against the vocabulary only when the vocabulary was readable;
    # otherwise every row would be reported again as a consequence of one broken header.
    readable = not unreadable & {"causes.csv", "findings.csv", "likelihoods.csv"}
    declared = frozenset(row.values["finding"] for row in parsed["findings.csv"])
    likelihoods = _likelihoods(
        parsed["likelihoods.csv"],
        causes if readable else {},
        findings if readable else {},
        sources,
        out,
        declared,
        declared_causes,
    )
    optional: dict[str, list[_Row]] = {}
    for name in OPTIONAL_FILES:
        if name in files:
            data = files[name]
            digest.update(name.encode() + b"\0" + data + b"\0")
            optional[name] = _parse_csv(name, data, out) or []
    red_flags = _red_flags(optional.get("red_flags.csv", []), findings, sources, out)
    triage, triage_evidence = _triage(optional.get("triage.csv", []), sources, out)
    targets = _targets(
        optional.get("targets.csv", []),
        causes if readable else {},
        findings if readable else {},
        frozenset(priors),
        sources,
        out,
    )
    prior_ess = {
        (row.values["setting"], row.values["cause"]): _parse_ess("priors.csv", row, out)
        for row in parsed["priors.csv"]
    }
    likelihood_ess: dict[tuple[str, str, str], float] = {}
    for row in parsed["likelihoods.csv"]:
        key = (row.values["finding"], row.values["cause"], row.values.get("parent_state", ""))
        value = _parse_ess("likelihoods.csv", row, out)
        likelihood_ess[key] = min(value, likelihood_ess.get(key, value))
    content = _Content(
        sources,
        causes,
        findings,
        priors,
        likelihoods,
        parsed,
        red_flags,
        triage,
        targets,
        triage_evidence,
        prior_ess,
        likelihood_ess,
    )
    content.problem_count = out.count
    problems = sorted(
        out.problems,
        key=lambda p: (_FILE_ORDER.index(p.file), p.line if p.line is not None else 0),
    )
    return content, problems, digest.hexdigest()


def parse_targets(data: bytes, source: str, tables: Tables) -> tuple[Target, ...]:
    """Parse and check a ``targets.csv`` file against the vocabulary of ``tables``.

    Raises
    ------
    TableError
        With every problem found.
    """
    out = _Collector()
    rows = _parse_csv("targets.csv", data, out) or []
    targets = _targets(
        rows,
        {cause.id: cause for cause in tables.causes},
        {finding.id: finding for finding in tables.findings},
        frozenset(tables.settings),
        tables.sources,
        out,
    )
    if out.problems:
        raise TableError(source, out.problems)
    return targets


def _as_folder(path: str | Path | Traversable | None) -> Traversable:
    if path is None:
        return default_tables_dir()
    if isinstance(path, str | os.PathLike) and not isinstance(path, bytes):
        folder = Path(path)
        try:
            is_folder = "\0" not in str(folder) and folder.is_dir()
        except OSError as error:  # e.g. a name too long for the file system
            is_folder = False
            reason = f" ({error.strerror or type(error).__name__})"
        else:
            reason = ""
        if not is_folder:
            msg = (
                f"No folder of tables at {str(folder)[:200]!r}{reason}: it does not exist, "
                "is not a folder or cannot be read."
            )
            raise TableError(str(folder)[:200], [TableProblem(str(folder)[:200], None, None, msg)])
        return folder
    if isinstance(path, Traversable):
        return path
    msg = (
        "path must be a folder of tables (a str, pathlib.Path or importlib Traversable), "
        f"or None for the shipped tables. Got {describe(path)} instead."
    )
    raise InvalidOptionError(msg)


def table_problems(path: str | Path | Traversable | None = None) -> tuple[TableProblem, ...]:
    """Check a folder of tables and return every problem found (empty when valid).

    Parameters
    ----------
    path : str, Path or Traversable, optional
        The folder; default: the tables shipped with calfdx.

    Returns
    -------
    tuple of TableProblem
        Every problem, in file and line order.
    """
    try:
        folder = _as_folder(path)
        files = read_files(folder)
    except TableError as error:
        return error.problems
    return tuple(_collect(files, str(folder))[1])


def read_tables(
    path: str | Path | Traversable | None = None, *, setting: str = DEFAULT_SETTING
) -> Tables:
    """Read, check and assemble a folder of tables for one setting.

    Raises
    ------
    TableError
        With every problem found, when any table is broken.
    InvalidOptionError
        When ``setting`` is not one of the settings in ``priors.csv``.
    """
    folder = _as_folder(path)
    return build_tables(read_files(folder), str(folder), setting=setting)


def _column_keys(finding: Finding, findings: Mapping[str, Finding]) -> tuple[str, ...]:
    """Return the parent states of a finding's column blocks ("" for no parent)."""
    return findings[finding.parent].states if finding.parent else ("",)


def build_tables(
    files: Mapping[str, bytes], source: str, *, setting: str = DEFAULT_SETTING
) -> Tables:
    """Check and assemble tables from file contents (name → bytes); see :func:`read_tables`."""
    text(setting, "setting")
    content, problems, digest = _collect(files, source)
    if problems:
        raise TableError(source, problems, total=content.problem_count)
    causes, findings, priors = content.causes, content.findings, content.priors
    table, rows = content.likelihoods, content.rows
    if setting not in priors:
        msg = (
            f"Unknown setting {setting!r} for the tables in {source}. "
            f"Settings in priors.csv: {sorted(priors)}."
        )
        raise InvalidOptionError(msg)
    cause_ids = list(causes)
    prior = _readonly(np.array([priors[setting][c] for c in cause_ids], dtype=np.float64))
    likelihood = {
        f.id: _readonly(
            np.array(
                [
                    [[table[(f.id, c, k)][state] for c in cause_ids] for k in keys]
                    for state in f.states
                ],
                dtype=np.float64,
            ).reshape(len(f.states), *([-1] if f.parent else []), len(cause_ids))
        )
        for f in findings.values()
        for keys in [_column_keys(f, findings)]
    }
    return Tables(
        source=source,
        setting=setting,
        settings=tuple(priors),
        causes=tuple(causes.values()),
        findings=tuple(findings.values()),
        sources=content.sources,
        prior=prior,
        likelihood=likelihood,
        priors_rows=tuple(row.values for row in rows["priors.csv"]),
        likelihoods_rows=tuple(row.values for row in rows["likelihoods.csv"]),
        content_hash=digest,
        red_flags=content.red_flags,
        triage=content.triage,
        triage_evidence=dict(content.triage_evidence),
        files=dict(files),
        prior_ess=_readonly(np.array([content.prior_ess[(setting, c)] for c in cause_ids])),
        likelihood_ess={
            f.id: _readonly(
                np.array(
                    [[content.likelihood_ess[(f.id, c, k)] for c in cause_ids] for k in keys]
                ).reshape(*([-1] if f.parent else []), len(cause_ids))
            )
            for f in findings.values()
            for keys in [_column_keys(f, findings)]
        },
        setting_priors={
            name: _readonly(np.array([values[c] for c in cause_ids], dtype=np.float64))
            for name, values in priors.items()
        },
        targets=content.targets,
    )
