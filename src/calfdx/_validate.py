"""Check each table file of a folder, collecting every problem with its file, line and column.

One function per file: it checks every row (with the field checkers of ``_rows.py``) and the
file as a whole (every cause and state present, probabilities that sum to one, parents one
level deep), against the vocabulary read before it, and returns what could be read.
``_tables.py`` runs them in order and raises one :class:`~calfdx.TableError` listing them all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Final

from ._codes import icd10_problem, loinc_problem, snomed_problem
from ._rows import (
    _check_choice,
    _check_code,
    _check_code_sources,
    _check_identifier,
    _check_provenance,
    _check_text,
    _Collector,
    _duplicate,
    _parse_probability,
    _Row,
    _state_codes,
    parse_number,
)
from ._schema import (
    CATEGORIES,
    CAUSE_NODE,
    DVT,
    MAX_FAMILY,
    SUM_TOLERANCE,
    URGENCY_LEVELS,
    Cause,
    Finding,
    Source,
)

# States may start with a digit (e.g. the age band '18_to_39').
_STATE = re.compile(r"[a-z0-9][a-z0-9_]*")
# Finding names that would clash with the cause node or with keyword options of diagnose().
_RESERVED_FINDINGS: Final = frozenset({CAUSE_NODE, "model", "dvt_threshold", "findings"})


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
