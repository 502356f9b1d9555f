"""Read and validate a folder of prior and likelihood tables.

The CSV tables in ``priors/`` are the single source of truth (documented column by column in
``priors/README.md``). This module reads them, checks every row, collects every problem with
its file, line and column, and raises one :class:`~calfdx.TableError` listing them all. On
success it returns an immutable :class:`Tables`: the vocabulary, the prior of each cause for
one setting, and one likelihood matrix per finding, keyed by state and cause names (never by
position in the file).

Data flows one way: files → :class:`Tables` → network / compiled engine → results.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
import numpy.typing as npt

from ._checks import ESS_RANGE, describe, text
from ._exceptions import InvalidOptionError, TableError, TableProblem

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CAUSE_NODE",
    "CODE_SYSTEMS",
    "DEFAULT_SETTING",
    "DVT",
    "SOURCE_TYPES",
    "URGENCY_LEVELS",
    "Cause",
    "Finding",
    "Source",
    "Tables",
    "Target",
    "default_tables_dir",
    "icd10_problem",
    "loinc_problem",
    "read_tables",
    "snomed_problem",
    "table_problems",
    "verhoeff_valid",
]

SourceType = Literal["published", "secondary", "expert_estimate"]
Urgency = Literal["emergency", "same_day", "routine", "self_care"]

#: The name of the root node of the network: the cause of the calf pain.
CAUSE_NODE: Final = "cause"
#: The cause the DVT alert is about; every table folder must define it.
DVT: Final = "dvt"
#: The setting the shipped priors describe (people presenting to primary or urgent care).
DEFAULT_SETTING: Final = "primary_care"
#: Allowed values of the ``source_type`` column.
SOURCE_TYPES: Final = ("published", "secondary", "expert_estimate")
#: Allowed values of the ``urgency`` column, most urgent first.
URGENCY_LEVELS: Final = ("emergency", "same_day", "routine", "self_care")
#: Allowed values of the ``statistic`` column of targets.csv.
STATISTICS: Final = ("likelihood_ratio", "probability", "sensitivity", "specificity")
#: Scores a target's evidence may condition on, with their tiers (see ``_targets.py``).
SCORE_TIERS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"wells": ("low", "moderate", "high"), "wells_two": ("unlikely", "likely")}
)
#: Allowed values of the ``category`` column of findings.csv.
CATEGORIES: Final = ("history", "examination", "risk_factor", "investigation")
#: Most findings one finding's family (a parent and its children) may hold: the engine compiles
#: a family into one table with a row per combination of its members' states and "unknown".
MAX_FAMILY: Final = 6
#: Absolute tolerance for probabilities that must sum to one.
SUM_TOLERANCE: Final = 1e-6

COLUMNS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "sources.csv": ("source_id", "citation", "url"),
        "causes.csv": ("cause", "label", "urgency", "description"),
        "findings.csv": ("finding", "category", "states", "question"),
        "priors.csv": ("setting", "cause", "probability", "source_type", "source_id", "reasoning"),
        "likelihoods.csv": (
            "finding",
            "state",
            "cause",
            "probability",
            "source_type",
            "source_id",
            "reasoning",
        ),
    }
)
TABLE_FILES: Final = tuple(COLUMNS)
#: Files a folder of tables may hold besides the required ones (decision support).
OPTIONAL_FILES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "red_flags.csv": (
            "flag",
            "level",
            "condition",
            "message",
            "source_type",
            "source_id",
            "reasoning",
        ),
        "triage.csv": ("level", "threshold", "source_type", "source_id", "reasoning"),
        "targets.csv": (
            "target_id",
            "setting",
            "statistic",
            "cause",
            "evidence",
            "value",
            "ci_low",
            "ci_high",
            "tolerance_reason",
            "source_type",
            "source_id",
            "note",
        ),
    }
)
_ALL_COLUMNS: Final = MappingProxyType({**COLUMNS, **OPTIONAL_FILES})
_FILE_ORDER: Final = (*TABLE_FILES, *OPTIONAL_FILES)
#: Columns a file may have besides its required ones.
OPTIONAL_COLUMNS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "causes.csv": ("icd10", "snomed_ct", "code_source_id", "code_notes"),
        "findings.csv": (
            "parent",
            "cost",
            "snomed_ct",
            "loinc",
            "state_codes",
            "code_source_id",
            "code_notes",
        ),
        "priors.csv": ("ess",),
        "likelihoods.csv": ("parent_state", "ess"),
        "triage.csv": ("min_likelihood_ratio",),
    }
)
#: Code systems of the coded vocabulary (FHIR ``Coding.system`` URIs), by column.
CODE_SYSTEMS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "icd10": "http://hl7.org/fhir/sid/icd-10-cm",
        "snomed_ct": "http://snomed.info/sct",
        "loinc": "http://loinc.org",
    }
)
#: Effective sample size of a number whose row gives none, by source type: how many
#: patients' worth of evidence the number is treated as (see priors/README.md).
DEFAULT_ESS: Final[Mapping[str, float]] = MappingProxyType(
    {"expert_estimate": 20.0, "secondary": 50.0, "published": 100.0}
)

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
# States may start with a digit (e.g. the age band '18_to_39').
_STATE = re.compile(r"[a-z0-9][a-z0-9_]*")
# Finding names that would clash with the cause node or with keyword options of diagnose().
_RESERVED_FINDINGS: Final = frozenset({CAUSE_NODE, "model", "dvt_threshold", "findings"})

FloatArray = npt.NDArray[np.float64]

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


@dataclass(frozen=True, slots=True)
class Cause:
    """A cause of calf pain: its id, human label, urgency, description and codes.

    ``icd10`` is an ICD-10-CM code and ``snomed_ct`` a SNOMED CT concept id; either is an
    empty string where no code could be verified (see ``priors/README.md``).

    Examples
    --------
    >>> import calfdx
    >>> causes = {cause.id: cause for cause in calfdx.load_model().causes}
    >>> causes["achilles_rupture"].codes
    {'icd10': 'S86.0', 'snomed_ct': '429513001'}
    """

    id: str
    label: str
    urgency: Urgency
    description: str
    icd10: str = ""
    snomed_ct: str = ""

    @property
    def codes(self) -> dict[str, str]:
        """The verified codes of the cause, by code system column (empty ones left out)."""
        return {
            name: code
            for name, code in (("icd10", self.icd10), ("snomed_ct", self.snomed_ct))
            if code
        }

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-serialisable dictionary."""
        return {
            "id": self.id,
            "label": self.label,
            "urgency": self.urgency,
            "description": self.description,
            "codes": self.codes,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """A finding of the vocabulary: its id, category, allowed states and question text.

    Examples
    --------
    >>> import calfdx
    >>> swelling = calfdx.load_model().findings["swelling"]
    >>> swelling.states
    ('yes', 'no')
    >>> swelling.category
    'examination'
    """

    id: str
    category: Literal["history", "examination", "risk_factor", "investigation"]
    states: tuple[str, ...]
    question: str
    cost: float = 1.0
    #: SNOMED CT concept id of the finding (for a yes/no finding: what ``yes`` asserts).
    snomed_ct: str = ""
    #: LOINC code of the finding, where one fits (an observation with these states).
    loinc: str = ""
    #: (state, SNOMED CT concept id) pairs for the states that have their own code.
    state_codes: tuple[tuple[str, str], ...] = ()
    #: The finding this one depends on besides the cause ("" for none): its likelihood is
    #: P(finding | parent, cause), one column per state of the parent.
    parent: str = ""

    @property
    def is_yes_no(self) -> bool:
        """Whether the finding's states are exactly ``yes`` and ``no``."""
        return set(self.states) == {"yes", "no"}

    @property
    def codes(self) -> dict[str, object]:
        """The verified codes of the finding (empty ones left out); JSON-friendly.

        Keys: ``snomed_ct``, ``loinc`` and ``states`` (state → SNOMED CT concept id).
        """
        codes: dict[str, object] = {}
        if self.snomed_ct:
            codes["snomed_ct"] = self.snomed_ct
        if self.loinc:
            codes["loinc"] = self.loinc
        if self.state_codes:
            codes["states"] = dict(self.state_codes)
        return codes

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-serialisable dictionary."""
        return {
            "id": self.id,
            "category": self.category,
            "states": list(self.states),
            "question": self.question,
            "cost": self.cost,
            "codes": self.codes,
            "parent": self.parent or None,
        }


@dataclass(frozen=True, slots=True)
class RedFlag:
    """A finding or combination that demands urgent care on its own, whatever the posterior.

    Attributes
    ----------
    id : str
        The flag's id.
    level : str
        ``"emergency"`` or another urgency level.
    condition : tuple of (finding, state)
        Every pair must hold (as hard findings) for the flag to fire.
    message : str
        What to do, in one plain sentence.
    source_type, source_id, reasoning : str
        Where the flag comes from (see ``priors/README.md``).
    """

    id: str
    level: Urgency
    condition: tuple[tuple[str, str], ...]
    message: str
    source_type: SourceType
    source_id: str
    reasoning: str

    def holds(self, findings: Mapping[str, str]) -> bool:
        """Return whether every finding of the condition has its state in ``findings``."""
        return all(findings.get(finding) == state for finding, state in self.condition)

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-serialisable dictionary."""
        return {
            "id": self.id,
            "level": self.level,
            "condition": " & ".join(f"{f}={s}" for f, s in self.condition),
            "message": self.message,
            "source_type": self.source_type,
            "source_id": self.source_id,
        }


@dataclass(frozen=True, slots=True)
class Target:
    """A published statistic that the model must reproduce (a row of ``targets.csv``).

    Attributes
    ----------
    id : str
        The target's id.
    setting : str
        The setting (population) whose priors the statistic is computed under.
    statistic : {"likelihood_ratio", "probability", "sensitivity", "specificity"}
        What is compared: the likelihood ratio of the evidence for ``cause``,
        P(cause | evidence), P(evidence | cause), or 1 - P(evidence | not cause).
    cause : str
        The cause the statistic is about.
    evidence : tuple of (finding, state)
        Findings the statistic conditions on.
    score : tuple of (score, tier) or None
        A clinical score tier the statistic conditions on (``wells=high``).
    excluded : tuple of str
        Causes left out of the population (``cause!=dvt``: among patients without DVT).
    value, low, high : float
        The published value and its acceptance interval (the 95% CI, or a stated tolerance).
    tolerance_reason : str
        Empty when ``low``-``high`` is the published 95% CI; otherwise why the interval is a
        stated tolerance.
    source_type, source_id, note : str
        Where the figure comes from, and what it means.
    """

    id: str
    setting: str
    statistic: Literal["likelihood_ratio", "probability", "sensitivity", "specificity"]
    cause: str
    evidence: tuple[tuple[str, str], ...]
    score: tuple[str, str] | None
    excluded: tuple[str, ...]
    value: float
    low: float
    high: float
    tolerance_reason: str
    source_type: SourceType
    source_id: str
    note: str

    @property
    def evidence_text(self) -> str:
        """The evidence as written in ``targets.csv``."""
        terms = [f"{f}={s}" for f, s in self.evidence]
        if self.score is not None:
            terms.append(f"{self.score[0]}={self.score[1]}")
        terms.extend(f"cause!={cause}" for cause in self.excluded)
        return " & ".join(terms)


@dataclass(frozen=True, slots=True)
class Source:
    """A cited work: its id, full citation and URL (empty when there is none)."""

    id: str
    citation: str
    url: str


def cause_index(causes: tuple[Cause, ...] | list[str] | tuple[str, ...], cause: object) -> int:
    """Return the index of ``cause`` among ``causes``; raise a clear error if unknown."""
    ids = [c if isinstance(c, str) else c.id for c in causes]
    if not isinstance(cause, str) or cause not in ids:
        msg = f"Unknown cause {cause!r}. Known causes: {', '.join(ids)}."
        raise InvalidOptionError(msg)
    return ids.index(cause)


def _readonly(array: FloatArray) -> FloatArray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True, eq=False)
class Tables:
    """Validated, immutable tables for one setting.

    ``prior[i]`` is the prior of ``causes[i]``; ``likelihood[f][j, i]`` is
    P(finding ``f`` = its ``j``-th state | ``causes[i]``), and for a finding with a parent
    ``likelihood[f][j, k, i]`` is P(``f`` = its ``j``-th state | parent = its ``k``-th state,
    ``causes[i]``). The data frames keep every row of the CSV files (all settings), with their
    sources, for researchers to read.
    """

    source: str
    setting: str
    settings: tuple[str, ...]
    causes: tuple[Cause, ...]
    findings: tuple[Finding, ...]
    sources: Mapping[str, Source]
    prior: FloatArray
    likelihood: Mapping[str, FloatArray]
    priors_rows: tuple[dict[str, str], ...] = field(repr=False)
    likelihoods_rows: tuple[dict[str, str], ...] = field(repr=False)
    content_hash: str
    red_flags: tuple[RedFlag, ...] = ()
    triage: dict[str, float] | None = None
    #: Level → the likelihood ratio the findings must reach for the posterior to reach that
    #: level (``min_likelihood_ratio`` of triage.csv); a level not listed needs none.
    triage_evidence: dict[str, float] = field(default_factory=dict)
    #: The bytes of every table file, as read (to_csv writes them back unchanged).
    files: dict[str, bytes] = field(default_factory=dict, repr=False)
    #: Effective sample size of each cause's prior (this setting), in cause order.
    prior_ess: FloatArray = field(default_factory=lambda: np.zeros(0))
    #: Finding → effective sample size of P(finding | cause) per cause, in cause order (for a
    #: finding with a parent: per parent state and cause).
    likelihood_ess: dict[str, FloatArray] = field(default_factory=dict)
    #: Setting → prior of each cause (every setting of priors.csv), in cause order.
    setting_priors: Mapping[str, FloatArray] = field(default_factory=dict)
    #: The published statistics the tables must reproduce (targets.csv).
    targets: tuple[Target, ...] = ()

    @property
    def parents(self) -> dict[str, str]:
        """Finding → its parent finding, for the findings that have one."""
        return {f.id: f.parent for f in self.findings if f.parent}


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


