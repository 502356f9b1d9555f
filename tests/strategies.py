"""Hypothesis strategies for random valid tables and random evidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hypothesis import strategies as st

from .tablewriter import Children, Likelihoods


@st.composite
def distributions(draw: st.DrawFn, size: int, *, allow_zero: bool = False) -> list[float]:
    """A probability vector of ``size`` entries that sums to 1 (exactly, as decimals)."""
    low = 0 if allow_zero else 1
    weights = draw(st.lists(st.integers(low, 1000), min_size=size, max_size=size))
    if sum(weights) == 0:
        weights[0] = 1
    total = sum(weights)
    values = [w / total for w in weights]
    values[-1] = 1.0 - sum(values[:-1])
    if values[-1] < 0:  # pragma: no cover - rounding guard
        values[-1] = 0.0
    return values


@st.composite
def networks(
    draw: st.DrawFn, max_causes: int = 4, max_findings: int = 4, max_states: int = 3
) -> tuple[dict[str, float], Likelihoods]:
    """A random small naive Bayes network: (prior, likelihood) with a ``dvt`` cause."""
    n_causes = draw(st.integers(2, max_causes))
    causes = ["dvt", *[f"cause_{i}" for i in range(1, n_causes)]]
    prior = dict(zip(causes, draw(distributions(n_causes)), strict=True))
    likelihood: dict[str, dict[str, dict[str, float]]] = {}
    for f in range(draw(st.integers(1, max_findings))):
        states = [f"s{j}" for j in range(draw(st.integers(2, max_states)))]
        table: dict[str, dict[str, float]] = {state: {} for state in states}
        for cause in causes:
            for state, p in zip(states, draw(distributions(len(states))), strict=True):
                table[state][cause] = p
        likelihood[f"finding_{f}"] = table
    return prior, likelihood


@st.composite
def family_networks(
    draw: st.DrawFn, max_causes: int = 3, max_roots: int = 3, max_children: int = 2
) -> tuple[dict[str, float], Likelihoods, Children]:
    """A random small network with families: (prior, roots' likelihood, children).

    Each root finding gets up to ``max_children`` children, whose likelihood has one
    distribution per (parent state, cause).
    """
    prior, likelihood = draw(networks(max_causes, max_roots, 3))
    causes = list(prior)
    children: dict[str, tuple[str, dict[str, dict[str, dict[str, float]]]]] = {}
    for root, table in likelihood.items():
        for c in range(draw(st.integers(0, max_children))):
            states = [f"t{j}" for j in range(draw(st.integers(2, 3)))]
            by_parent: dict[str, dict[str, dict[str, float]]] = {}
            for parent_state in table:
                own: dict[str, dict[str, float]] = {state: {} for state in states}
                for cause in causes:
                    for state, p in zip(states, draw(distributions(len(states))), strict=True):
                        own[state][cause] = p
                by_parent[parent_state] = own
            children[f"{root}_child_{c}"] = (root, by_parent)
    return prior, likelihood, children


@st.composite
def evidence(draw: st.DrawFn, vocabulary: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Random evidence: a subset of the findings, each with one of its states."""
    names = draw(st.lists(st.sampled_from(sorted(vocabulary)), unique=True))
    return {name: draw(st.sampled_from(list(vocabulary[name]))) for name in names}
