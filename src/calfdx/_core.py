"""The core every feature works on: the compiled tables, and what a posterior holds.

:class:`Compiled` is what a :class:`~calfdx.Model` holds: the validated tables, their compiled
engine and batch tables, the DVT threshold and the lookups derived from the tables. Features
(explain, triage, conflict, Wells, uncertainty, batch, evaluation, learning, targets) take a
``Compiled``, never a ``Model``, and read a diagnosis through the :class:`Posterior`
protocol, which :class:`~calfdx.Diagnosis` satisfies; so the façades (``Model``,
``Diagnosis``, ``calfdx.diagnose``) sit on top of the features and nothing imports upward.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Protocol, TypeVar

from ._evidence import check_threshold
from ._inference import Engine
from ._kernels import BatchTables
from ._schema import DVT, Cause, Finding, Tables
from ._tables import build_tables

__all__ = [
    "DEFAULT_DVT_THRESHOLD",
    "DISCLAIMER",
    "Compiled",
    "HasCompiled",
    "Posterior",
    "kept_per_model",
]

#: Default DVT alert threshold: the alert fires when P(DVT | findings) >= 0.02.
#:
#: 2% is the post-test probability below which DVT work-up may stop: a diagnostic strategy
#: is accepted as safe when at most about 2% of the patients it leaves untreated have VTE in
#: follow-up (Geersing et al., BMJ 2014;348:g1340: failure rate of Wells-unlikely plus a
#: negative D-dimer 1.2%, with "up to 2%" usually deemed acceptable). Above 2%, DVT is not
#: excluded and needs objective testing. A missed DVT costs far more than a needless
#: D-dimer or ultrasound, so the threshold sits at the exclusion level, not at a
#: "DVT likely" level. See the README for the full rationale.
DEFAULT_DVT_THRESHOLD: Final = 0.02

#: Shown with every result and every alert.
DISCLAIMER: Final = (
    "calfdx supports clinical decisions; it does not make them. Its probabilities are not a "
    "diagnosis: a clinician must assess the patient."
)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Compiled:
    """Validated tables compiled for inference, with the default DVT threshold.

    Build one with :meth:`build`. Immutable; pickled as its tables and threshold (the engine
    is rebuilt on load).

    Attributes
    ----------
    tables : Tables
        The validated tables.
    engine : Engine
        The compiled engine: the one place that knows the network's structure.
    batch : BatchTables
        The engine's tables compiled for cohorts.
    dvt_threshold : float
        The default DVT alert threshold.
    cause_ids : tuple of str
        The causes, in table order.
    dvt_index : int
        The position of DVT among the causes.
    findings : Mapping[str, Finding]
        The vocabulary, in table order.
    labels : Mapping[str, str]
        Cause id → label.
    urgency : Mapping[str, str]
        Cause id → urgency level.
    cause_codes : Mapping[str, Mapping[str, str]]
        Cause id → its verified codes (``icd10``, ``snomed_ct``).
    vocabulary : tuple of str
        The finding ids, in table order.
    """

    tables: Tables
    engine: Engine
    batch: BatchTables
    dvt_threshold: float
    cause_ids: tuple[str, ...]
    dvt_index: int
    findings: Mapping[str, Finding]
    labels: Mapping[str, str]
    urgency: Mapping[str, str]
    vocabulary: tuple[str, ...]
    cause_codes: Mapping[str, MappingProxyType[str, str]]

    @classmethod
    def build(
        cls,
        tables: Tables,
        dvt_threshold: float = DEFAULT_DVT_THRESHOLD,
        engines: tuple[Engine, BatchTables] | None = None,
    ) -> Compiled:
        """Compile ``tables`` (or reuse their compiled ``engines``) with a threshold.

        Examples
        --------
        >>> from calfdx._core import Compiled
        >>> from calfdx._tables import read_tables
        >>> compiled = Compiled.build(read_tables(None))
        >>> compiled.cause_ids[compiled.dvt_index], compiled.dvt_threshold
        ('dvt', 0.02)
        """
        if engines is None:
            engine = Engine(tables)
            engines = (engine, BatchTables(engine, tables.prior))
        cause_ids = tuple(cause.id for cause in tables.causes)
        return cls(
            tables=tables,
            engine=engines[0],
            batch=engines[1],
            dvt_threshold=check_threshold(dvt_threshold),
            cause_ids=cause_ids,
            dvt_index=cause_ids.index(DVT),
            findings=MappingProxyType({f.id: f for f in tables.findings}),
            labels=MappingProxyType({c.id: c.label for c in tables.causes}),
            urgency=MappingProxyType({c.id: c.urgency for c in tables.causes}),
            vocabulary=tuple(f.id for f in tables.findings),
            cause_codes=MappingProxyType({c.id: MappingProxyType(c.codes) for c in tables.causes}),
        )

    def with_dvt_threshold(self, dvt_threshold: float) -> Compiled:
        """Return the same compiled tables with another default threshold."""
        return Compiled.build(self.tables, dvt_threshold, (self.engine, self.batch))

    @property
    def setting(self) -> str:
        """The setting of the priors."""
        return self.tables.setting

    def rebuilt(self, files: Mapping[str, bytes], setting: str, edited: bool = True) -> Compiled:
        """Compile new table files (an edit of these, unless ``edited`` is False)."""
        source = self.tables.source
        if edited and not source.endswith("(edited)"):
            source = f"{source} (edited)"
        return Compiled.build(build_tables(files, source, setting=setting), self.dvt_threshold)

    def __reduce__(self) -> tuple[Any, tuple[Tables, float]]:
        return (Compiled.build, (self.tables, self.dvt_threshold))


class HasCompiled(Protocol):
    """What a diagnosis needs of the model that made it (a :class:`~calfdx.Model`)."""

    @property
    def _compiled(self) -> Compiled: ...

    @property
    def vocabulary(self) -> Mapping[str, Finding]: ...

    @property
    def causes(self) -> tuple[Cause, ...]: ...

    @property
    def setting(self) -> str: ...

    @property
    def dvt_threshold(self) -> float: ...

    @property
    def content_hash(self) -> str: ...


class Posterior(Protocol):
    """What the features read of a diagnosis (a :class:`~calfdx.Diagnosis` is one)."""

    @property
    def posterior(self) -> Mapping[str, float]: ...

    @property
    def dvt_probability(self) -> float: ...

    @property
    def dvt_alert(self) -> bool: ...

    @property
    def dvt_threshold(self) -> float: ...

    @property
    def findings(self) -> Mapping[str, str]: ...

    @property
    def soft_findings(self) -> Mapping[str, tuple[float, ...]]: ...

    @property
    def labels(self) -> Mapping[str, str]: ...

    @property
    def urgency(self) -> Mapping[str, str]: ...

    @property
    def unobserved(self) -> tuple[str, ...]: ...

    @property
    def top_cause(self) -> str: ...

    def top(self, k: int = 3) -> list[tuple[str, float]]: ...


Kept = TypeVar("Kept")


def kept_per_model(
    store: weakref.WeakKeyDictionary[Engine, Kept],
    compiled: Compiled,
    make: Callable[[Compiled], Kept],
) -> Kept:
    """Return what a feature keeps for this model, made at its first use.

    ``store`` is the feature's weak dictionary keyed by the model's engine, so what is kept
    goes with the model. Two threads may both make it at first use; one result is kept.
    """
    found = store.get(compiled.engine)
    if found is None:
        found = store.setdefault(compiled.engine, make(compiled))
    return found
