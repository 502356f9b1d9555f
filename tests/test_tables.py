"""Loading and validating tables: every problem reported once, with file, line and column."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import calfdx

Edit = Callable[[Path], None]


def replace(file: str, old: str, new: str) -> Edit:
    def edit(folder: Path) -> None:
        path = folder / file
        text = path.read_text(encoding="utf-8")
        assert old in text, f"test edit is stale: {old!r} not in {file}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def drop_line(file: str, start: str) -> Edit:
    def edit(folder: Path) -> None:
        path = folder / file
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith(start)]
        assert len(kept) == len(lines) - 1, f"test edit is stale: {start!r} in {file}"
        path.write_text("".join(kept), encoding="utf-8")

    return edit


def remove(file: str) -> Edit:
    def edit(folder: Path) -> None:
        (folder / file).unlink()

    return edit


def rename_everywhere(old: str, new: str) -> Edit:
    def edit(folder: Path) -> None:
        for path in folder.glob("*.csv"):
            text = path.read_text(encoding="utf-8")
            path.write_text(re.sub(rf"\b{old}\b", new, text), encoding="utf-8")

    return edit


LIK = "likelihoods.csv"
BROKEN = [
    (
        "prior above one",
        replace("priors.csv", "dvt,0.2,", "dvt,1.2,"),
        r"priors\.csv, line 2, column 'probability': "
        r"expected a probability strictly between 0 and 1 \(rule 2 .*\)\. Got 1\.2",
    ),
    (
        "NaN probability",
        replace(LIK, "swelling,yes,dvt,0.6", "swelling,yes,dvt,nan"),
        r"likelihoods\.csv, line 2, column 'probability': "
        r"expected a number \(digits 0-9, e\.g\. 0\.045\)\. Got 'nan'",
    ),
    (
        "negative probability",
        replace(LIK, "swelling,yes,dvt,0.6", "swelling,yes,dvt,-0.1"),
        r"line 2, column 'probability': expected a probability strictly between 0 and 1 "
        r"\(rule 2 of priors/README\.md: .*\)\. Got -0\.1",
    ),
    (
        "empty probability",
        replace(LIK, "swelling,yes,dvt,0.6", "swelling,yes,dvt,"),
        r"line 2, column 'probability': expected a number \(.*\)\. Got an empty value",
    ),
    (
        "text probability",
        replace(LIK, "swelling,yes,dvt,0.6", "swelling,yes,dvt,high"),
        r"line 2, column 'probability': expected a number \(.*\)\. Got 'high'",
    ),
    (
        "missing column",
        replace(LIK, ",reasoning\n", "\n"),
        r"likelihoods\.csv, line 1: missing columns \['reasoning'\]",
    ),
    (
        "extra column",
        replace("causes.csv", "description\n", "description,notes\n"),
        r"causes\.csv, line 1: unexpected columns \['notes'\]",
    ),
    (
        "wrong field count",
        replace(LIK, "a toy number\n", "a toy number,extra\n"),
        r"likelihoods\.csv, line 2: expected 7 fields, got 8",
    ),
    (
        "unknown cause",
        replace(LIK, "swelling,yes,dvt,", "swelling,yes,dtv,"),
        r"line 2, column 'cause': unknown cause 'dtv'",
    ),
    (
        "unknown finding",
        replace(LIK, "swelling,yes,dvt,", "sweling,yes,dvt,"),
        r"line 2, column 'finding': unknown finding 'sweling'",
    ),
    (
        "unknown state",
        replace(LIK, "swelling,yes,dvt,", "swelling,maybe,dvt,"),
        r"line 2, column 'state': unknown state 'maybe' for finding 'swelling'\. "
        r"Allowed states: \['yes', 'no'\]",
    ),
    (
        "duplicate likelihood row",
        replace(LIK, "swelling,yes,cramp,0.1", "swelling,yes,dvt,0.1"),
        r"line 3: duplicate row for \('swelling', 'yes', 'dvt'\); first given on line 2",
    ),
    (
        "likelihood row sum",
        replace(LIK, "swelling,yes,dvt,0.6", "swelling,yes,dvt,0.5"),
        r"line 2, column 'probability': P\(swelling \| dvt\) over the states \['yes', 'no'\] "
        r"sums to 0\.9; it must sum to 1 within 1e-06",
    ),
    (
        "prior sum",
        replace("priors.csv", "dvt,0.2,", "dvt,0.3,"),
        r"priors\.csv, column 'probability': the priors of setting 'primary_care' sum to 1\.1",
    ),
    (
        "missing likelihood row",
        drop_line(LIK, "onset,gradual,cramp"),
        r"likelihoods\.csv: no row for finding 'onset', cause 'cramp', states \['gradual'\]",
    ),
    (
        "missing prior row",
        drop_line("priors.csv", "primary_care,cramp"),
        r"priors\.csv: setting 'primary_care' has no row for causes \['cramp'\]",
    ),
    (
        "unknown source",
        replace("priors.csv", "published,toy2026", "published,nobody1999"),
        r"priors\.csv, line 2, column 'source_id': unknown source 'nobody1999'",
    ),
    (
        "published without source",
        replace("priors.csv", "published,toy2026", "published,"),
        r"line 2, column 'source_id': a published number needs a source_id",
    ),
    (
        "estimate without reasoning",
        replace(LIK, "expert_estimate,,a toy number", "expert_estimate,,"),
        r"likelihoods\.csv, line 2, column 'reasoning': an expert_estimate needs its reasoning",
    ),
    (
        "bad source type",
        replace("priors.csv", "published,toy2026", "guess,toy2026"),
        r"line 2, column 'source_type': expected one of \['published', 'secondary', "
        r"'expert_estimate'\]\. Got 'guess'",
    ),
    (
        "bad urgency",
        replace("causes.csv", ",routine,", ",soon,"),
        r"causes\.csv, line 2, column 'urgency': expected one of \['emergency', 'same_day', "
        r"'routine', 'self_care'\]\. Got 'soon'",
    ),
    (
        "duplicate cause",
        replace("causes.csv", "cramp,Cramp", "dvt,Cramp"),
        r"causes\.csv, line 3: duplicate row for \('dvt',\); first given on line 2",
    ),
    (
        "no dvt cause",
        rename_everywhere("dvt", "thrombosis"),
        r"causes\.csv, column 'cause': no row for cause 'dvt'; the DVT alert needs it",
    ),
    (
        "bad cause id",
        replace("causes.csv", "cramp,Cramp", "Cramp!,Cramp"),
        r"causes\.csv, line 3, column 'cause': expected a cause id of lowercase letters",
    ),
    (
        "one state",
        replace("findings.csv", "yes|no", "yes"),
        r"findings\.csv, line 2, column 'states': expected two or more distinct state ids",
    ),
    (
        "repeated state",
        replace("findings.csv", "yes|no", "yes|yes"),
        r"findings\.csv, line 2, column 'states': expected two or more distinct state ids",
    ),
    (
        "reserved finding",
        rename_everywhere("onset", "model"),
        r"findings\.csv, line 3, column 'finding': 'model' is a reserved name",
    ),
    (
        "bad category",
        replace("findings.csv", ",history,", ",gossip,"),
        r"findings\.csv, line 2, column 'category': expected one of \['history', 'examination', "
        r"'risk_factor', 'investigation'\]",
    ),
    (
        "empty question",
        replace("findings.csv", "What about swelling?", ""),
        r"findings\.csv, line 2, column 'question': expected a non-empty text",
    ),
    ("missing file", remove(LIK), r"likelihoods\.csv: the file is missing from the folder"),
    ("empty file", replace("sources.csv", "source_id,citation,url\n", ""), r"sources\.csv"),
]


@pytest.mark.parametrize(("edit", "match"), [pytest.param(e, m, id=name) for name, e, m in BROKEN])
def test_broken_tables_raise_one_error_naming_the_place(
    toy_dir: Path, edit: Edit, match: str
) -> None:
    """Check that each broken table raises TableError naming file, line and column."""
    edit(toy_dir)
    with pytest.raises(calfdx.TableError, match=match) as info:
        calfdx.load_model(toy_dir)
    assert isinstance(info.value, ValueError)
    assert len(info.value.problems) <= 8, "one broken row should not cascade"
    assert info.value.problems
    assert calfdx.table_problems(toy_dir) == info.value.problems


def test_every_problem_is_listed_in_one_error(toy_dir: Path) -> None:
    """Check that validation collects every problem before raising once."""
    replace(LIK, "swelling,yes,dvt,0.6", "swelling,yes,dvt,1.5")(toy_dir)
    replace(LIK, "onset,sudden,cramp,", "onset,sudden,crump,")(toy_dir)
    replace("priors.csv", "published,toy2026", "guess,toy2026")(toy_dir)
    with pytest.raises(calfdx.TableError) as info:
        calfdx.load_model(toy_dir)
    text = str(info.value)
    assert "priors.csv, line 2, column 'source_type'" in text
    assert "likelihoods.csv, line 2, column 'probability'" in text
    assert "unknown cause 'crump'" in text
    assert re.search(r"have \d+ problems", text)


def test_not_a_folder_is_a_table_error(tmp_path: Path) -> None:
    """Check that a path that is not a folder gets a clear error."""
    with pytest.raises(calfdx.TableError, match="No folder of tables"):
        calfdx.load_model(tmp_path / "nowhere")


def test_unknown_setting_lists_the_settings(toy_dir: Path) -> None:
    """Check that an unknown setting names the settings the tables define."""
    with pytest.raises(
        calfdx.InvalidOptionError, match=r"Settings in priors\.csv: \['primary_care'\]"
    ):
        calfdx.load_model(toy_dir, setting="mars_base")


def test_row_and_column_order_do_not_matter(toy_dir: Path, tmp_path: Path) -> None:
    """Check that shuffling CSV rows and columns leaves the posterior unchanged."""
    shuffled = tmp_path / "shuffled"
    shutil.copytree(toy_dir, shuffled)
    for path in shuffled.glob("*.csv"):
        lines = path.read_text(encoding="utf-8").splitlines()
        header, rows = lines[0].split(","), lines[1:]
        order = list(reversed(range(len(header))))
        new_lines = [",".join(header[i] for i in order)]
        for row in reversed(rows):
            fields = row.split(",")
            new_lines.append(",".join(fields[i] for i in order))
        path.write_text("\n".join(new_lines) + "\n", encoding="utf-8")
    a = calfdx.load_model(toy_dir).diagnose(swelling="yes", onset="gradual")
    b = calfdx.load_model(shuffled).diagnose(swelling="yes", onset="gradual")
    assert dict(a.posterior) == pytest.approx(dict(b.posterior), abs=1e-15)


def test_shipped_tables_are_valid(shipped_dir: Path) -> None:
    """Check that the tables in priors/ load without a problem."""
    assert calfdx.table_problems(shipped_dir) == ()
    assert calfdx.table_problems() == ()


def test_every_shipped_number_is_traceable(model: calfdx.Model) -> None:
    """Check that every shipped number has a source or an estimate's reasoning."""
    for frame in (model.priors, model.likelihoods):
        sourced = frame["source_type"].isin(["published", "secondary"])
        assert (frame.loc[sourced, "source_id"] != "").all()
        estimated = frame["source_type"] == "expert_estimate"
        assert (frame.loc[estimated, "reasoning"].str.len() > 10).all()
        assert set(frame["source_id"]) - {""} <= set(model.sources)
    for source in model.sources.values():
        # A citation gives its year, or says plainly which details were not available.
        assert re.search(r"(19|20)\d\d|not shown", source.citation), source


