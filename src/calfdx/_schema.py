"""The schema of the tables: their files and columns, constants, and the records they become.

The CSV tables in ``priors/`` are documented column by column in ``priors/README.md``. This
module says which files and columns a folder of tables holds and what their values may be, and
defines the immutable records a checked folder becomes: :class:`Cause`, :class:`Finding`,
:class:`RedFlag`, :class:`Target`, :class:`Source` and :class:`Tables`. Reading and checking
the files is ``_rows.py``, ``_validate.py`` and ``_tables.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from ._exceptions import InvalidOptionError

__all__ = [
    "CAUSE_NODE",
    "CODE_SYSTEMS",
    "DEFAULT_SETTING",
    "DVT",
    "SOURCE_TYPES",
    "URGENCY_LEVELS",
    "Cause",
    "Finding",
    "RedFlag",
    "Source",
    "Tables",
    "Target",
    "cause_index",
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

FloatArray = npt.NDArray[np.float64]


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
    >>> swelling = calfdx.load_model().vocabulary["swelling"]
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
