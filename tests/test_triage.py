"""Triage levels, red flags and the "outside the model" conflict check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import calfdx
from calfdx._schema import URGENCY_LEVELS

from .strategies import evidence
from .tablewriter import write_tables
from .vignettes import VIGNETTES

SOURCE = "published,toy2026,"


def toy_with_triage(folder: Path) -> Path:
    """Return a three-cause toy with an emergency cause, triage thresholds and a red flag."""
    write_tables(
        folder,
        {"dvt": 0.1, "cramp": 0.88, "acs": 0.02},
        {
            "stretch_pain": {
                "yes": {"dvt": 0.05, "cramp": 0.2, "acs": 0.9},
                "no": {"dvt": 0.95, "cramp": 0.8, "acs": 0.1},
            },
            "trauma": {
                "yes": {"dvt": 0.05, "cramp": 0.05, "acs": 0.8},
                "no": {"dvt": 0.95, "cramp": 0.95, "acs": 0.2},
            },
        },
    )
    causes = (folder / "causes.csv").read_text()
    causes = causes.replace("dvt,Dvt,routine", "dvt,Dvt,same_day")
    causes = causes.replace("cramp,Cramp,routine", "cramp,Cramp,self_care")
    causes = causes.replace("acs,Acs,routine", "acs,Acs,emergency")
    (folder / "causes.csv").write_text(causes)
    (folder / "triage.csv").write_text(
        "level,threshold,source_type,source_id,reasoning\n"
        f"emergency,0.05,{SOURCE}\nsame_day,0.2,{SOURCE}\nroutine,0.5,{SOURCE}\n"
        f"self_care,0,{SOURCE}\n"
    )
    (folder / "red_flags.csv").write_text(
        "flag,level,condition,message,source_type,source_id,reasoning\n"
        f"stretch_after_trauma,emergency,stretch_pain=yes & trauma=yes,Go now.,{SOURCE}\n"
    )
    return folder


def test_levels_follow_cumulative_thresholds(tmp_path: Path) -> None:
    """Check the level is the most urgent whose cumulative posterior reaches its threshold."""
    model = calfdx.load_model(toy_with_triage(tmp_path), dvt_threshold=0.5)
    quiet = model.diagnose(stretch_pain="no", trauma="no")
    assert quiet.triage is not None
    assert quiet.triage.level == "self_care"
    assert quiet.red_flags == ()
    mass = quiet.triage.mass
    assert mass["emergency"] == pytest.approx(quiet.posterior["acs"])
    assert mass["same_day"] == pytest.approx(quiet.posterior["acs"] + quiet.posterior["dvt"])
    assert mass["self_care"] == pytest.approx(1.0)
    stretch = model.diagnose(stretch_pain="yes")
    assert stretch.posterior["acs"] >= 0.05
    assert stretch.top_cause != "acs", "the emergency cause must not need to rank first"
    assert stretch.triage is not None
    assert stretch.triage.level == "emergency"
    assert stretch.triage.causes[0][0] == "acs"
    assert stretch.red_flags == ()


def test_a_red_flag_raises_the_level_whatever_the_posterior(tmp_path: Path) -> None:
    """Check a red flag sets the level even when the posterior alone would not."""
    folder = toy_with_triage(tmp_path)
    (folder / "triage.csv").write_text(
        (folder / "triage.csv").read_text().replace("emergency,0.05", "emergency,0.99")
    )
    model = calfdx.load_model(folder, dvt_threshold=0.99)
    result = model.diagnose(stretch_pain="yes", trauma="yes")
    assert [flag.id for flag in result.red_flags] == ["stretch_after_trauma"]
    assert result.red_flags[0].message == "Go now."
    assert result.triage is not None
    assert result.triage.level == "emergency"
    assert "red flag stretch_after_trauma (emergency)" in result.triage.reasons


def test_the_dvt_alert_means_same_day_at_least(tmp_path: Path) -> None:
    """Check a DVT alert lifts a self-care picture to same-day."""
    model = calfdx.load_model(toy_with_triage(tmp_path), dvt_threshold=0.01)
    result = model.diagnose(stretch_pain="no", trauma="no")
    assert result.dvt_alert
    assert result.triage is not None
    assert result.triage.level == "same_day"
    assert "DVT alert" in result.triage.reasons


def test_no_triage_table_means_no_triage(toy_dir: Path) -> None:
    """Check tables without triage.csv give triage None and no red flags."""
    result = calfdx.load_model(toy_dir).diagnose(swelling="yes")
    assert result.triage is None
    assert result.red_flags == ()
    assert result.to_dict()["triage"] is None


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            ("red_flags.csv", "stretch_pain=yes", "stretch_pain=maybe"),
            r"red_flags\.csv, line 2, column 'condition': .*unknown state 'maybe'",
        ),
        (
            ("red_flags.csv", "stretch_pain=yes", "stretchy=yes"),
            r"red_flags\.csv, line 2, column 'condition': .*unknown finding 'stretchy'",
        ),
        (("red_flags.csv", ",emergency,", ",soonish,"), r"red_flags\.csv, line 2, column 'level'"),
        (
            ("triage.csv", "routine,0.5", "routine,1.5"),
            r"triage\.csv, line 4, column 'threshold': expected a probability",
        ),
        (("triage.csv", "routine,0.5", "sometime,0.5"), r"triage\.csv, line 4, column 'level'"),
    ],
)
def test_broken_triage_tables(tmp_path: Path, edit: tuple[str, str, str], match: str) -> None:
    """Check broken red-flag and triage tables are reported with file, line and column."""
    folder = toy_with_triage(tmp_path)
    name, old, new = edit
    (folder / name).write_text((folder / name).read_text().replace(old, new, 1))
    with pytest.raises(calfdx.TableError, match=match):
        calfdx.load_model(folder)


SELF_CARE_OR_ROUTINE = {"nocturnal_cramp", "doms"}


@pytest.mark.parametrize("vignette", VIGNETTES, ids=lambda v: v.id)
def test_shipped_triage_of_the_vignettes(vignette: object) -> None:
    """Check cramps and DOMS stay self-care or routine; DVT pictures are at least same-day."""
    result = calfdx.diagnose(vignette.findings)  # type: ignore[attr-defined]
    assert result.triage is not None
    level = result.triage.level
    if vignette.id in SELF_CARE_OR_ROUTINE:  # type: ignore[attr-defined]
        assert level in ("self_care", "routine"), result.triage
    if result.dvt_alert:
        assert level in ("emergency", "same_day")
    if vignette.id == "acute_compartment_syndrome":  # type: ignore[attr-defined]
        assert level == "emergency"


def test_shipped_red_flags_fire_on_their_conditions() -> None:
    """Check every shipped red flag fires on exactly its condition and is sourced."""
    model = calfdx.load_model()
    flags = model._compiled.tables.red_flags
    assert flags, "the shipped tables define red flags"
    for flag in flags:
        result = model.diagnose(dict(flag.condition))
        assert flag.id in [f.id for f in result.red_flags]
        assert result.triage is not None
        order = ("emergency", "same_day", "routine", "self_care")
        assert order.index(result.triage.level) <= order.index(flag.level)
        assert flag.source_id or flag.reasoning
    assert calfdx.diagnose(swelling="yes").red_flags == ()


def test_conflict_flags_only_pictures_that_fit_no_cause() -> None:
    """Check textbook vignettes fit the model and a nonsense picture does not."""
    for vignette in VIGNETTES:
        assert not calfdx.diagnose(vignette.findings).conflict.is_conflict, vignette.id
    nonsense = calfdx.diagnose(
        thompson_test="positive", palpable_cord="yes", fever="yes", side="bilateral"
    ).conflict
    assert nonsense.is_conflict
    assert "fit none of the modelled causes" in nonsense.message
    assert nonsense.conflict_measure > 0
    again = calfdx.diagnose(
        thompson_test="positive", palpable_cord="yes", fever="yes", side="bilateral"
    ).conflict
    assert again == nonsense, "the check is seeded and reproducible"
    assert calfdx.diagnose().conflict.is_conflict is False


# -------------------------------------------------------------------------------------------
# Escalation on evidence, never on unknowns (issue 9)

SETTINGS = calfdx.load_model().settings

#: Pictures with no finding that defines an emergency: never escalated to emergency.
NOT_EMERGENCIES = {
    "empty form": {},
    "unilateral swelling": {"side": "unilateral", "swelling": "yes"},
    "bruise": {"bruising": "yes", "swelling": "yes"},
    "DVT picture": {
        "side": "unilateral",
        "swelling": "yes",
        "calf_tenderness": "yes",
        "warmth": "yes",
        "onset": "gradual",
    },
    "post-partum DVT picture": {
        "estrogen_or_pregnancy": "yes",
        "swelling": "yes",
        "side": "unilateral",
        "calf_tenderness": "yes",
    },
    "Baker's cyst picture": {
        "posterior_knee_pain": "yes",
        "onset": "sudden",
        "swelling": "yes",
        "side": "unilateral",
        "bruising": "yes",
    },
}

#: The findings that define each textbook emergency, and nothing else.
DEFINING_FINDINGS = {
    "compartment syndrome after trauma": {"trauma": "yes", "pain_on_passive_stretch": "yes"},
    "compartment syndrome, tense calf": {"swelling": "yes", "pain_on_passive_stretch": "yes"},
    "compartment syndrome after exertion": {
        "exertion": "after",
        "pain_on_passive_stretch": "yes",
    },
    "compartment syndrome during exertion": {
        "exertion": "during",
        "pain_on_passive_stretch": "yes",
    },
    "fracture": {"trauma": "yes", "bone_tenderness": "yes"},
    "limb ischaemia, sudden": {"pulses_diminished": "yes", "onset": "sudden"},
    "limb ischaemia, paralysis": {"pulses_diminished": "yes", "foot_drop": "yes"},
}


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("picture", sorted(NOT_EMERGENCIES))
def test_unknowns_never_escalate_to_emergency(setting: str, picture: str) -> None:
    """Check the empty form and pictures without defining findings are never emergencies."""
    result = calfdx.load_model(setting=setting).diagnose(NOT_EMERGENCIES[picture])
    assert result.triage is not None
    assert result.triage.level != "emergency", result.triage
    if not NOT_EMERGENCIES[picture]:
        assert all(r == pytest.approx(1.0) for r in result.triage.likelihood_ratio.values())


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("emergency", sorted(DEFINING_FINDINGS))
def test_textbook_emergencies_from_their_defining_findings(setting: str, emergency: str) -> None:
    """Check each textbook emergency is an emergency from its defining findings alone."""
    result = calfdx.load_model(setting=setting).diagnose(DEFINING_FINDINGS[emergency])
    assert result.triage is not None
    assert result.triage.level == "emergency", result.triage


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_dvt_alert_always_means_same_day_at_least(data: st.DataObject) -> None:
    """Check, on random findings in every setting, that a DVT alert is never below same-day."""
    model = calfdx.load_model(setting=data.draw(st.sampled_from(SETTINGS)))
    vocabulary = {name: f.states for name, f in model.vocabulary.items()}
    result = model.diagnose(data.draw(evidence(vocabulary)))
    assert result.triage is not None
    if result.dvt_alert:
        assert result.triage.level in ("emergency", "same_day")
        assert "DVT alert" in result.triage.reasons


def _with_min_ratio(folder: Path, ratio: str) -> Path:
    text = (folder / "triage.csv").read_text()
    text = text.replace("level,threshold,", "level,threshold,min_likelihood_ratio,")
    text = text.replace("emergency,0.05,", f"emergency,0.05,{ratio},")
    for level in ("same_day,0.2,", "routine,0.5,", "self_care,0,"):
        text = text.replace(level, f"{level},")
    (folder / "triage.csv").write_text(text)
    return folder


def test_an_emergency_reached_without_evidence_is_not_excluded(tmp_path: Path) -> None:
    """Check the likelihood-ratio requirement: below it, emergency becomes same-day."""
    folder = _with_min_ratio(toy_with_triage(tmp_path), "20")
    model = calfdx.load_model(folder, dvt_threshold=0.99)
    stretch = model.diagnose(stretch_pain="yes")
    assert stretch.triage is not None
    assert stretch.triage.mass["emergency"] >= 0.05
    assert stretch.triage.likelihood_ratio["emergency"] < 20
    assert stretch.triage.level == "same_day"
    assert stretch.triage.not_excluded == ("emergency",)
    assert "not excluded" in str(stretch.triage)
    both = model.diagnose(stretch_pain="yes", trauma="no")
    assert both.triage is not None
    assert both.triage.not_excluded == ()
    strong = model.diagnose(stretch_pain="yes", trauma="yes")
    assert strong.triage is not None
    assert strong.triage.likelihood_ratio["emergency"] >= 20
    assert "findings raised its odds" in strong.triage.reasons[0]
    data = json.loads(json.dumps(strong.triage.to_dict(), allow_nan=False))
    assert data["min_likelihood_ratio"] == {"emergency": 20.0}


@settings(max_examples=40, deadline=None)
@given(acs=st.integers(1, 999))
def test_an_empty_form_is_never_an_emergency_whatever_the_prior(
    tmp_path_factory: pytest.TempPathFactory, acs: int
) -> None:
    """Check no prior, however high its emergency mass, makes the empty form an emergency."""
    folder = _with_min_ratio(toy_with_triage(tmp_path_factory.mktemp("toy")), "1.5")
    p = acs / 1000
    priors = (folder / "priors.csv").read_text().splitlines()
    rows = [priors[0]]
    for line in priors[1:]:
        setting, cause, _, rest = line.split(",", 3)
        value = {"acs": p, "dvt": (1 - p) / 2, "cramp": 1 - p - (1 - p) / 2}[cause]
        rows.append(f"{setting},{cause},{value!r},{rest}")
    (folder / "priors.csv").write_text("\n".join(rows) + "\n")
    result = calfdx.load_model(folder, dvt_threshold=0.99).diagnose()
    assert result.triage is not None
    assert result.triage.level != "emergency"


@pytest.mark.parametrize("ratio", ["0.5", "abc", "inf", "nan"])
def test_a_broken_min_likelihood_ratio_is_reported(tmp_path: Path, ratio: str) -> None:
    """Check min_likelihood_ratio must be a finite number of at least 1 (or empty)."""
    folder = _with_min_ratio(toy_with_triage(tmp_path), ratio)
    with pytest.raises(
        calfdx.TableError, match=r"triage\.csv, line 2, column 'min_likelihood_ratio'"
    ):
        calfdx.load_model(folder)


def test_next_questions_by_triage_ask_what_rules_an_emergency_in_or_out() -> None:
    """Check rank_by='triage' puts the emergency questions first and previews each answer."""
    result = calfdx.diagnose(side="unilateral", swelling="yes")
    assert result.triage is not None
    ranking = result.next_questions(5, rank_by="triage")
    assert ranking.rank_by == "triage"
    first = ranking[0]
    assert set(first.triage_if) == set(calfdx.vocabulary()[first.finding].states)
    assert first.triage_change_probability > 0
    assert "emergency" in first.triage_if.values() or "emergency" in result.triage.level
    assert "rule an emergency in or out" in first.reason
    changes = [s.triage_change_probability for s in ranking]
    assert changes[0] > 0
    json.dumps(ranking.to_dict(), allow_nan=False)
    assert "triage_change_probability" in ranking.to_frame().columns
    # The other rankings do not preview the triage unless asked, but still fill it in.
    decision = result.next_questions(1)[0]
    assert set(decision.triage_if) == set(calfdx.vocabulary()[decision.finding].states)


def test_next_questions_by_triage_need_a_triage_table(toy_dir: Path) -> None:
    """Check rank_by='triage' on tables without triage.csv names the problem."""
    result = calfdx.load_model(toy_dir).diagnose(swelling="yes")
    with pytest.raises(calfdx.InvalidOptionError, match=r"needs tables with a triage\.csv"):
        result.next_questions(1, rank_by="triage")
    with pytest.raises(calfdx.InvalidOptionError, match="'triage'"):
        result.next_questions(1, rank_by="urgency")  # type: ignore[arg-type]


def test_red_flags_fire_in_order_and_without_a_condition() -> None:
    """Check fired flags come most urgent first, then in table order, and flags without terms.

    A flag without a condition (possible only in tables built in memory) holds for every
    patient.
    """
    import dataclasses

    tables = calfdx.load_model()._compiled.tables
    always = dataclasses.replace(tables.red_flags[-1], id="always", condition=(), level="routine")
    model = calfdx.Model(dataclasses.replace(tables, red_flags=(*tables.red_flags, always)))
    assert [flag.id for flag in model.diagnose().red_flags] == ["always"]
    findings = {"trauma": "yes", "pain_on_passive_stretch": "yes", "swelling": "yes"}
    fired = model.diagnose(findings).red_flags
    order = [flag.id for flag in tables.red_flags]
    expected = sorted(
        (f for f in (*tables.red_flags, always) if f.holds(findings)),
        key=lambda f: (URGENCY_LEVELS.index(f.level), (*order, "always").index(f.id)),
    )
    assert fired == tuple(expected)
    assert len(fired) >= 2