# --------------------------------------------------------------------------------------------
# Checking


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


# --------------------------------------------------------------------------------------------
# Codes (see priors/README.md, "Codes")

# ICD-10-CM: a letter, two characters, then optionally a dot and 1-4 characters (e.g. I82.40,
# T79.A2, S86.011A). WHO ICD-10 codes have the same shape.
_ICD10: Final = re.compile(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")
_SNOMED: Final = re.compile(r"[1-9][0-9]{5,17}")
_LOINC: Final = re.compile(r"([0-9]{1,7})-([0-9])")
# Verhoeff's dihedral group D5: multiplication table, permutation table and inverses.
_VERHOEFF_D: Final = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P: Final = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
#: Partition identifiers of SNOMED CT *concept* ids: 00 (short format), 10 (extension).
SNOMED_CONCEPT_PARTITIONS: Final = ("00", "10")


def verhoeff_valid(digits: str) -> bool:
    """Return whether a string of digits ends with a correct Verhoeff check digit.

    SNOMED CT identifiers carry a Verhoeff check digit as their last digit.

    Examples
    --------
    >>> verhoeff_valid("429513001"), verhoeff_valid("429513002")
    (True, False)
    """
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][int(digit)]]
    return check == 0


def luhn_check_digit(digits: str) -> int:
    """Return the mod-10 (Luhn) check digit LOINC appends to the digits before its dash.

    Examples
    --------
    >>> luhn_check_digit("8310")
    5
    """
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def icd10_problem(code: str) -> str | None:
    """Return what is wrong with an ICD-10(-CM) code, or None when its format is valid."""
    if _ICD10.fullmatch(code):
        return None
    return (
        "expected an ICD-10 code: a capital letter, two digits or letters, then optionally a "
        f"dot and one to four more (e.g. 'I82.40'). Got {code!r} instead."
    )


