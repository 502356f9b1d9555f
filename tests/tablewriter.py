"""Small tables for tests, in the shipped format (see priors/README.md): in memory or in files."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

import calfdx
from calfdx._tables import build_tables

FloatArray = npt.NDArray[np.float64]

# finding -> state -> cause -> probability
Likelihoods = Mapping[str, Mapping[str, Mapping[str, float]]]


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    handle = io.StringIO()
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return handle.getvalue().encode("utf-8")


#: source_type, source_id and reasoning of every toy likelihood row.
TOY_PROVENANCE = ("expert_estimate", "", "a toy number")
#: child -> (parent, parent state -> state -> cause -> probability)
Children = Mapping[str, tuple[str, Mapping[str, Mapping[str, Mapping[str, float]]]]]


def table_files(
    prior: Mapping[str, float], likelihood: Likelihoods, children: Children | None = None
) -> dict[str, bytes]:
    """Return the five CSV files for a network, by file name (what ``build_tables`` reads).

    ``likelihood`` holds the findings without a parent; ``children`` the findings with one,
    each with its parent and P(child | parent state, cause).
    """
    children = children or {}
    states = {name: list(table) for name, table in likelihood.items()}
    for child, (_, table) in children.items():
        states[child] = list(next(iter(table.values())))
    parents = {child: parent for child, (parent, _) in children.items()}
    # The optional columns parent and parent_state only when there is a family, so tables
    # without one keep the plain format (both are tested).
    family = ["parent"] if children else []
    return {
        "sources.csv": _csv(
            ["source_id", "citation", "url"],
            [["toy2026", "Toy A. A network for tests. J Tests 2026;1:1", ""]],
        ),
        "causes.csv": _csv(
            ["cause", "label", "urgency", "description"],
            [
                [cause, cause.replace("_", " ").title(), "routine", f"The {cause}."]
                for cause in prior
            ],
        ),
        "findings.csv": _csv(
            ["finding", "category", "states", "question", *family],
            [
                [finding, "history", "|".join(own), f"What about {finding}?"]
                + ([parents.get(finding, "")] if children else [])
                for finding, own in states.items()
            ],
        ),
        "priors.csv": _csv(
            ["setting", "cause", "probability", "source_type", "source_id", "reasoning"],
            [
                ["primary_care", cause, repr(p), "published", "toy2026", ""]
                for cause, p in prior.items()
            ],
        ),
        "likelihoods.csv": _csv(
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
                [child, state, cause, parent_state, repr(p), *TOY_PROVENANCE]
                for child, (_, by_parent) in children.items()
                for parent_state, table in by_parent.items()
                for state, by_cause in table.items()
                for cause, p in by_cause.items()
            ],
        ),
    }


def write_tables(
    folder: Path,
    prior: Mapping[str, float],
    likelihood: Likelihoods,
    children: Children | None = None,
) -> Path:
    """Write the five CSV files of :func:`table_files` into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in table_files(prior, likelihood, children).items():
        (folder / name).write_bytes(data)
    return folder


def _uniform(likelihood: Likelihoods) -> dict[str, dict[str, dict[str, float]]]:
    return {
        name: {state: dict.fromkeys(by_cause, 1 / len(table)) for state, by_cause in table.items()}
        for name, table in likelihood.items()
    }


def build_model(
    prior: Mapping[str, float], likelihood: Likelihoods, children: Children | None = None
) -> calfdx.Model:
    """Build a model in memory, without writing files.

    Tables the loader accepts go through it. Tables with probabilities of exactly 0 or 1
    (which the loader refuses, rule 2 of priors/README.md) are loaded with uniform numbers
    and then given the exact ones, as :func:`with_zeros` does, so that impossible evidence
    reaches the engine.
    """
    children = children or {}
    numbers = [
        *prior.values(),
        *(p for table in likelihood.values() for row in table.values() for p in row.values()),
        *(
            p
            for _, by_parent in children.values()
            for table in by_parent.values()
            for row in table.values()
            for p in row.values()
        ),
    ]
    if all(0.0 < p < 1.0 for p in numbers):
        return calfdx.Model(build_tables(table_files(prior, likelihood, children), "memory"))
    uniform = dict.fromkeys(prior, 1 / len(prior))
    placeholder = {
        child: (parent, _uniform(by_parent)) for child, (parent, by_parent) in children.items()
    }
    files = table_files(uniform, _uniform(likelihood), placeholder)
    tables = build_tables(files, "memory")
    causes = list(prior)
    exact: dict[str, FloatArray] = {
        name: np.array([[row[c] for c in causes] for row in table.values()])
        for name, table in likelihood.items()
    }
    for child, (_, by_parent) in children.items():
        # (states, parent states, causes), the engine's layout of a child's table
        exact[child] = np.array(
            [
                [[by_parent[k][state][c] for c in causes] for k in by_parent]
                for state in next(iter(by_parent.values()))
            ]
        )
    return calfdx.Model(
        dataclasses.replace(tables, prior=np.array([prior[c] for c in causes]), likelihood=exact)
    )


#: A two-cause network worked by hand in tests/test_inference.py.
TOY_PRIOR: Mapping[str, float] = {"dvt": 0.2, "cramp": 0.8}
TOY_LIKELIHOOD: Likelihoods = {
    "swelling": {"yes": {"dvt": 0.6, "cramp": 0.1}, "no": {"dvt": 0.4, "cramp": 0.9}},
    "onset": {"sudden": {"dvt": 0.25, "cramp": 0.75}, "gradual": {"dvt": 0.75, "cramp": 0.25}},
}


def with_zeros(model: calfdx.Model, finding: str, values: list[list[float]]) -> calfdx.Model:
    """Return ``model`` with P(finding | cause) replaced, bypassing the loader's checks.

    The loader refuses probabilities of 0 and 1 (rule 2 of priors/README.md); this builds
    the impossible-evidence cases the engine must still handle safely.
    """
    tables = model._compiled.tables
    likelihood = dict(tables.likelihood)
    likelihood[finding] = np.array(values, dtype=np.float64)
    return calfdx.Model(dataclasses.replace(tables, likelihood=likelihood))


def row_at(frame: pd.DataFrame, key: tuple[str, ...]) -> dict[str, Any]:
    """The one row of ``frame`` (indexed by several columns) at ``key``, as a dict."""
    found = frame.xs(key)
    assert isinstance(found, pd.Series), key
    return {str(column): value for column, value in found.items()}
