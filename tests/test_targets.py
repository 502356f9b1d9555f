"""Published targets: exact statistics, validation, the shipped tables meet them, calibration."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import calfdx
from calfdx._likelihood import evidence_likelihood
from calfdx._targets import SCORES, WELLS_POINTS, check_targets, target_values
from calfdx.cli import main

HEADER = (
    "target_id,setting,statistic,cause,evidence,value,ci_low,ci_high,tolerance_reason,"
    "source_type,source_id,note\n"
)


def _odds(p: float) -> float:
    return p / (1.0 - p)


def _targets_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "targets.csv"
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


# ------------------------------------------------------------------------ exact statistics


def test_wells_tier_likelihood_equals_enumeration(model: calfdx.Model) -> None:
    tables = model._compiled.tables
    states = {f.id: f.states for f in tables.findings}
    items = list(WELLS_POINTS)
    for (score, tier), spec in SCORES.items():
        fixed = {"calf_tenderness": "yes"}
        expected = np.zeros(len(tables.causes))
        for answers in itertools.product(("yes", "no"), repeat=len(items)):
            config = dict(zip(items, answers, strict=True))
            if any(config[f] != s for f, s in fixed.items()):
                continue
            total = sum(WELLS_POINTS[f].get(s, 0) for f, s in config.items())
            low, high = spec[1], spec[2]
            if (low is None or total >= low) and (high is None or total <= high):
                expected += evidence_likelihood(
                    tables.likelihood, states, config, parents=tables.parents
                )
        got = evidence_likelihood(tables.likelihood, states, fixed, spec, parents=tables.parents)
        np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=f"{score}={tier}")


@settings(deadline=None, max_examples=40)
@given(
    finding=st.sampled_from(["swelling", "warmth", "redness", "age", "onset", "exertion"]),
    setting=st.sampled_from(["primary_care", "suspected_dvt", "emergency_department"]),
    cause=st.sampled_from(["dvt", "cellulitis", "muscle_strain"]),
    data=st.data(),
)
def test_statistics_agree_with_diagnose(
    model: calfdx.Model, finding: str, setting: str, cause: str, data: st.DataObject
) -> None:
    state = data.draw(st.sampled_from(model.vocabulary[finding].states))
    local = model.with_setting(setting)
    targets = [
        calfdx.Target(
            f"t_{statistic}",
            setting,
            statistic,
            cause,
            ((finding, state),),
            None,
            (),
            0.5,
            0.1,
            0.9,
            "",
            "published",
            "goodacre2005",
            "",
        )
        for statistic in ("likelihood_ratio", "probability", "sensitivity", "specificity")
    ]
    lr, probability, sensitivity, specificity = check_targets(local._compiled, targets).checks
    prior = float(local.prior[cause])
    posterior = local.diagnose({finding: state}).posterior[cause]
    assert probability.model_value == pytest.approx(posterior, rel=1e-12)
    assert lr.model_value == pytest.approx(_odds(posterior) / _odds(prior), rel=1e-9)
    # P(state | cause): for a child, summed over its parent's states (the engine's marginal).
    marginal = local._compiled.engine.block(finding)
    column = [c.id for c in local.causes].index(cause)
    expected = marginal[local.vocabulary[finding].states.index(state), column]
    assert sensitivity.model_value == pytest.approx(expected, rel=1e-12)
    # P(state | not cause), from Bayes' rule on the posterior of the cause.
    p_state = sensitivity.model_value * prior / posterior
    not_cause = (p_state - sensitivity.model_value * prior) / (1 - prior)
    assert specificity.model_value == pytest.approx(1 - not_cause, rel=1e-9)


def test_excluded_cause_renormalises_the_rest(model: calfdx.Model) -> None:
    target = calfdx.Target(
        "baker_share", "suspected_dvt", "probability", "baker_cyst_rupture", (), None,
        ("dvt",), 0.03, 0.01, 0.1, "", "published", "goodacre2005", "",
    )  # fmt: skip
    prior = model._compiled.tables.setting_priors["suspected_dvt"]
    causes = [c.id for c in model.causes]
    expected = prior[causes.index("baker_cyst_rupture")] / (1 - prior[causes.index("dvt")])
    (check,) = check_targets(model._compiled, [target]).checks
    assert check.model_value == pytest.approx(expected, rel=1e-12)


def test_target_values_broadcast_over_a_batch_of_tables(model: calfdx.Model) -> None:
    tables = model._compiled.tables
    causes = [c.id for c in tables.causes]
    states = {f.id: f.states for f in tables.findings}
    priors = dict(tables.setting_priors)
    parents = tables.parents
    single = target_values(tables.targets, causes, priors, tables.likelihood, states, parents)
    batch = target_values(
        tables.targets,
        causes,
        {s: np.stack([p, p]) for s, p in priors.items()},
        {f: np.stack([a, a]) for f, a in tables.likelihood.items()},
        states,
        parents,
    )
    np.testing.assert_allclose(batch, np.stack([single, single]), rtol=1e-13)


# ------------------------------------------------------------------------ the shipped tables


def test_shipped_tables_meet_every_target(model: calfdx.Model) -> None:
    report = model.check_targets()
    assert len(report.checks) >= 10
    missed = [f"{c.target.id}: {c.model_value:.4g} not in {c.target.low}-{c.target.high}"
              for c in report.unmet]  # fmt: skip
    assert not missed, "targets missed by the shipped tables:\n" + "\n".join(missed)


def test_report_views(model: calfdx.Model) -> None:
    report = model.check_targets()
    frame = report.to_frame()
    assert list(frame.columns) == [
        "target_id", "setting", "statistic", "cause", "evidence", "value", "ci_low",
        "ci_high", "model_value", "met", "miss", "source_id",
    ]  # fmt: skip
    assert len(frame) == len(report.checks)
    first = report.checks[0]
    assert report[first.target.id] is first
    assert repr(report).startswith("<TargetReport targets=")
    assert "Targets met" in str(report)
    assert "<table>" in report._repr_html_()
    import json

    json.dumps(report.to_dict(), allow_nan=False)
    with pytest.raises(calfdx.InvalidOptionError, match="Unknown target 'nope'"):
        report["nope"]


def test_a_missed_target_says_by_how_much(model: calfdx.Model, tmp_path: Path) -> None:
    path = _targets_file(
        tmp_path,
        "too_high,suspected_dvt,probability,dvt,,0.9,0.85,0.95,a test,published,ash2004,",
    )
    (check,) = model.check_targets(path).checks
    assert not check.met
    assert check.miss == pytest.approx(check.model_value - 0.85)


# ------------------------------------------------------------------------ validation

BAD_ROWS = [
    ("bad_stat,suspected_dvt,odds,dvt,,1,0.5,2,,published,ash2004,", "column 'statistic'"),
    ("bad_setting,nowhere,probability,dvt,,0.1,0.05,0.2,,published,ash2004,", "unknown setting"),
    ("bad_cause,suspected_dvt,probability,flu,,0.1,0.05,0.2,,published,ash2004,", "unknown cause"),
    (
        "bad_term,suspected_dvt,probability,dvt,sweling=yes,0.1,0.05,0.2,,published,ash2004,",
        "unknown term 'sweling=yes'",
    ),
    (
        "bad_state,suspected_dvt,probability,dvt,swelling=maybe,0.1,0.05,0.2,,published,ash2004,",
        r"allowed states: \['yes', 'no'\]",
    ),
    (
        "bad_tier,suspected_dvt,probability,dvt,wells=huge,0.1,0.05,0.2,,published,ash2004,",
        "score 'wells' takes one tier",
    ),
    (
        "bad_ci,suspected_dvt,probability,dvt,,0.1,0.2,0.3,,published,ash2004,",
        "expected 0 < ci_low <= value <= ci_high",
    ),
    (
        "bad_number,suspected_dvt,probability,dvt,,abc,0.2,0.3,,published,ash2004,",
        "column 'value': expected a finite number",
    ),
    (
        "estimate,suspected_dvt,probability,dvt,,0.1,0.05,0.2,why,expert_estimate,,",
        "a target is a published figure",
    ),
    (
        "no_source,suspected_dvt,probability,dvt,,0.1,0.05,0.2,,published,,",
        "needs a source_id",
    ),
    (
        "sens_no_evidence,suspected_dvt,sensitivity,dvt,,0.1,0.05,0.2,,published,ash2004,",
        "a sensitivity needs evidence",
    ),
    (
        "self_excluded,suspected_dvt,probability,dvt,cause!=dvt,0.1,0.05,0.2,,published,ash2004,",
        "cannot be excluded",
    ),
]


@pytest.mark.parametrize(("row", "message"), BAD_ROWS)
def test_bad_target_rows_are_refused_with_their_line(
    model: calfdx.Model, tmp_path: Path, row: str, message: str
) -> None:
    good = "fine,suspected_dvt,probability,dvt,,0.183,0.174,0.192,,published,ash2004,"
    path = _targets_file(tmp_path, good, row)
    with pytest.raises(calfdx.TableError, match=rf"targets\.csv, line 3.*{message}"):
        model.check_targets(path)


def test_a_broken_shipped_style_targets_file_fails_the_loader(
    shipped_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "priors"
    shutil.copytree(shipped_dir, folder)
    with (folder / "targets.csv").open("a", encoding="utf-8") as handle:
        handle.write("dup,suspected_dvt,probability,dvt,,0.5,0.6,0.7,,published,ash2004,\n")
    problems = calfdx.table_problems(folder)
    assert any(p.file == "targets.csv" and p.column == "value" for p in problems)


def test_targets_argument_is_checked(model: calfdx.Model) -> None:
    with pytest.raises(calfdx.InvalidOptionError, match="targets must be None"):
        model.check_targets(42)
    with pytest.raises(calfdx.InvalidOptionError, match="Cannot read the targets file"):
        model.check_targets("/nonexistent/targets.csv")


# ------------------------------------------------------------------------ calibration


@pytest.mark.slow
def test_calibrate_meets_a_moved_target_and_records_why(
    model: calfdx.Model, tmp_path: Path
) -> None:
    # Ask for a lower likelihood ratio of warmth than the shipped tables give.
    lr = model.check_targets(
        _targets_file(
            tmp_path,
            "warm,suspected_dvt,likelihood_ratio,dvt,warmth=yes,1.1,1.0,1.2,test,published,"
            "goodacre2005,",
        )
    ).checks[0]
    assert lr.model_value > 1.2
    targets = model.check_targets(tmp_path / "targets.csv").checks[0].target
    calibrated = model.calibrate([*(c.target for c in model.check_targets().checks), targets])
    report = calibrated.check_targets([targets])
    assert report.all_met
    assert calibrated.check_targets().all_met  # the shipped targets still hold
    before = model.likelihoods.set_index(["finding", "state", "cause"])
    after = calibrated.likelihoods.set_index(["finding", "state", "cause"])
    changed = after.index[after["probability"] != before["probability"]]
    assert len(changed) > 0
    assert {finding for finding, _, _ in changed} <= {"warmth"} | set(WELLS_POINTS) | {
        "swelling", "redness", "calf_difference_3cm", "pitting_oedema", "calf_tenderness",
    }  # fmt: skip
    for key in changed:
        row = after.loc[key]
        assert row["source_type"] == "expert_estimate"
        assert f"Calibrated from {before.loc[key, 'probability']:g}" in row["reasoning"]
    warm = after.loc[[k for k in changed if k[0] == "warmth"]]
    assert warm["reasoning"].str.contains("warm").all()
    # Published and secondary numbers never move.
    fixed = before["source_type"] != "expert_estimate"
    assert (after.loc[fixed[fixed].index, "probability"] == before.loc[fixed, "probability"]).all()
    # Deterministic, and the model it started from is unchanged.
    again = model.calibrate([*(c.target for c in model.check_targets().checks), targets])
    assert again.content_hash == calibrated.content_hash
    assert model.check_targets().all_met


def test_calibrate_names_targets_that_cannot_be_met_together(
    model: calfdx.Model, tmp_path: Path
) -> None:
    path = _targets_file(
        tmp_path,
        "low_prev,suspected_dvt,probability,dvt,,0.10,0.09,0.11,test,published,ash2004,",
        "high_prev,suspected_dvt,probability,dvt,,0.30,0.29,0.31,test,published,ash2004,",
    )
    with pytest.raises(calfdx.CalibrationError, match=r"low_prev|high_prev") as caught:
        model.calibrate(path)
    assert set(caught.value.targets) & {"low_prev", "high_prev"}


@pytest.mark.parametrize(
    ("options", "message"),
    [({"margin": 0.7}, "margin must be"), ({"max_iterations": 0}, "max_iterations must be")],
)
def test_calibrate_checks_its_options(
    model: calfdx.Model, options: dict[str, object], message: str
) -> None:
    with pytest.raises(calfdx.InvalidOptionError, match=message):
        model.calibrate(**options)  # type: ignore[arg-type]


@pytest.mark.slow
def test_calibrated_tables_round_trip(model: calfdx.Model, tmp_path: Path) -> None:
    calibrated = model.calibrate()
    folder = calibrated.to_csv(tmp_path / "out")
    assert calfdx.load_model(folder).content_hash == calibrated.content_hash


# ------------------------------------------------------------------------ command line


def test_cli_validate_targets(
    shipped_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--targets", str(shipped_dir)]) == 0
    assert "Targets met" in capsys.readouterr().out
    folder = tmp_path / "priors"
    shutil.copytree(shipped_dir, folder)
    with (folder / "targets.csv").open("a", encoding="utf-8") as handle:
        handle.write("missed,suspected_dvt,probability,dvt,,0.9,0.85,0.95,t,published,ash2004,\n")
    assert main(["validate", "--targets", str(folder)]) == 1
    assert "MISS missed" in capsys.readouterr().out
    assert main(["validate", "--targets", "--json", str(folder)]) == 1
    out = capsys.readouterr().out
    assert '"target_id": "missed"' in out


def test_calibration_gradient_equals_the_full_difference(model: calfdx.Model) -> None:
    """The block-by-block gradient equals the forward difference over every parameter."""
    from calfdx._calibrate import _STEP, _Problem

    problem = _Problem(model._compiled.tables, model._compiled.tables.targets)
    rng = np.random.default_rng(5)
    theta = rng.normal(0.0, 0.3, problem.size)
    low, high = problem.bounds(0.25)
    value, slope = problem.objective(theta, 1e3, low, high)

    def full(points: np.ndarray) -> np.ndarray:
        entropy, stats = problem.evaluate(points)
        logs = np.log(stats)
        misses = np.maximum(low - logs, 0.0) + np.maximum(logs - high, 0.0)
        result: np.ndarray = entropy + 1e3 * (misses**2).sum(axis=1)
        return result

    values = full(np.vstack([theta, theta + np.eye(problem.size) * _STEP]))
    assert value == pytest.approx(values[0], rel=1e-12)
    # Both are forward differences; the full one loses more digits to rounding (it differences
    # the whole objective), so they agree to about 1e-5, not to machine precision.
    np.testing.assert_allclose(slope, (values[1:] - values[0]) / _STEP, rtol=1e-4, atol=1e-4)


def test_next_questions_recommend_the_pathway_when_no_question_settles_the_alert() -> None:
    """Low probability: the D-dimer clears the alert; higher: the ultrasound."""
    model = calfdx.load_model(setting="suspected_dvt")
    low = model.diagnose(
        side="unilateral", swelling="no", calf_tenderness="yes", age="18_to_39",
        recent_immobilization="no", active_cancer="no", previous_dvt="no",
        alternative_diagnosis_likely="yes", bruising="no", trauma="no", pop_sensation="no",
        bone_tenderness="no",
    )  # fmt: skip
    assert low.dvt_alert
    suggestions = low.next_questions(40)
    questions = [s for s in suggestions if model.vocabulary[s.finding].category != "investigation"]
    assert all(s.flip_probability < 0.02 for s in questions)
    assert suggestions[0].finding == "d_dimer"
    assert not model.diagnose(dict(low.findings), d_dimer="negative").dvt_alert
    # pop_sensation is answered: unasked, a "yes" (a strain or rupture) would drop P(DVT) from
    # 20% to 1.9%, so that question (cost 1) could settle the alert and rightly comes first.
    higher = model.diagnose(
        side="unilateral", swelling="no", calf_tenderness="yes", age="40_to_64",
        recent_immobilization="no", active_cancer="no", previous_dvt="no", pop_sensation="no",
    )  # fmt: skip
    assert higher.next_questions(1)[0].finding in ("ultrasound", "ultrasound_proximal")
    assert not any(
        s.flip_probability > 0
        for s in higher.next_questions(40)
        if model.vocabulary[s.finding].category != "investigation"
    )


def test_a_positive_ultrasound_puts_dvt_first(model: calfdx.Model) -> None:
    for setting in model.settings:
        result = model.with_setting(setting).diagnose(ultrasound="positive")
        assert result.top_cause == "dvt", setting


def test_wells_tiers_on_a_simulated_suspected_dvt_cohort_match_the_literature() -> None:
    """Patients drawn from the model, scored with the Wells rule, fall in the published tiers.

    200,000 referred outpatients are simulated (seeded); each gets the Wells 2003 score from
    the findings drawn for them; the share with DVT in each tier must lie in the 95% CI of the
    meta-analysis (ASH 2004), as the exact computation in check_targets says it does.
    """
    model = calfdx.load_model(setting="suspected_dvt")
    cohort = model.simulate(200_000, seed=3)
    score = np.zeros(len(cohort))
    for item in calfdx.WELLS_ITEMS:
        score += (cohort[item.finding].astype(str) == item.state).to_numpy() * item.points
    dvt = (cohort["cause"].astype(str) == "dvt").to_numpy()
    report = model.check_targets()
    for tier, chosen in (("low", score <= 0), ("moderate", (score >= 1) & (score <= 2)),
                         ("high", score >= 3)):  # fmt: skip
        target = report[f"wells_{tier}_prevalence"].target
        assert target.low <= dvt[chosen].mean() <= target.high, tier


def test_calibrate_changes_nothing_when_every_target_is_met(model: calfdx.Model) -> None:
    """The least change that meets targets already met is none: the same tables, at once."""
    assert model.check_targets().all_met
    assert model.calibrate() is model
