"""The Wells DVT score (Wells 2003), pinned, beside the network."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import calfdx
from calfdx._wells import score_checked, tier_of

ALL_NO = {item.finding: "no" for item in calfdx.WELLS_ITEMS}


@pytest.mark.parametrize("item", calfdx.WELLS_ITEMS, ids=lambda item: item.id)
def test_each_item_scores_its_points_alone(item: calfdx.WellsItem) -> None:
    """Check each item, alone present, scores its published points (+1, or -2)."""
    score = calfdx.wells_score({**ALL_NO, item.finding: item.state})
    assert score.points == item.points
    assert score.complete
    assert dict(score.counted)[item.finding] == item.points
    assert score.points_range == (item.points, item.points)


def test_the_rule_has_nine_plus_one_items_and_one_minus_two() -> None:
    """Check the pinned version: nine +1 items and the -2 alternative diagnosis."""
    points = sorted(item.points for item in calfdx.WELLS_ITEMS)
    assert points == [-2] + [1] * 9


@pytest.mark.parametrize(
    ("present", "points", "tier", "two_level", "prevalence"),
    [
        ((), 0, "low", "unlikely", 0.049),
        (("active_cancer",), 1, "moderate", "unlikely", 0.174),
        (("active_cancer", "previous_dvt"), 2, "moderate", "likely", 0.174),
        (("active_cancer", "previous_dvt", "pitting_oedema"), 3, "high", "likely", 0.536),
        (("active_cancer", "alternative_diagnosis_likely"), -1, "low", "unlikely", 0.049),
        (
            (
                "whole_leg_swollen",
                "calf_difference_3cm",
                "pitting_oedema",
                "calf_tenderness",
                "active_cancer",
                "alternative_diagnosis_likely",
            ),
            3,
            "high",
            "likely",
            0.536,
        ),
    ],
)
def test_worked_examples_and_tier_boundaries(
    present: tuple[str, ...], points: int, tier: str, two_level: str, prevalence: float
) -> None:
    """Check worked examples across the tier boundaries (low <=0, moderate 1-2, high >=3)."""
    score = calfdx.wells_score({**ALL_NO, **dict.fromkeys(present, "yes")})
    assert (score.points, score.tier, score.two_level, score.prevalence) == (
        points,
        tier,
        two_level,
        prevalence,
    )
    assert score.prevalence_ci is not None
    assert score.prevalence is not None
    low, high = score.prevalence_ci
    assert low < score.prevalence < high


def test_missing_items_are_not_taken_as_absent() -> None:
    """Check missing items widen the range, and the tier stays open when they could matter."""
    partial = calfdx.wells_score(active_cancer="yes", previous_dvt="yes")
    assert partial.points == 2
    assert partial.points_range == (0, 9)
    assert partial.tier is None
    assert partial.prevalence is None
    assert partial.two_level is None
    assert set(partial.missing) == {item.finding for item in calfdx.WELLS_ITEMS} - {
        "active_cancer",
        "previous_dvt",
    }
    sure = calfdx.wells_score(
        {
            **ALL_NO,
            **dict.fromkeys(
                [
                    "active_cancer",
                    "previous_dvt",
                    "pitting_oedema",
                    "whole_leg_swollen",
                    "calf_difference_3cm",
                ],
                "yes",
            ),
        }
        | {"alternative_diagnosis_likely": None}
    )
    assert sure.points_range == (3, 5)
    assert sure.tier == "high"
    assert sure.missing == ("alternative_diagnosis_likely",)


def test_soft_evidence_is_not_an_answer() -> None:
    """Check a Wells item given only as soft evidence counts as missing."""
    score = calfdx.wells_score({**ALL_NO, "active_cancer": 0.9})
    assert "active_cancer" in score.missing


def test_discordance_with_the_network() -> None:
    """Check the discordance flag fires at an odds ratio of 4 either way."""
    score = calfdx.wells_score(ALL_NO, network=False)
    assert score.tier == "low"
    assert score.network_dvt_probability is None
    prevalence = 0.049
    odds = prevalence / (1 - prevalence)

    def p_at(ratio: float) -> float:
        return ratio * odds / (1 + ratio * odds)

    assert score.compared_with(p_at(4.01)).discordant is True
    assert score.compared_with(p_at(3.9)).discordant is False
    assert score.compared_with(p_at(1 / 4.01)).discordant is True
    assert score.compared_with(p_at(1.0)).odds_ratio == pytest.approx(1.0)


def test_result_carries_wells_when_the_tier_is_known() -> None:
    """Check result.wells is there when determinable, compared with the result's P(DVT)."""
    assert calfdx.diagnose(swelling="yes").wells is None
    result = calfdx.diagnose(
        {
            **ALL_NO,
            "side": "unilateral",
            "active_cancer": "yes",
            "whole_leg_swollen": "yes",
            "pitting_oedema": "yes",
        }
    )
    wells = result.wells
    assert wells is not None
    assert wells.points == 3
    assert wells.tier == "high"
    assert wells.network_dvt_probability == result.dvt_probability
    assert wells.discordant is not None
    assert "Wells score 3: high" in str(result)
    assert result.to_dict()["wells"]["tier"] == "high"


def test_bad_findings_are_rejected() -> None:
    """Check the score checks its findings like diagnose()."""
    with pytest.raises(calfdx.UnknownFindingError, match="Did you mean 'active_cancer'"):
        calfdx.wells_score(active_cancr="yes")
    with pytest.raises(calfdx.InvalidOptionError, match="model must be"):
        calfdx.wells_score(model="x")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    answers=st.fixed_dictionaries(
        {},
        optional={
            item.finding: st.sampled_from(calfdx.vocabulary()[item.finding].states)
            for item in calfdx.WELLS_ITEMS
        },
    )
)
def test_the_quick_tier_agrees_with_the_score(answers: dict[str, str]) -> None:
    """Check the tier a result asks first (``tier_of``) is the score's, missing items too.

    Both are checked against every way of answering the missing items: the tier is known
    exactly when all of them land in one tier.
    """
    missing = [item for item in calfdx.WELLS_ITEMS if item.finding not in answers]
    present = sum(i.points for i in calfdx.WELLS_ITEMS if answers.get(i.finding) == i.state)
    totals = {
        present + sum(item.points for item, yes in zip(missing, choice, strict=True) if yes)
        for choice in itertools.product((False, True), repeat=len(missing))
    }
    tiers = {"low" if t <= 0 else "moderate" if t <= 2 else "high" for t in totals}
    assert score_checked(answers, ()).points_range == (min(totals), max(totals))
    assert tier_of(answers) == (tiers.pop() if len(tiers) == 1 else None)
    assert tier_of(answers) == score_checked(answers, ()).tier
    result = calfdx.diagnose(answers)
    expected = score_checked(answers, ()).tier
    assert (result.wells is None) is (expected is None)
    if result.wells is not None:
        assert result.wells == calfdx.wells_score(answers).compared_with(result.dvt_probability)