def snomed_problem(code: str) -> str | None:
    """Return what is wrong with a SNOMED CT concept id, or None when it is valid.

    Checks the form (6 to 18 digits, no leading zero), the partition identifier (the two
    digits before the check digit: ``00`` or ``10`` for a concept) and the Verhoeff check
    digit.

    Examples
    --------
    >>> snomed_problem("429513001") is None
    True
    >>> print(snomed_problem("429513002"))
    the Verhoeff check digit of SNOMED CT id '429513002' is wrong (a mistyped digit?).
    """
    if not _SNOMED.fullmatch(code):
        return (
            "expected a SNOMED CT concept id: 6 to 18 digits, not starting with 0. "
            f"Got {code!r} instead."
        )
    partition = code[-3:-1]
    if partition not in SNOMED_CONCEPT_PARTITIONS:
        return (
            f"SNOMED CT id {code!r} has partition identifier {partition!r}; a concept id has "
            f"{' or '.join(repr(p) for p in SNOMED_CONCEPT_PARTITIONS)} (the two digits before "
            "the check digit)."
        )
    if not verhoeff_valid(code):
        return f"the Verhoeff check digit of SNOMED CT id {code!r} is wrong (a mistyped digit?)."
    return None


def loinc_problem(code: str) -> str | None:
    """Return what is wrong with a LOINC code, or None when it is valid (format, check digit).

    Examples
    --------
    >>> loinc_problem("8310-5") is None, loinc_problem("8310-6") is None
    (True, False)
    """
    match = _LOINC.fullmatch(code)
    if match is None:
        return (
            "expected a LOINC code: digits, a dash and a check digit (e.g. '8310-5'). "
            f"Got {code!r} instead."
        )
    expected = luhn_check_digit(match.group(1))
    if int(match.group(2)) != expected:
        return f"the mod-10 check digit of LOINC code {code!r} is wrong; expected {expected}."
    return None


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


