"""Soft (virtual) evidence: agreement with pgmpy's virtual_evidence, and its limits."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import calfdx

from .strategies import distributions, evidence

VOCABULARY = {name: f.states for name, f in calfdx.vocabulary().items()}

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import VariableElimination


@pytest.fixture(scope="module")
def eliminator(model: calfdx.Model) -> VariableElimination:
    return VariableElimination(model.to_pgmpy())


@st.composite
def soft_evidence(draw: st.DrawFn) -> dict[str, dict[str, float]]:
    names = draw(st.lists(st.sampled_from(sorted(VOCABULARY)), unique=True, max_size=5))
    return {
        name: dict(
            zip(
                VOCABULARY[name],
                draw(distributions(len(VOCABULARY[name]), allow_zero=True)),
                strict=True,
            )
        )
        for name in names
    }


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(hard=evidence(VOCABULARY), soft=soft_evidence())
def test_soft_evidence_agrees_with_pgmpy_virtual_evidence(
    model: calfdx.Model,
    eliminator: VariableElimination,
    hard: dict[str, str],
    soft: dict[str, dict[str, float]],
) -> None:
    """Check soft evidence equals pgmpy VariableElimination with virtual_evidence (1e-9)."""
    soft = {name: weights for name, weights in soft.items() if name not in hard}
    try:
        ours = model.diagnose({**hard, **soft}).posterior
    except calfdx.ImpossibleEvidenceError:
        return
    virtual = [
        TabularCPD(
            name,
            len(VOCABULARY[name]),
            [[weights[s]] for s in VOCABULARY[name]],
            state_names={name: list(VOCABULARY[name])},
        )
        for name, weights in soft.items()
    ]
    factor = eliminator.query(
        ["cause"], evidence=hard, virtual_evidence=virtual or None, show_progress=False
    )
    for cause, p in zip(factor.state_names["cause"], factor.values.tolist(), strict=True):
        assert abs(ours[cause] - p) <= 1e-9


def test_certain_soft_evidence_equals_the_state() -> None:
    """Check a probability of 1 (or 0) for yes gives the posterior of 'yes' (or 'no')."""
    assert calfdx.diagnose(swelling=1.0).posterior == calfdx.diagnose(swelling="yes").posterior
    assert calfdx.diagnose(swelling=0).posterior == calfdx.diagnose(swelling="no").posterior
    onset = calfdx.diagnose(onset={"sudden": 1.0}).posterior
    assert onset == calfdx.diagnose(onset="sudden").posterior


def test_even_soft_evidence_changes_nothing() -> None:
    """Check 50/50 soft evidence on a yes/no finding is uninformative."""
    even = calfdx.diagnose(swelling=0.5, side="unilateral")
    plain = calfdx.diagnose(side="unilateral")
    for cause, p in plain.posterior.items():
        assert even.posterior[cause] == pytest.approx(p, abs=1e-15)


def test_soft_findings_are_recorded_not_unobserved() -> None:
    """Check the result records soft evidence apart from hard findings."""
    result = calfdx.diagnose(swelling=0.7, age="65_plus")
    assert list(result.soft_findings) == ["swelling"]
    assert result.soft_findings["swelling"] == pytest.approx((0.7, 0.3))
    assert "swelling" not in result.unobserved
    assert "swelling" not in result.findings
    assert result.to_dict()["soft_findings"]["swelling"] == {"yes": 0.7, "no": pytest.approx(0.3)}


@pytest.mark.parametrize(
    ("findings", "match"),
    [
        ({"swelling": 1.2}, r"probability of yes strictly between 0 and 1"),
        ({"swelling": {"yes": 10**400, "no": 0.0}}, r"must be probabilities in \[0, 1\]"),
        ({"swelling": {"yes": 0.6, "no": 0.6}}, "sum to 1"),
        ({"swelling": {"maybe": 1.0}}, r"names unknown states \['maybe'\]"),
        ({"age": 0.5}, r"\['under_18', .*\], a mapping of state to probability"),
        ({"swelling": {"yes": "high", "no": 0.0}}, r"must be probabilities in \[0, 1\]"),
    ],
)
def test_bad_soft_evidence(findings: dict[str, object], match: str) -> None:
    """Check malformed soft evidence gets a clear error."""
    with pytest.raises(calfdx.UnknownStateError, match=match):
        calfdx.diagnose(findings)  # type: ignore[arg-type]
