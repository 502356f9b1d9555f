"""Hypothesis strategies for random valid tables and random evidence."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import event
from hypothesis import strategies as st

import calfdx

from .tablewriter import Children, Likelihoods

#: Small probabilities whose products underflow (1e-300 squared is 0.0 in floating point).
EXTREME: tuple[float, ...] = (1e-300, 1e-250, 1e-200, 1e-160, 1e-30, 1e-12)


@st.composite
def distributions(
    draw: st.DrawFn, size: int, *, allow_zero: bool = False, extreme: bool = False
) -> list[float]:
    """A probability vector of ``size`` entries that sums to 1 (exactly, as decimals).

    With ``extreme``, entries may also be tiny (down to 1e-300), the largest then close to 1
    (1 - 1e-12), and, with ``allow_zero`` too, exactly 0 (and so another exactly 1).
    """
    if extreme:
        small = st.sampled_from(EXTREME)
        if allow_zero:  # often enough that every cause can rule a state out
            small = st.one_of(st.just(0.0), small)
        values = draw(
            st.lists(
                st.one_of(small, st.sampled_from([0.1, 0.3])), min_size=size - 1, max_size=size - 1
            )
        )
        rest = 1.0 - sum(values)
        if rest >= 1.0 and not allow_zero:
            # 1 - 1e-300 is 1.0, which the loader refuses: stay within the 1e-6 sum tolerance.
            rest = 1.0 - 1e-12
        values.insert(draw(st.integers(0, size - 1)), rest)
        return values
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
    draw: st.DrawFn,
    max_causes: int = 4,
    max_findings: int = 4,
    max_states: int = 3,
    *,
    extreme: bool = False,
    allow_zero: bool = False,
) -> tuple[dict[str, float], Likelihoods]:
    """A random small naive Bayes network: (prior, likelihood) with a ``dvt`` cause.

    ``extreme`` and ``allow_zero`` are passed to :func:`distributions` (each distribution
    draws whether to use them); with both, a finding may also have a state that no cause
    produces. Zeros need :func:`tablewriter.build_model`, since the loader refuses them.
    """
    n_causes = draw(st.integers(2, max_causes))
    causes = ["dvt", *[f"cause_{i}" for i in range(1, n_causes)]]

    def distribution(size: int) -> list[float]:
        wild = extreme and draw(st.booleans())
        return draw(distributions(size, allow_zero=wild and allow_zero, extreme=wild))

    prior = dict(zip(causes, distribution(n_causes), strict=True))
    likelihood: dict[str, dict[str, dict[str, float]]] = {}
    for f in range(draw(st.integers(1, max_findings))):
        states = [f"s{j}" for j in range(draw(st.integers(2, max_states)))]
        table: dict[str, dict[str, float]] = {state: {} for state in states}
        for cause in causes:
            for state, p in zip(states, distribution(len(states)), strict=True):
                table[state][cause] = p
        if extreme and draw(st.booleans()):
            make_rare(table, draw(st.sampled_from(states)), draw)
        if extreme and allow_zero and draw(st.booleans()):
            rule_out(table, draw(st.sampled_from(states)))
        likelihood[f"finding_{f}"] = table
    return prior, likelihood


def make_rare(table: dict[str, dict[str, float]], state: str, draw: st.DrawFn) -> None:
    """Give ``state`` a probability of 1e-200 or less under every cause (two underflow)."""
    for cause, p in table[state].items():
        tiny = draw(st.sampled_from(EXTREME[:3]))
        other = max((s for s in table if s != state), key=lambda s: table[s][cause])
        table[other][cause] = max(table[other][cause] + p - tiny, 0.0)
        table[state][cause] = tiny


def rule_out(table: dict[str, dict[str, float]], state: str) -> None:
    """Give ``state`` probability 0 under every cause, its mass to another state."""
    other = next(s for s in table if s != state)
    for cause, p in table[state].items():
        table[other][cause] += p
        table[state][cause] = 0.0


@st.composite
def family_networks(
    draw: st.DrawFn,
    max_causes: int = 3,
    max_roots: int = 3,
    max_children: int = 2,
    *,
    extreme: bool = False,
    allow_zero: bool = False,
) -> tuple[dict[str, float], Likelihoods, Children]:
    """A random small network with families: (prior, roots' likelihood, children).

    Each root finding gets up to ``max_children`` children, whose likelihood has one
    distribution per (parent state, cause). ``extreme`` and ``allow_zero`` as in
    :func:`networks`.
    """
    prior, likelihood = draw(
        networks(max_causes, max_roots, 3, extreme=extreme, allow_zero=allow_zero)
    )

    def distribution(size: int) -> list[float]:
        wild = extreme and draw(st.booleans())
        return draw(distributions(size, allow_zero=wild and allow_zero, extreme=wild))

    causes = list(prior)
    children: dict[str, tuple[str, dict[str, dict[str, dict[str, float]]]]] = {}
    for root, table in likelihood.items():
        for c in range(draw(st.integers(0, max_children))):
            states = [f"t{j}" for j in range(draw(st.integers(2, 3)))]
            by_parent: dict[str, dict[str, dict[str, float]]] = {}
            for parent_state in table:
                own: dict[str, dict[str, float]] = {state: {} for state in states}
                for cause in causes:
                    for state, p in zip(states, distribution(len(states)), strict=True):
                        own[state][cause] = p
                if extreme and allow_zero and draw(st.booleans()):
                    rule_out(own, draw(st.sampled_from(states)))
                by_parent[parent_state] = own
            children[f"{root}_child_{c}"] = (root, by_parent)
    return prior, likelihood, children


@st.composite
def evidence(draw: st.DrawFn, vocabulary: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Random evidence: a subset of the findings, each with one of its states."""
    names = draw(st.lists(st.sampled_from(sorted(vocabulary)), unique=True))
    return {name: draw(st.sampled_from(list(vocabulary[name]))) for name in names}


def log_enumerate(
    prior: Mapping[str, float],
    likelihood: Likelihoods,
    children: Children,
    findings: Mapping[str, str],
) -> dict[str, float] | None:
    """P(cause | findings) by enumerating the full joint in log space; None if impossible.

    Every assignment's log-probability is a sum of logs (log 0 = -inf), so products that
    underflow in linear space (1e-300 squared) stay exact.
    """
    names = {name: list(table) for name, table in likelihood.items()}
    for child, (_, by_parent) in children.items():
        names[child] = list(next(iter(by_parent.values())))
    order = list(names)
    free = [n for n in order if n not in findings]
    terms: dict[str, list[float]] = {cause: [] for cause in prior}
    for cause, p_cause in prior.items():
        for states in itertools.product(*(names[n] for n in free)):
            assignment = {**findings, **dict(zip(free, states, strict=True))}
            factors = [p_cause]
            for n in order:
                if n in likelihood:
                    factors.append(likelihood[n][assignment[n]][cause])
                else:
                    parent, by_parent = children[n]
                    factors.append(by_parent[assignment[parent]][assignment[n]][cause])
            if all(f > 0 for f in factors):
                terms[cause].append(math.fsum(math.log(f) for f in factors))
    logs = {cause: _logsumexp(values) for cause, values in terms.items()}
    top = max(logs.values())
    if top == -math.inf:
        return None
    norm = top + math.log(math.fsum(math.exp(v - top) for v in logs.values()))
    return {cause: math.exp(v - norm) for cause, v in logs.items()}


def assert_agrees_with_enumeration(
    model: calfdx.Model, findings: Mapping[str, str], expected: Mapping[str, float] | None
) -> calfdx.Diagnosis | None:
    """Check the model's posterior against :func:`log_enumerate`'s (1e-12), and return it.

    When the enumeration finds the evidence impossible (None), diagnosing must raise
    ``ImpossibleEvidenceError`` (never give a number), and None is returned.
    """
    if expected is None:
        event("impossible evidence")
        with pytest.raises(calfdx.ImpossibleEvidenceError):
            model.diagnose(findings)
        return None
    result = model.diagnose(findings)
    for cause, p in expected.items():
        assert abs(result.posterior[cause] - p) <= 1e-12, (cause, result.posterior[cause], p)
    return result


def _logsumexp(values: Sequence[float]) -> float:
    if not values:
        return -math.inf
    top = max(values)
    return top + math.log(math.fsum(math.exp(v - top) for v in values))