def _sources(rows: list[_Row], out: _Collector) -> dict[str, Source]:
    name = "sources.csv"
    sources: dict[str, Source] = {}
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        source_id = row.values["source_id"]
        if not source_id:
            out.add(name, row.line, "source_id", "expected a source id. Got an empty value.")
            continue
        _check_text(name, row, "citation", out)
        if not _duplicate(seen, (source_id,), name, row, out):
            sources[source_id] = Source(source_id, row.values["citation"], row.values["url"])
    return sources


def _causes(
    rows: list[_Row], out: _Collector, sources: Mapping[str, Source] | None = None
) -> dict[str, Cause]:
    name = "causes.csv"
    causes: dict[str, Cause] = {}
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        ok = _check_identifier(name, row, "cause", "cause", out)
        ok &= _check_choice(name, row, "urgency", URGENCY_LEVELS, out)
        _check_text(name, row, "label", out)
        icd10 = _check_code(name, row, "icd10", icd10_problem, out)
        snomed_ct = _check_code(name, row, "snomed_ct", snomed_problem, out)
        coded = bool(row.values.get("icd10") or row.values.get("snomed_ct"))
        _check_code_sources(name, row, sources or {}, coded, out)
        cause = row.values["cause"]
        if ok and not _duplicate(seen, (cause,), name, row, out):
            causes[cause] = Cause(
                cause,
                row.values["label"],
                row.values["urgency"],  # type: ignore[arg-type]  # checked just above
                row.values["description"],
                icd10,
                snomed_ct,
            )
    if rows and DVT not in causes and not any(r.values["cause"] == DVT for r in rows):
        out.add(name, None, "cause", f"no row for cause {DVT!r}; the DVT alert needs it.")
    if len(causes) == 1:
        out.add(name, None, "cause", "a differential needs at least two causes.")
    return causes


