"""Write small folders of valid tables for tests (the shipped format, see priors/README.md)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

# finding -> state -> cause -> probability
Likelihoods = Mapping[str, Mapping[str, Mapping[str, float]]]


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


#: source_type, source_id and reasoning of every toy likelihood row.
TOY_PROVENANCE = ("expert_estimate", "", "a toy number")
#: child -> (parent, parent state -> state -> cause -> probability)
Children = Mapping[str, tuple[str, Mapping[str, Mapping[str, Mapping[str, float]]]]]


def write_tables(
    folder: Path,
    prior: Mapping[str, float],
    likelihood: Likelihoods,
    children: Children | None = None,
) -> Path:
    """Write the five CSV files for a network and return the folder.

    ``likelihood`` holds the findings without a parent; ``children`` the findings with one,
    each with its parent and P(child | parent state, cause).
    """
    children = children or {}
    states = {name: list(table) for name, table in likelihood.items()}
    for child, (_, table) in children.items():
        states[child] = list(next(iter(table.values())))
    folder.mkdir(parents=True, exist_ok=True)
    _write(
        folder / "sources.csv",
        ["source_id", "citation", "url"],
        [["toy2026", "Toy A. A network for tests. J Tests 2026;1:1", ""]],
    )
    _write(
        folder / "causes.csv",
        ["cause", "label", "urgency", "description"],
        [[cause, cause.replace("_", " ").title(), "routine", f"The {cause}."] for cause in prior],
    )
    parents = {child: parent for child, (parent, _) in children.items()}
    # The optional columns parent and parent_state only when there is a family, so tables
    # without one keep the plain format (both are tested).
    family = ["parent"] if children else []
    _write(
        folder / "findings.csv",
        ["finding", "category", "states", "question", *family],
        [
            [finding, "history", "|".join(own), f"What about {finding}?"]
            + ([parents.get(finding, "")] if children else [])
            for finding, own in states.items()
        ],
    )
    _write(
        folder / "priors.csv",
        ["setting", "cause", "probability", "source_type", "source_id", "reasoning"],
        [
            ["primary_care", cause, repr(p), "published", "toy2026", ""]
            for cause, p in prior.items()
        ],
    )
    _write(
        folder / "likelihoods.csv",
        [
            "finding",
            "state",
            "cause",
            *(["parent_state"] if children else []),
            "probability",
            "source_type",
            "source_id",
            "reasoning",
        ],
        [
            [finding, state, cause, *([""] if children else []), repr(p), *TOY_PROVENANCE]
            for finding, table in likelihood.items()
            for state, by_cause in table.items()
            for cause, p in by_cause.items()
        ]
        + [
            [child, state, cause, parent_state, repr(p), "expert_estimate", "", "a toy number"]
            for child, (_, by_parent) in children.items()
            for parent_state, table in by_parent.items()
            for state, by_cause in table.items()
            for cause, p in by_cause.items()
        ],
    )
    return folder


#: A two-cause network worked by hand in tests/test_inference.py.
TOY_PRIOR: Mapping[str, float] = {"dvt": 0.2, "cramp": 0.8}
TOY_LIKELIHOOD: Likelihoods = {
    "swelling": {"yes": {"dvt": 0.6, "cramp": 0.1}, "no": {"dvt": 0.4, "cramp": 0.9}},
    "onset": {"sudden": {"dvt": 0.25, "cramp": 0.75}, "gradual": {"dvt": 0.75, "cramp": 0.25}},
}


def with_zeros(model: object, finding: str, values: list[list[float]]) -> object:
    """Return ``model`` with P(finding | cause) replaced, bypassing the loader's checks.

    The loader refuses probabilities of 0 and 1 (rule 2 of priors/README.md); this builds
    the impossible-evidence cases the engine must still handle safely.
    """
    import dataclasses

    import numpy as np

    import calfdx

    tables = model._tables  # type: ignore[attr-defined]
    likelihood = dict(tables.likelihood)
    likelihood[finding] = np.array(values, dtype=np.float64)
    return calfdx.Model(dataclasses.replace(tables, likelihood=likelihood))