def test_shipped_vocabulary_matches_the_specification(model: calfdx.Model) -> None:
    """Check the cause ids and the finding states required by the design."""
    assert [c.id for c in model.causes] == [
        "dvt",
        "superficial_thrombophlebitis",
        "cramp",
        "muscle_strain",
        "contusion",
        "doms",
        "plantaris_rupture",
        "achilles_tendinopathy",
        "achilles_rupture",
        "popliteus_tendinitis",
        "baker_cyst_rupture",
        "cellulitis",
        "osteomyelitis",
        "fracture",
        "stress_fracture",
        "chronic_exertional_compartment_syndrome",
        "acute_compartment_syndrome",
        "pad_claudication",
        "popliteal_artery_entrapment",
        "lumbar_radiculopathy",
        "peripheral_neuropathy",
        "peroneal_nerve_entrapment",
        "other",
    ]
    states = {name: f.states for name, f in model.vocabulary.items()}
    assert states["age"] == ("under_18", "18_to_39", "40_to_64", "65_plus")
    assert states["onset"] == ("sudden", "gradual")
    assert states["side"] == ("unilateral", "bilateral")
    assert states["exertion"] == ("during", "after", "unrelated")
    assert states["thompson_test"] == ("positive", "negative")
    yes_no = {
        "night_pain",
        "pop_sensation",
        "trauma",
        "numbness",
        "back_pain",
        "fever",
        "posterior_knee_pain",
        "swelling",
        "warmth",
        "redness",
        "bruising",
        "calf_tenderness",
        "bone_tenderness",
        "palpable_cord",
        "pulses_diminished",
        "pain_on_passive_stretch",
        "foot_drop",
        "recent_immobilization",
        "active_cancer",
        "previous_dvt",
        "estrogen_or_pregnancy",
        "diabetes",
        "smoker",
        # the Wells DVT items the original vocabulary lacked
        "whole_leg_swollen",
        "calf_difference_3cm",
        "pitting_oedema",
        "collateral_veins",
        "paralysis_or_cast",
        "bedridden_or_major_surgery",
        "alternative_diagnosis_likely",
    }
    assert {name for name, s in states.items() if s == ("yes", "no")} == yes_no
    assert all(f.question for f in model.vocabulary.values())


def test_model_is_immutable(model: calfdx.Model) -> None:
    """Check that a model cannot be changed in place."""
    with pytest.raises(AttributeError, match="immutable"):
        model._dvt_threshold = 0.5
    with pytest.raises(ValueError, match="read-only"):
        model._compiled.tables.prior[0] = 1.0
    original = float(model.likelihoods["probability"].iloc[0])
    frame = model.likelihoods
    frame.loc[0, "probability"] = original / 2
    assert model.likelihoods["probability"].iloc[0] == original