def _findings(
    rows: list[_Row], out: _Collector, sources: Mapping[str, Source] | None = None
) -> dict[str, Finding]:
    name = "findings.csv"
    findings: dict[str, Finding] = {}
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        ok = _check_identifier(name, row, "finding", "finding", out)
        finding = row.values["finding"]
        if ok and finding in _RESERVED_FINDINGS:
            out.add(
                name,
                row.line,
                "finding",
                f"{finding!r} is a reserved name; reserved names: {sorted(_RESERVED_FINDINGS)}.",
            )
            ok = False
        ok &= _check_choice(name, row, "category", CATEGORIES, out)
        _check_text(name, row, "question", out)
        states = tuple(state.strip() for state in row.values["states"].split("|"))
        bad = [state for state in states if not _STATE.fullmatch(state)]
        if bad or len(states) < 2 or len(set(states)) != len(states):
            out.add(
                name,
                row.line,
                "states",
                "expected two or more distinct state ids (lowercase letters, digits and "
                f"underscores) separated by '|', e.g. 'yes|no'. Got {row.values['states']!r} "
                "instead.",
            )
            ok = False
        cost = 1.0
        if row.values.get("cost"):
            cost = parse_number(row.values["cost"]) or math.nan
            if not math.isfinite(cost) or cost <= 0:
                out.add(
                    name,
                    row.line,
                    "cost",
                    f"expected a positive number (or empty for 1). Got {row.values['cost']!r}.",
                )
                ok = False
        snomed_ct = _check_code(name, row, "snomed_ct", snomed_problem, out)
        loinc = _check_code(name, row, "loinc", loinc_problem, out)
        state_codes = _state_codes(name, row, states, out)
        coded = any(row.values.get(c) for c in ("snomed_ct", "loinc", "state_codes"))
        _check_code_sources(name, row, sources or {}, coded, out)
        if ok and not _duplicate(seen, (finding,), name, row, out):
            findings[finding] = Finding(
                finding,
                row.values["category"],  # type: ignore[arg-type]  # checked just above
                states,
                row.values["question"],
                cost,
                snomed_ct,
                loinc,
                state_codes,
                row.values.get("parent", "").strip(),
            )
    return _check_parents(rows, findings, out)


def _check_parents(
    rows: list[_Row], findings: dict[str, Finding], out: _Collector
) -> dict[str, Finding]:
    """Check the ``parent`` column; drop a finding whose parent is broken.

    A parent is a known finding without a parent of its own, and a family holds at most
    MAX_FAMILY findings.
    """
    name = "findings.csv"
    line = {row.values["finding"]: row.line for row in rows}
    declared = frozenset(line)
    family: dict[str, list[str]] = {}
    for finding in list(findings.values()):
        parent = finding.parent
        if not parent:
            continue
        problem = None
        if parent == finding.id:
            problem = f"finding {finding.id!r} cannot be its own parent."
        elif parent not in declared:
            problem = f"unknown parent {parent!r}; it is not a finding of findings.csv."
        elif parent in findings and findings[parent].parent:
            problem = (
                f"parent {parent!r} has a parent of its own ({findings[parent].parent!r}); a "
                "parent must be a finding without a parent (families are one level deep)."
            )
        if problem is not None:
            out.add(name, line[finding.id], "parent", problem)
        if problem is not None or parent not in findings:  # (a broken parent is reported)
            del findings[finding.id]
        else:
            family.setdefault(parent, [parent]).append(finding.id)
    for parent, members in family.items():
        if len(members) > MAX_FAMILY:
            out.add(
                name,
                line[parent],
                "parent",
                f"finding {parent!r} has {len(members) - 1} children ({', '.join(members[1:])}); "
                f"a family may hold at most {MAX_FAMILY} findings in all.",
            )
    return findings


