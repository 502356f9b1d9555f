"""Exactness: a hand-worked oracle, pgmpy VariableElimination and brute-force enumeration."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pgmpy.inference import VariableElimination

import calfdx
from calfdx._inference import posterior_product
from calfdx._jit import compiled

from .strategies import assert_agrees_with_enumeration, evidence, log_enumerate, networks
from .tablewriter import Likelihoods, build_model

Network = tuple[dict[str, float], Likelihoods]

VOCABULARY = {name: f.states for name, f in calfdx.load_model().vocabulary.items()}


@pytest.fixture(scope="module")
def eliminator(model: calfdx.Model) -> VariableElimination:
    return VariableElimination(model.to_pgmpy())


def pgmpy_posterior(
    eliminator: VariableElimination, findings: Mapping[str, str]
) -> dict[str, float]:
    factor = eliminator.query(["cause"], evidence=dict(findings), show_progress=False)
    return dict(zip(factor.state_names["cause"], factor.values.tolist(), strict=True))


def test_two_cause_network_worked_by_hand(toy_dir: Path) -> None:
    """Check a posterior computed by hand.

    Prior P(dvt) = 0.2, P(cramp) = 0.8; P(swelling=yes | dvt) = 0.6, | cramp = 0.1;
    P(onset=gradual | dvt) = 0.75, | cramp = 0.25.
    swelling=yes: 0.2*0.6 = 0.12 vs 0.8*0.1 = 0.08, so P(dvt) = 0.12 / 0.20 = 0.6.
    and onset=gradual: 0.12*0.75 = 0.09 vs 0.08*0.25 = 0.02, so P(dvt) = 0.09 / 0.11.
    """
    model = calfdx.load_model(toy_dir)
    assert model.diagnose().dvt_probability == pytest.approx(0.2, abs=1e-15)
    assert model.diagnose(swelling="yes").dvt_probability == pytest.approx(0.6, abs=1e-15)
    both = model.diagnose(swelling="yes", onset="gradual")
    assert both.dvt_probability == pytest.approx(0.09 / 0.11, abs=1e-15)
    assert both.posterior["cramp"] == pytest.approx(0.02 / 0.11, abs=1e-15)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(findings=evidence(VOCABULARY))
def test_agrees_with_pgmpy_variable_elimination(
    model: calfdx.Model, eliminator: VariableElimination, findings: dict[str, str]
) -> None:
    """Check the posterior equals pgmpy VariableElimination within 1e-12 on random evidence."""
    ours = model.diagnose(findings).posterior
    reference = pgmpy_posterior(eliminator, findings)
    assert set(ours) == set(reference)
    for cause, p in reference.items():
        assert abs(ours[cause] - p) <= 1e-12, (cause, ours[cause], p)


def test_agrees_with_pgmpy_when_everything_is_observed(
    model: calfdx.Model, eliminator: VariableElimination, rng: np.random.Generator
) -> None:
    """Check agreement (and no underflow) when every finding is observed."""
    for _ in range(20):
        findings = {name: str(rng.choice(states)) for name, states in VOCABULARY.items()}
        ours = model.diagnose(findings).posterior
        for cause, p in pgmpy_posterior(eliminator, findings).items():
            assert abs(ours[cause] - p) <= 1e-12


@settings(max_examples=150, deadline=None)
@given(data=st.data(), network=networks(extreme=True, allow_zero=True))
def test_agrees_with_brute_force_enumeration(data: st.DataObject, network: Network) -> None:
    """Check the posterior equals enumeration of the full joint on small random networks.

    The tables may hold zeros (evidence can then be impossible: an error, never a number)
    and probabilities down to 1e-300 (products underflow: the enumeration is in log space).
    """
    prior, likelihood = network
    findings = data.draw(evidence({n: list(s) for n, s in likelihood.items()}))
    model = build_model(prior, likelihood)
    expected = log_enumerate(prior, likelihood, {}, findings)
    if assert_agrees_with_enumeration(model, findings, expected) is None:
        return
    products = [math.prod(likelihood[n][s][c] for n, s in findings.items()) for c in prior]
    if all(p < 1e-280 for p in products):  # the engine recomputes these in log space
        event("evidence whose product is below 1e-280 under every cause")
    if all(p == 0.0 for p in products):
        event("evidence whose product underflows to 0 under every cause")


@settings(max_examples=100, deadline=None)
@given(findings=evidence(VOCABULARY))
def test_posterior_is_a_distribution_in_descending_order(findings: dict[str, str]) -> None:
    """Check the posterior covers every cause, lies in [0, 1], sums to 1 and is sorted."""
    result = calfdx.diagnose(findings)
    values = list(result.posterior.values())
    assert len(values) == 23
    assert all(0.0 <= p <= 1.0 for p in values)
    assert abs(sum(values) - 1.0) <= 1e-12
    assert values == sorted(values, reverse=True)
    assert result.dvt_probability == result.posterior["dvt"]
    assert result.dvt_alert is (result.dvt_probability >= result.dvt_threshold)
    assert set(result.findings) | set(result.unobserved) == set(VOCABULARY)
    assert not set(result.findings) & set(result.unobserved)


@settings(max_examples=100, deadline=None)
@given(findings=evidence(VOCABULARY), seed=st.integers(0, 2**32 - 1))
def test_order_of_the_evidence_does_not_matter(findings: dict[str, str], seed: int) -> None:
    """Check that the posterior does not depend on the order findings are given in."""
    items = list(findings.items())
    np.random.default_rng(seed).shuffle(items)
    half = len(items) // 2
    a = calfdx.diagnose(findings)
    # Keyword findings; mypy cannot tell a dict[str, str] never fills model= or dvt_threshold=.
    b = calfdx.diagnose(dict(items[:half]), **dict(items[half:]))  # type: ignore[arg-type]
    assert a == b


@settings(max_examples=60, deadline=None)
@given(data=st.data(), network=networks(max_findings=3, extreme=True), p_yes=st.floats(0.01, 0.99))
def test_a_finding_equally_likely_under_every_cause_changes_nothing(
    data: st.DataObject, network: Network, p_yes: float
) -> None:
    """Check that observing an uninformative finding leaves the posterior unchanged."""
    prior, likelihood = network
    flat = {
        "yes": dict.fromkeys(prior, p_yes),
        "no": dict.fromkeys(prior, 1.0 - p_yes),
    }
    model = build_model(prior, {**likelihood, "flat": flat})
    findings = data.draw(evidence({n: list(s) for n, s in likelihood.items()}))
    without = model.diagnose(findings).posterior
    with_flat = model.diagnose(findings, flat=data.draw(st.sampled_from(["yes", "no"]))).posterior
    for cause in prior:
        assert abs(without[cause] - with_flat[cause]) <= 1e-12


@settings(max_examples=60, deadline=None)
@given(data=st.data(), network=networks(max_findings=2), bump=st.floats(0.0, 0.99))
def test_raising_a_likelihood_under_dvt_never_lowers_the_dvt_posterior(
    data: st.DataObject, network: Network, bump: float
) -> None:
    """Check monotonicity: a larger P(finding=s | dvt) gives P(dvt | s) at least as large."""
    prior, likelihood = network
    name = next(iter(likelihood))
    state = data.draw(st.sampled_from(list(likelihood[name])))
    low = likelihood[name][state]["dvt"]
    high = low + bump * (1.0 - low)
    raised = {s: dict(by_cause) for s, by_cause in likelihood[name].items()}
    # Take the extra mass proportionally from the other states, keeping the row summing to 1.
    others = [s for s in raised if s != state]
    rest = sum(raised[s]["dvt"] for s in others)
    for s in others:
        raised[s]["dvt"] = raised[s]["dvt"] * (1.0 - high) / rest
    raised[state]["dvt"] = 1.0 - sum(raised[s]["dvt"] for s in others)
    base = build_model(prior, likelihood)
    more = build_model(prior, {**likelihood, name: raised})
    before = base.diagnose({name: state}).dvt_probability
    after = more.diagnose({name: state}).dvt_probability
    assert after >= before - 1e-12


# ---------------------------------------------------------------- diagnose's compiled path
def _reference(likelihood: np.ndarray, rows: list[int]) -> tuple[list[float], list[int]]:
    """The numpy path: the chain of row products, ``math.fsum``, ``sorted``."""
    joint = likelihood[0].copy()
    for row in rows:
        joint *= likelihood[row]
    values = joint.tolist()
    total = math.fsum(values)
    if not total > 1e-280:
        return values, []
    values = [value / total for value in values]
    return values, sorted(range(len(values)), key=values.__getitem__, reverse=True)


@st.composite
def _row_tables(draw: st.DrawFn) -> tuple[np.ndarray, list[int]]:
    """Rows of likelihoods with zeros, ties, subnormals and values down to 1e-300."""
    n_causes = draw(st.integers(1, 30))
    n_rows = draw(st.integers(1, 8))
    value = st.one_of(
        st.sampled_from([0.0, 1.0, 0.5, 0.25, 1e-300, 5e-324, 2.0**-1074 * 3]),
        st.floats(0.0, 1.0, allow_subnormal=True),
        st.floats(1e-300, 1e-100),
    )
    table = np.array(
        draw(
            st.lists(
                st.lists(value, min_size=n_causes, max_size=n_causes),
                min_size=n_rows,
                max_size=n_rows,
            )
        )
    )
    rows = draw(st.lists(st.integers(1, n_rows - 1), max_size=12)) if n_rows > 1 else []
    return table, rows


@settings(max_examples=300, deadline=None)
@given(case=_row_tables())
def test_compiled_posterior_equals_the_numpy_path_bit_for_bit(
    case: tuple[np.ndarray, list[int]],
) -> None:
    """Check diagnose's one-call posterior against the chain, fsum and sort it replaces.

    Plain Python and, when installed, compiled by numba: the same floats (``==``, not close)
    and the same order (ties in table order), and no order when the sum underflows.
    """
    table, rows = case
    expected = _reference(table, rows)
    kernels = [posterior_product]
    if (kernel := compiled(posterior_product)) is not None:
        kernels.append(kernel)
    for function in kernels:
        probabilities, order = function(table, np.array(rows, dtype=np.intp))
        if expected[1]:
            assert probabilities == expected[0]
            assert all(type(p) is float for p in probabilities)
        assert order == expected[1]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), network=networks(extreme=True, allow_zero=True))
def test_diagnose_gives_the_same_bits_with_and_without_numba(
    monkeypatch: pytest.MonkeyPatch, data: st.DataObject, network: Network
) -> None:
    """Check a diagnosis is the same, bit for bit, whichever path computes the posterior.

    numba's kernel serves diagnose once numba is loaded; the numpy path serves before and
    without it. Networks with zeros and extreme values reach the log-space recomputation.
    """
    if compiled(posterior_product) is None:
        pytest.skip("numba is not installed")
    prior, likelihood = network
    findings = data.draw(evidence({n: list(s) for n, s in likelihood.items()}))
    model = build_model(prior, likelihood)
    outcomes: list[object] = []
    for forced in (lambda function: None, compiled):
        monkeypatch.setattr("calfdx._inference.compiled_if_loaded", forced)
        try:
            result = model.diagnose(findings)
        except calfdx.ImpossibleEvidenceError as error:
            outcomes.append(str(error))
        else:
            outcomes.append(list(result.posterior.items()))
    assert outcomes[0] == outcomes[1]


def test_diagnose_does_not_import_numba_for_its_posterior() -> None:
    """Check the compiled posterior waits for numba to be loaded by something else."""
    probe = (
        "import sys, calfdx; from calfdx._inference import posterior_product; "
        "from calfdx._jit import compiled_if_loaded; "
        "calfdx.diagnose(swelling='yes'); before = 'numba' in sys.modules; "
        "import numba; "
        "print(before, compiled_if_loaded(posterior_product) is not None)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "True"]


def test_findings_are_kept_in_vocabulary_order() -> None:
    """Check a result lists its findings in vocabulary order, whatever order they came in.

    A child finding (``whole_leg_swollen``, in the family of ``swelling``) given without its
    parent used to sit at its family's place, ahead of findings that precede it.
    """
    given = {"d_dimer": "positive", "whole_leg_swollen": "no", "palpable_cord": "no"}
    given |= {"exertion": "during"}
    vocabulary = list(calfdx.vocabulary())
    expected = sorted(given, key=vocabulary.index)
    assert list(calfdx.diagnose(given).findings) == expected
    assert list(calfdx.diagnose(dict(reversed(given.items()))).findings) == expected
    assert list(calfdx.diagnose(given).to_dict()["findings"]) == expected
    with_answers: dict[str, str | bool] = {**given, "whole_leg_swollen": False}  # checked path
    assert list(calfdx.diagnose(with_answers).findings) == expected
