"""Explanations with exact weights, and the next best question."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import calfdx

from .strategies import evidence
from .tablewriter import write_tables

VOCABULARY = {name: f.states for name, f in calfdx.vocabulary().items()}
CAUSES = [c.id for c in calfdx.load_model().causes]


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    """Random hard evidence plus, sometimes, soft evidence on a yes/no finding."""
    findings: dict[str, Any] = dict(draw(evidence(VOCABULARY)))
    yes_no = [n for n, s in VOCABULARY.items() if s == ("yes", "no") and n not in findings]
    soft: bool = draw(st.booleans())
    if yes_no and soft:
        findings[draw(st.sampled_from(yes_no))] = draw(st.floats(0.01, 0.99))
    return findings


@settings(max_examples=150, deadline=None)
@given(findings=patients(), cause=st.sampled_from(CAUSES))
def test_weights_reproduce_the_posterior_log_odds(findings: dict[str, Any], cause: str) -> None:
    """Check prior log-odds plus the weights equal the posterior log-odds, for any cause."""
    result = calfdx.diagnose(findings)
    why = result.explain(cause)
    assert why.cause == cause
    assert why.posterior_probability == result.posterior[cause]
    total = why.prior_log_odds + sum(r.weight for r in why.records)
    if math.isfinite(why.posterior_log_odds):
        assert total == pytest.approx(why.posterior_log_odds, rel=1e-9, abs=1e-9)
    assert [r.finding for r in why.records] == [
        n for n in VOCABULARY if n in result.findings or n in result.soft_findings
    ]
    assert set(why.unobserved) == set(result.unobserved)
    for r in why.records:
        assert r.weight == pytest.approx(math.log(r.likelihood_ratio))
        expected = (
            "neutral"
            if 1 / 1.1 <= r.likelihood_ratio <= 1.1
            else "supporting"
            if r.likelihood_ratio > 1
            else "against"
        )
        assert r.effect == expected


def test_explanation_views() -> None:
    """Check the records, groups, frame, dict and text of an explanation."""
    result = calfdx.diagnose(
        swelling="yes", side="unilateral", recent_immobilization="yes", trauma="no", age="65_plus"
    )
    why = result.explain("dvt")
    assert why.cause == "dvt"
    assert why.posterior_probability == result.posterior["dvt"]
    # One record per observed finding, in the vocabulary's order, each for the cause asked.
    assert [(r.finding, r.state) for r in why.records] == [
        (n, result.findings[n]) for n in VOCABULARY if n in result.findings
    ]
    assert {r.cause for r in why.records} == {"dvt"}
    # The first record is P(age | dvt) / P(age | not dvt) under the prior, worked here.
    model = calfdx.load_model()
    prior = model.prior
    others = prior.drop("dvt")
    given_other = sum(model.likelihood("age", str(c))["65_plus"] * p for c, p in others.items())
    ratio = model.likelihood("age", "dvt")["65_plus"] / (given_other / others.sum())
    assert why.records[0].finding == "age"
    assert why.records[0].likelihood_ratio == pytest.approx(ratio, rel=1e-12)
    total = why.prior_log_odds + sum(r.weight for r in why.records)
    assert total == pytest.approx(why.posterior_log_odds, rel=1e-12)
    # Supporting records strongest first; the groups partition the records by effect.
    assert [r.finding for r in why.supporting] == [
        "swelling",
        "recent_immobilization",
        "age",
        "side",
    ]
    weights = [r.weight for r in why.supporting]
    assert weights == sorted(weights, reverse=True)
    assert why.against == ()
    assert [r.finding for r in why.neutral] == ["trauma"]
    assert all(1 / 1.1 <= r.likelihood_ratio <= 1.1 for r in why.neutral)
    assert list(why.to_frame().columns) == [
        "finding",
        "state",
        "cause",
        "likelihood_ratio",
        "weight",
        "effect",
    ]
    assert why.to_dict()["records"][0]["finding"] == "age"
    text = str(why)
    assert "Why Deep vein thrombosis (dvt)" in text
    assert "swelling = yes makes Deep vein thrombosis" in text
    assert "more likely" in text
    assert "<table>" in why._repr_html_()
    assert result.explain().cause == result.top_cause
    with pytest.raises(calfdx.InvalidOptionError, match="Unknown cause 'dvtt'"):
        result.explain("dvtt")


def test_explanation_of_the_two_cause_toy_is_the_likelihood_ratio(toy_dir: Path) -> None:
    """Check that with two causes the weight is the plain log likelihood ratio."""
    result = calfdx.load_model(toy_dir).diagnose(swelling="yes", onset="gradual")
    why = result.explain("dvt")
    ratios = {r.finding: r.likelihood_ratio for r in why.records}
    assert ratios["swelling"] == pytest.approx(0.6 / 0.1)
    assert ratios["onset"] == pytest.approx(0.75 / 0.25)


@settings(max_examples=80, deadline=None)
@given(
    findings=evidence(VOCABULARY),
    k=st.integers(1, 4),
    rank_by=st.sampled_from(["decision", "information"]),
)
def test_each_answer_moves_the_posterior_as_previewed(
    findings: dict[str, str], k: int, rank_by: str
) -> None:
    """Check P(answer), P(DVT) per answer and the flip probability against diagnose()."""
    result = calfdx.diagnose(findings)
    ranking = result.next_questions(k, rank_by=rank_by)  # type: ignore[arg-type]
    assert len(ranking) == min(k, len(result.unobserved))
    posterior = np.array([result.posterior[c] for c in CAUSES])
    entropy = -sum(p * math.log2(p) for p in posterior if p > 0)
    for suggestion in ranking:
        assert suggestion.finding in result.unobserved
        assert sum(suggestion.answer_probability.values()) == pytest.approx(1.0, abs=1e-12)
        assert 0.0 <= suggestion.information_gain <= entropy + 1e-9
        flip = 0.0
        expected_entropy = 0.0
        for state, p_answer in suggestion.answer_probability.items():
            after = calfdx.diagnose({**findings, suggestion.finding: state})
            assert after.dvt_probability == pytest.approx(
                suggestion.dvt_probability_if[state], abs=1e-12
            )
            if after.dvt_alert != result.dvt_alert:
                flip += p_answer
            expected_entropy += p_answer * -sum(
                p * math.log2(p) for p in after.posterior.values() if p > 0
            )
        assert suggestion.flip_probability == pytest.approx(flip, abs=1e-12)
        assert suggestion.information_gain == pytest.approx(entropy - expected_entropy, abs=1e-9)
        assert suggestion.reason
    keys = [
        (s.flip_probability == 0, -s.flip_probability / s.cost, -s.information_gain / s.cost)
        if rank_by == "decision"
        else (-s.information_gain / s.cost, -s.flip_probability)
        for s in ranking
    ]
    assert keys == sorted(keys)


def test_a_question_that_can_flip_the_alert_comes_first() -> None:
    """Check decision ranking puts a question that could clear or raise the alert first."""
    ranking = calfdx.diagnose(side="unilateral", age="40_to_64").next_questions(3)
    assert ranking[0].flip_probability > 0
    assert "DVT alert" in ranking[0].reason
    assert "Next questions:" in str(ranking)
    assert list(ranking.to_frame().columns)[:3] == [
        "finding",
        "information_gain",
        "flip_probability",
    ]


def test_costs_change_the_information_ranking(tmp_path: Path) -> None:
    """Check a costly question falls behind a cheap one of similar value."""
    same = {"yes": {"dvt": 0.9, "cramp": 0.1}, "no": {"dvt": 0.1, "cramp": 0.9}}
    folder = write_tables(tmp_path, {"dvt": 0.5, "cramp": 0.5}, {"scan": same, "ask": same})
    findings_csv = folder / "findings.csv"
    lines = findings_csv.read_text().splitlines()
    lines[0] += ",cost"
    lines[1] += ",10"  # scan
    lines[2] += ",1"  # ask
    findings_csv.write_text("\n".join(lines) + "\n")
    model = calfdx.load_model(folder)
    assert model.vocabulary["scan"].cost == 10
    top = model.next_questions(k=1, rank_by="information")[0]
    assert top.finding == "ask"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"k": 0}, "k must be a positive integer"), ({"rank_by": "vibes"}, "rank_by must be")],
)
def test_bad_question_options(kwargs: dict[str, Any], match: str) -> None:
    """Check bad options for next_questions get a clear error."""
    with pytest.raises(calfdx.InvalidOptionError, match=match):
        calfdx.diagnose(swelling="yes").next_questions(**kwargs)


# --------------------------------------------------------------------------------------------
# Exact on families (a finding may have a parent finding)

FAMILY_CASES = [
    {"swelling": "yes", "calf_difference_3cm": "yes", "pitting_oedema": "no"},
    {"side": "unilateral", "warmth": "yes", "redness": "yes"},
    {"ultrasound": "negative", "ultrasound_proximal": "negative"},
    {"calf_difference_3cm": "yes", "whole_leg_swollen": "no"},  # the parent left unknown
    {"bedridden_or_major_surgery": "yes", "recent_immobilization": "no", "age": "65_plus"},
    # soft evidence on parents and children
    {"swelling": 0.7, "pitting_oedema": "yes", "calf_difference_3cm": 0.2},
    {
        "ultrasound": {"negative": 0.8, "positive": 0.2},
        "ultrasound_proximal": "positive",
        "paralysis_or_cast": 0.4,
        "bedridden_or_major_surgery": "yes",
    },
    {"redness": 0.9, "warmth": "no", "swelling": "yes", "whole_leg_swollen": 0.3},
]


def _log_odds(p: float) -> float:
    return math.log(p) - math.log1p(-p)


@pytest.mark.parametrize("findings", FAMILY_CASES)
def test_each_weight_is_the_exact_step_of_the_log_odds_within_families(
    findings: dict[str, Any],
) -> None:
    """Check every record's weight is the change of log-odds when its finding is added.

    With families, the contribution of a finding is P(e_f | cause, earlier evidence of its
    family): the weights then telescope exactly, record by record, to the posterior.
    """
    result = calfdx.diagnose(findings)
    order = [n for n in VOCABULARY if n in findings]
    for cause in CAUSES:
        why = result.explain(cause)
        assert [r.finding for r in why.records] == order
        before = why.prior_log_odds
        for k, record in enumerate(why.records):
            prefix = {n: findings[n] for n in order[: k + 1]}
            after = _log_odds(calfdx.diagnose(prefix).posterior[cause])
            assert record.weight == pytest.approx(after - before, rel=1e-9, abs=1e-9)
            before = after
        total = why.prior_log_odds + sum(r.weight for r in why.records)
        assert total == pytest.approx(why.posterior_log_odds, rel=1e-9, abs=1e-9)


def test_a_childs_weight_is_conditional_on_its_parent() -> None:
    """Check a child's likelihood ratio uses P(child | cause, parent), not its marginal.

    With only two causes left with posterior mass the ratio is a plain ratio of the
    conditional rows: here DVT against everything else after swelling = yes.
    """
    model = calfdx.load_model()
    engine = model._compiled.engine
    result = calfdx.diagnose(swelling="yes", calf_difference_3cm="yes")
    child = result.explain("dvt").records[1]
    assert child.finding == "calf_difference_3cm"
    conditional = engine.conditional("calf_difference_3cm", {"swelling": "yes"})[0]
    marginal = engine.block("calf_difference_3cm")[0]
    before = np.array(
        [calfdx.diagnose(swelling="yes").posterior[c] for c in engine.causes], dtype=float
    )
    i = engine.causes.index("dvt")
    others = before.copy()
    others[i] = 0.0
    expected = conditional[i] / (conditional @ others / others.sum())
    naive = marginal[i] / (marginal @ others / others.sum())
    assert child.likelihood_ratio == pytest.approx(expected, rel=1e-12)
    assert abs(expected - naive) > 1e-3  # the old, independent answer was different


@pytest.fixture(scope="module")
def eliminator() -> object:
    from pgmpy.inference import VariableElimination

    return VariableElimination(calfdx.load_model().to_pgmpy())


PREDICTIVE_CASES = [
    {"swelling": "yes"},  # the parent observed: its children's predictive
    {"swelling": "no", "calf_difference_3cm": "yes"},
    {"calf_difference_3cm": "yes"},  # a child observed: the parent's and siblings'
    {"redness": "yes", "side": "unilateral"},
    {"ultrasound_proximal": "positive"},
    {"ultrasound": "negative"},
    {"paralysis_or_cast": "yes", "bedridden_or_major_surgery": "no"},
]


@pytest.mark.parametrize("findings", PREDICTIVE_CASES)
def test_answer_probabilities_equal_variable_elimination(
    findings: dict[str, Any], eliminator: Any
) -> None:
    """Check P(answer | evidence) and P(DVT | evidence, answer) against pgmpy to 1e-9."""
    model = calfdx.load_model()
    result = model.diagnose(findings)
    ranking = result.next_questions(len(result.unobserved), rank_by="information")
    assert {s.finding for s in ranking} == set(result.unobserved)
    families = {m for n in findings for m in model._compiled.engine.family(n)}
    for suggestion in ranking:
        name = suggestion.finding
        factor = eliminator.query([name], evidence=findings, show_progress=False)
        for state, p in suggestion.answer_probability.items():
            assert p == pytest.approx(factor.get_value(**{name: state}), abs=1e-9), (name, state)
        if name not in families:
            continue
        for state, dvt in suggestion.dvt_probability_if.items():
            after = eliminator.query(
                ["cause"], evidence={**findings, name: state}, show_progress=False
            )
            assert dvt == pytest.approx(after.get_value(cause="dvt"), abs=1e-9), (name, state)


@pytest.mark.parametrize(
    ("hard", "soft_name", "weights"),
    [
        ({"swelling": "yes"}, "calf_difference_3cm", {"yes": 0.7, "no": 0.3}),
        ({"pitting_oedema": "yes"}, "swelling", {"yes": 0.2, "no": 0.8}),
        ({}, "ultrasound", {"negative": 0.9, "positive": 0.1}),
    ],
)
def test_answer_probabilities_with_soft_evidence_equal_variable_elimination(
    hard: dict[str, Any], soft_name: str, weights: dict[str, Any], eliminator: Any
) -> None:
    """Check the predictive under soft evidence in the family against pgmpy to 1e-9.

    Soft evidence w on g: P(f = s | e) = sum_g w_g P(f = s, g | hard) / sum_g w_g P(g | hard).
    """
    model = calfdx.load_model()
    result = model.diagnose({**hard, soft_name: weights})
    suggestions = {s.finding: s for s in result.next_questions(40, rank_by="information")}
    for name in model._compiled.engine.family(soft_name):
        if name in hard or name == soft_name:
            continue
        joint = eliminator.query([name, soft_name], evidence=hard, show_progress=False)
        mass = {
            state: sum(
                w * joint.get_value(**{name: state, soft_name: g}) for g, w in weights.items()
            )
            for state in model.vocabulary[name].states
        }
        total = sum(mass.values())
        for state, p in suggestions[name].answer_probability.items():
            assert p == pytest.approx(mass[state] / total, abs=1e-9), (name, state)


@st.composite
def family_patients(draw: st.DrawFn) -> dict[str, object]:
    """Evidence on the members of one or two families (hard or soft), plus random findings."""
    engine = calfdx.load_model()._compiled.engine
    multi = [members for members in engine.families if len(members) > 1]
    findings: dict[str, object] = dict(draw(evidence(VOCABULARY)))
    for members in draw(st.lists(st.sampled_from(multi), min_size=1, max_size=2, unique=True)):
        for name in members:
            states = VOCABULARY[name]
            choice = draw(st.sampled_from(["unknown", "hard", "soft"]))
            if choice == "hard":
                findings[name] = draw(st.sampled_from(list(states)))
            elif choice == "soft":
                first = draw(st.floats(0.01, 0.99))
                findings[name] = {states[0]: first, states[1]: 1.0 - first}
            else:
                findings.pop(name, None)
    return findings


@settings(max_examples=60, deadline=None)
@given(findings=family_patients(), cause=st.sampled_from(CAUSES))
def test_family_weights_step_the_log_odds_exactly(findings: dict[str, Any], cause: str) -> None:
    """Check, on random family evidence, every weight is its step of the posterior log-odds."""
    result = calfdx.diagnose(findings)
    why = result.explain(cause)
    order = [r.finding for r in why.records]
    before = why.prior_log_odds
    for k, record in enumerate(why.records):
        p = calfdx.diagnose({n: findings[n] for n in order[: k + 1]}).posterior[cause]
        if not 0.0 < p < 1.0:
            return  # the log-odds left the floating-point range
        after = _log_odds(p)
        assert record.weight == pytest.approx(after - before, rel=1e-8, abs=1e-8)
        before = after