def _priors(
    rows: list[_Row],
    causes: Mapping[str, Cause],
    sources: Mapping[str, Source],
    out: _Collector,
    declared_causes: frozenset[str] = frozenset(),
) -> dict[str, dict[str, float]]:
    name = "priors.csv"
    by_setting: dict[str, dict[str, float]] = {}
    broken: set[str] = set()  # settings with a row already reported as broken
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        cause = row.values["cause"]
        if cause in declared_causes and cause not in causes:
            broken.add(row.values["setting"])
            continue  # the cause's own row in causes.csv is broken and already reported
        before = out.count
        ok = _check_identifier(name, row, "setting", "setting", out)
        if causes and cause not in causes:
            out.add(name, row.line, "cause", f"unknown cause {cause!r}; it is not in causes.csv.")
            ok = False
        value = _parse_probability(name, row, out)
        _check_provenance(name, row, sources, out)
        if out.count > before:
            broken.add(row.values["setting"])
        key = (row.values["setting"], cause)
        if ok and not _duplicate(seen, key, name, row, out) and value is not None:
            by_setting.setdefault(key[0], {})[cause] = value
    for setting, values in by_setting.items():
        if setting in broken:
            continue
        missing = [cause for cause in causes if cause not in values]
        if missing:
            out.add(name, None, None, f"setting {setting!r} has no row for causes {missing}.")
        elif abs(sum(values.values()) - 1.0) > SUM_TOLERANCE:
            out.add(
                name,
                None,
                "probability",
                f"the priors of setting {setting!r} sum to {sum(values.values()):.9g}; "
                f"they must sum to 1 within {SUM_TOLERANCE:g}.",
            )
    if rows and not by_setting and not out.problems:
        out.add(name, None, None, "no usable prior rows.")
    return by_setting


def _likelihoods(
    rows: list[_Row],
    causes: Mapping[str, Cause],
    findings: Mapping[str, Finding],
    sources: Mapping[str, Source],
    out: _Collector,
    declared: frozenset[str] = frozenset(),
    declared_causes: frozenset[str] = frozenset(),
) -> dict[tuple[str, str, str], dict[str, float]]:
    name = "likelihoods.csv"
    # (finding, cause, parent state or "") -> state -> probability
    table: dict[tuple[str, str, str], dict[str, float]] = {}
    first_line: dict[tuple[str, str, str], int] = {}
    broken: set[tuple[str, str]] = set()  # (finding, cause) with a row reported as broken
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        finding, state, cause = (row.values[c] for c in ("finding", "state", "cause"))
        parent_state = row.values.get("parent_state", "").strip()
        if (finding in declared and finding not in findings) or (
            cause in declared_causes and cause not in causes
        ):
            broken.add((finding, cause))
            continue  # its own row in findings.csv or causes.csv is broken and already reported
        before = out.count
        ok = True
        if findings and finding not in findings:
            out.add(
                name, row.line, "finding", f"unknown finding {finding!r}; not in findings.csv."
            )
            ok = False
        elif finding in findings and state not in findings[finding].states:
            out.add(
                name,
                row.line,
                "state",
                f"unknown state {state!r} for finding {finding!r}. "
                f"Allowed states: {list(findings[finding].states)}.",
            )
            ok = False
        if finding in findings:
            ok &= _check_parent_state(row, findings[finding], findings, parent_state, out)
        if causes and cause not in causes:
            out.add(name, row.line, "cause", f"unknown cause {cause!r}; it is not in causes.csv.")
            ok = False
        value = _parse_probability(name, row, out)
        _check_provenance(name, row, sources, out)
        if out.count > before:
            broken.add((finding, cause))
        key = (finding, cause, parent_state)
        row_key = (finding, state, cause, *([parent_state] if parent_state else []))
        duplicate = ok and _duplicate(seen, row_key, name, row, out)
        if ok and not duplicate and value is not None:
            table.setdefault(key, {})[state] = value
            first_line.setdefault(key, row.line)
    for spec in findings.values():
        parent_states = findings[spec.parent].states if spec.parent else ("",)
        for cause in causes:
            for parent_state in parent_states:
                key = (spec.id, cause, parent_state)
                given = f", parent state {parent_state!r}" if parent_state else ""
                values = table.get(key, {})
                missing = [state for state in spec.states if state not in values]
                if missing:
                    if (spec.id, cause) not in broken:
                        out.add(
                            name,
                            None,
                            None,
                            f"no row for finding {spec.id!r}, cause {cause!r}{given}, "
                            f"states {missing}.",
                        )
                    continue
                total = sum(values.values())
                if abs(total - 1.0) > SUM_TOLERANCE:
                    condition = f"{spec.parent}={parent_state}, " if parent_state else ""
                    out.add(
                        name,
                        first_line[key],
                        "probability",
                        f"P({spec.id} | {condition}{cause}) over the states "
                        f"{list(spec.states)} sums to {total:.9g}; it must sum to 1 within "
                        f"{SUM_TOLERANCE:g}.",
                    )
    return table


def _check_parent_state(
    row: _Row,
    finding: Finding,
    findings: Mapping[str, Finding],
    parent_state: str,
    out: _Collector,
) -> bool:
    """Check a likelihood row's ``parent_state`` against its finding's parent."""
    name = "likelihoods.csv"
    if not finding.parent:
        if parent_state:
            out.add(
                name,
                row.line,
                "parent_state",
                f"finding {finding.id!r} has no parent in findings.csv, so parent_state must be "
                f"empty. Got {parent_state!r} instead.",
            )
            return False
        return True
    allowed = findings[finding.parent].states
    if parent_state not in allowed:
        got = f"Got {parent_state!r} instead." if parent_state else "It is empty."
        out.add(
            name,
            row.line,
            "parent_state",
            f"finding {finding.id!r} has the parent {finding.parent!r}, so each row names a "
            f"state of it. Allowed states: {list(allowed)}. {got}",
        )
        return False
    return True


# --------------------------------------------------------------------------------------------
# Assembling


def table_frame(rows: tuple[dict[str, str], ...], name: str) -> pd.DataFrame:
    """Return the rows of a probability table as a new DataFrame (numbers as floats)."""
    import pandas as pd

    columns = list(rows[0]) if rows else list(_ALL_COLUMNS[name])
    frame = pd.DataFrame(list(rows), columns=columns)
    frame["probability"] = frame["probability"].astype(float)
    if "ess" in frame.columns:
        frame["ess"] = pd.to_numeric(frame["ess"].replace("", None), errors="coerce")
    return frame


def _red_flags(
    rows: list[_Row],
    findings: Mapping[str, Finding],
    sources: Mapping[str, Source],
    out: _Collector,
) -> tuple[RedFlag, ...]:
    name = "red_flags.csv"
    flags: list[RedFlag] = []
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        ok = _check_identifier(name, row, "flag", "flag", out)
        ok &= _check_choice(name, row, "level", URGENCY_LEVELS, out)
        _check_text(name, row, "message", out)
        _check_provenance(name, row, sources, out)
        condition: list[tuple[str, str]] = []
        for term in row.values["condition"].split("&"):
            finding, sep, state = (part.strip() for part in term.partition("="))
            if not sep or finding not in findings or state not in findings[finding].states:
                allowed = list(findings[finding].states) if finding in findings else None
                detail = (
                    f"unknown state {state!r} for finding {finding!r}; allowed: {allowed}"
                    if allowed
                    else f"unknown finding {finding!r}"
                    if sep
                    else "expected finding=state"
                )
                out.add(
                    name,
                    row.line,
                    "condition",
                    f"each term must be finding=state, joined by ' & '; {detail}. "
                    f"Got {term.strip()!r} instead.",
                )
                ok = False
            condition.append((finding, state))
        if ok and not _duplicate(seen, (row.values["flag"],), name, row, out):
            flags.append(
                RedFlag(
                    row.values["flag"],
                    row.values["level"],  # type: ignore[arg-type]  # checked above
                    tuple(condition),
                    row.values["message"],
                    row.values["source_type"],  # type: ignore[arg-type]  # checked above
                    row.values["source_id"],
                    row.values["reasoning"],
                )
            )
    return tuple(flags)


def _triage(
    rows: list[_Row], sources: Mapping[str, Source], out: _Collector
) -> tuple[dict[str, float] | None, dict[str, float]]:
    name = "triage.csv"
    thresholds: dict[str, float] = {}
    evidence: dict[str, float] = {}
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        ok = _check_choice(name, row, "level", URGENCY_LEVELS, out)
        _check_provenance(name, row, sources, out)
        value = parse_number(row.values["threshold"])
        if value is None or not 0.0 <= value <= 1.0:
            out.add(
                name,
                row.line,
                "threshold",
                f"expected a probability in [0, 1]. Got {row.values['threshold']!r} instead.",
            )
            ok = False
        ratio = _parse_min_ratio(name, row, out)
        if ratio is False:
            ok = False
        if (
            ok
            and value is not None
            and not _duplicate(seen, (row.values["level"],), name, row, out)
        ):
            thresholds[row.values["level"]] = value
            if isinstance(ratio, float):
                evidence[row.values["level"]] = ratio
    missing = [level for level in URGENCY_LEVELS if level not in thresholds]
    if rows and missing and not out.problems:
        out.add(name, None, "level", f"no row for levels {missing}; every level needs one.")
    return (thresholds if rows and not missing else None), evidence


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


def _target_evidence(
    text: str, findings: Mapping[str, Finding], causes: Mapping[str, Cause]
) -> tuple[tuple[tuple[str, str], ...], tuple[str, str] | None, tuple[str, ...], list[str]]:
    """Parse a target's evidence: ``finding=state``, ``score=tier`` and ``cause!=id`` terms."""
    evidence: list[tuple[str, str]] = []
    score: tuple[str, str] | None = None
    excluded: list[str] = []
    problems: list[str] = []
    for term in (t.strip() for t in text.split("&") if text.strip()):
        left, sep, right = (part.strip() for part in term.partition("!="))
        if sep:
            if left != CAUSE_NODE or right not in causes:
                problems.append(f"'cause!=ID' needs a cause of causes.csv. Got {term!r}.")
            else:
                excluded.append(right)
            continue
        left, sep, right = (part.strip() for part in term.partition("="))
        if left in SCORE_TIERS:
            if right not in SCORE_TIERS[left] or score is not None:
                problems.append(
                    f"score {left!r} takes one tier of {list(SCORE_TIERS[left])}, "
                    f"once. Got {term!r}."
                )
            else:
                score = (left, right)
        elif sep and left in findings and right in findings[left].states:
            if any(f == left for f, _ in evidence):
                problems.append(f"finding {left!r} is given twice.")
            evidence.append((left, right))
        else:
            allowed = (
                f"allowed states: {list(findings[left].states)}"
                if left in findings
                else f"terms are finding=state, {'/'.join(SCORE_TIERS)}=tier or cause!=ID"
            )
            problems.append(f"unknown term {term!r}; {allowed}.")
    return tuple(evidence), score, tuple(excluded), problems


def _targets(
    rows: list[_Row],
    causes: Mapping[str, Cause],
    findings: Mapping[str, Finding],
    settings: frozenset[str],
    sources: Mapping[str, Source],
    out: _Collector,
) -> tuple[Target, ...]:
    name = "targets.csv"
    targets: list[Target] = []
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        before = len(out.problems)
        values = row.values
        _check_identifier(name, row, "target_id", "target", out)
        if settings and values["setting"] not in settings:
            out.add(
                name,
                row.line,
                "setting",
                f"unknown setting {values['setting']!r}; settings in priors.csv: "
                f"{sorted(settings)}.",
            )
        _check_choice(name, row, "statistic", STATISTICS, out)
        if causes and values["cause"] not in causes:
            out.add(name, row.line, "cause", f"unknown cause {values['cause']!r}.")
        evidence, score, excluded, problems = _target_evidence(
            values["evidence"], findings, causes
        )
        for problem in problems:
            out.add(name, row.line, "evidence", problem)
        if values["cause"] in excluded:
            out.add(name, row.line, "evidence", "the target's cause cannot be excluded.")
        if values["statistic"] in ("sensitivity", "specificity") and not (evidence or score):
            out.add(name, row.line, "evidence", f"a {values['statistic']} needs evidence.")
        numbers = [_parse_number(name, row, c, out) for c in ("value", "ci_low", "ci_high")]
        _check_provenance(name, row, sources, out, reasoning="tolerance_reason")
        if values["source_type"] == "expert_estimate":
            out.add(
                name,
                row.line,
                "source_type",
                "a target is a published figure: expected 'published' or 'secondary'.",
            )
        if None not in numbers:
            value, low, high = (float(n) for n in numbers if n is not None)
            upper = math.inf if values["statistic"] == "likelihood_ratio" else 1.0
            if not (0.0 < low <= value <= high <= upper):
                out.add(
                    name,
                    row.line,
                    "value",
                    f"expected 0 < ci_low <= value <= ci_high{' <= 1' if upper == 1 else ''}. "
                    f"Got {low:g} <= {value:g} <= {high:g} instead.",
                )
        if len(out.problems) == before and not _duplicate(
            seen, (values["target_id"],), name, row, out
        ):
            targets.append(
                Target(
                    values["target_id"],
                    values["setting"],
                    values["statistic"],  # type: ignore[arg-type]  # checked above
                    values["cause"],
                    evidence,
                    score,
                    excluded,
                    value,
                    low,
                    high,
                    values["tolerance_reason"],
                    values["source_type"],  # type: ignore[arg-type]  # checked above
                    values["source_id"],
                    values["note"],
                )
            )
    return tuple(targets)


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
