"""The researcher's workbench: editing, writing tables, simulating and evaluating."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pgmpy.inference import VariableElimination
from scipy.stats import chi2
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

import calfdx

from .tablewriter import row_at


def test_with_prior_rescales_the_others_proportionally(model: calfdx.Model) -> None:
    """Check an edited prior, the kept ratios of the others, and the unchanged original."""
    before = model.prior
    edited = model.with_prior("dvt", 0.2)
    after = edited.prior
    assert after["dvt"] == pytest.approx(0.2, abs=1e-12)
    assert after.sum() == pytest.approx(1.0, abs=1e-12)
    others = before.drop("dvt")
    ratios = after.drop("dvt") / others
    assert ratios.to_numpy() == pytest.approx(np.full(len(others), 0.8 / (1 - before["dvt"])))
    assert model.prior.equals(before), "the original model is unchanged"
    assert edited.diagnose().dvt_probability == pytest.approx(0.2)
    rows = edited.priors.set_index(["setting", "cause"])
    row = row_at(rows, ("primary_care", "dvt"))
    assert row["source_type"] == "expert_estimate"
    assert row["reasoning"].startswith(f"Edited in calfdx from {before['dvt']:g} to 0.2")
    assert "rescaled by" in row_at(rows, ("primary_care", "cramp"))["reasoning"]
    assert edited.source.endswith("(edited)")


def test_with_likelihood_edits_one_distribution(model: calfdx.Model) -> None:
    """Check an edited likelihood, the rescaled other states, and other causes untouched."""
    edited = model.with_likelihood("exertion", "during", "cramp", 0.5)
    new = edited.likelihood("exertion", "cramp")
    old = model.likelihood("exertion", "cramp")
    assert new["during"] == pytest.approx(0.5)
    assert sum(new.values()) == pytest.approx(1.0, abs=1e-12)
    assert new["after"] / new["unrelated"] == pytest.approx(old["after"] / old["unrelated"])
    assert edited.likelihood("exertion", "dvt") == model.likelihood("exertion", "dvt")
    assert model.likelihood("exertion", "cramp") == old


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m: m.with_prior("dvt", 1.5), r"p must be a number in \(0, 1\), strictly"),
        (lambda m: m.with_prior("dvtt", 0.1), "Unknown cause 'dvtt'"),
        (lambda m: m.with_likelihood("swelling", "maybe", "dvt", 0.1), "Unknown state 'maybe'"),
        (lambda m: m.with_likelihood("sweling", "yes", "dvt", 0.1), "Unknown finding"),
        (lambda m: m.with_setting("mars"), "Unknown setting 'mars'"),
    ],
)
def test_bad_edits_are_rejected(
    model: calfdx.Model, call: Callable[[calfdx.Model], object], match: str
) -> None:
    """Check bad edits raise a clear error and leave the model as it was."""
    patient = {"swelling": "yes", "side": "unilateral", "warmth": "yes", "redness": "no"}
    before = (
        model.content_hash,
        model.setting,
        model.prior,
        model.likelihoods.copy(),
        model.diagnose(patient).posterior,
    )
    with pytest.raises(calfdx.InvalidOptionError, match=match):
        call(model)
    assert model.content_hash == before[0]
    assert model.setting == before[1]
    pd.testing.assert_series_equal(model.prior, before[2], check_exact=True)
    pd.testing.assert_frame_equal(model.likelihoods, before[3], check_exact=True)
    assert model.diagnose(patient).posterior == before[4]


def test_with_likelihood_edits_one_block_of_a_child(model: calfdx.Model) -> None:
    """Check editing P(child | parent state, cause) touches that block only, with provenance."""
    edited = model.with_likelihood("redness", "yes", "cellulitis", 0.8, parent_state="no")
    assert edited.likelihood("redness", "cellulitis", parent_state="no") == pytest.approx(
        {"yes": 0.8, "no": 0.2}, abs=1e-15
    )
    for cause, warm in [("cellulitis", "yes"), ("dvt", "no"), ("dvt", "yes")]:
        assert edited.likelihood("redness", cause, parent_state=warm) == model.likelihood(
            "redness", cause, parent_state=warm
        )
    assert edited.likelihood("warmth", "cellulitis") == model.likelihood("warmth", "cellulitis")
    rows = edited.likelihoods.set_index(["finding", "state", "cause", "parent_state"])
    row = row_at(rows, ("redness", "yes", "cellulitis", "no"))
    old = model.likelihood("redness", "cellulitis", parent_state="no")["yes"]
    assert row["source_type"] == "expert_estimate"
    assert row["reasoning"].startswith(f"Edited in calfdx from {old:g} to 0.8")
    note = "after P(redness=yes | warmth=no, cellulitis) was edited]"
    assert note in row_at(rows, ("redness", "no", "cellulitis", "no"))["reasoning"]
    assert note not in row_at(rows, ("redness", "no", "cellulitis", "yes"))["reasoning"]
    # The marginal P(redness | cellulitis) follows the edited block.
    p_warm = model.likelihood("warmth", "cellulitis")["yes"]
    marginal = edited.likelihood("redness", "cellulitis")["yes"]
    yes_block = model.likelihood("redness", "cellulitis", parent_state="yes")["yes"]
    assert marginal == pytest.approx(p_warm * yes_block + (1 - p_warm) * 0.8, rel=1e-12)


def test_likelihood_of_a_child_is_its_marginal_or_one_block(model: calfdx.Model) -> None:
    """Check likelihood() of a child against pgmpy: the marginal, and each parent block."""
    network = model.to_pgmpy()
    inference = VariableElimination(network)
    cpd = network.get_cpds("calf_difference_3cm")
    for cause in ("dvt", "cramp", "cellulitis"):
        marginal = inference.query(
            ["calf_difference_3cm"], evidence={"cause": cause}, show_progress=False
        )
        got = model.likelihood("calf_difference_3cm", cause)
        for state, p in got.items():
            assert p == pytest.approx(marginal.get_value(calf_difference_3cm=state), abs=1e-12)
            for swelling in ("yes", "no"):
                block = model.likelihood("calf_difference_3cm", cause, parent_state=swelling)
                reference = cpd.get_value(
                    calf_difference_3cm=state, swelling=swelling, cause=cause
                )
                assert block[state] == pytest.approx(reference, abs=1e-15)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda m: m.with_likelihood("redness", "yes", "dvt", 0.5),
            r"Finding 'redness' has the parent finding 'warmth'.*\['yes', 'no'\]\. Got none",
        ),
        (
            lambda m: m.with_likelihood("redness", "yes", "dvt", 0.5, parent_state="maybe"),
            r"'redness' has the parent finding 'warmth'.*\['yes', 'no'\]\. Got 'maybe' inst",
        ),
        (
            lambda m: m.with_likelihood("redness", "yes", "dvt", 0.5, parent_state=True),
            r"'warmth'.*Got True \(of type bool\) instead",
        ),
        (
            lambda m: m.with_likelihood("swelling", "yes", "dvt", 0.5, parent_state="yes"),
            r"Finding 'swelling' has no parent finding.*Got parent_state='yes'",
        ),
        (
            lambda m: m.likelihood("calf_difference_3cm", "dvt", parent_state="oui"),
            r"'calf_difference_3cm' has the parent finding 'swelling'.*Got 'oui'",
        ),
        (
            lambda m: m.likelihood("age", "dvt", parent_state="yes"),
            "Finding 'age' has no parent finding",
        ),
    ],
)
def test_bad_parent_states_are_rejected(model: calfdx.Model, call: object, match: str) -> None:
    """Check a missing or wrong parent_state is a clear error and changes nothing."""
    before = (model.content_hash, model.likelihoods.copy())
    with pytest.raises(calfdx.InvalidOptionError, match=match):
        call(model)  # type: ignore[operator]
    assert model.content_hash == before[0]
    assert model.likelihoods.equals(before[1])


def test_to_csv_round_trips(model: calfdx.Model, tmp_path: Path, shipped_dir: Path) -> None:
    """Check unedited tables are written byte for byte and edited ones load back identical."""
    folder = model.to_csv(tmp_path / "new" / "nested")
    for table in shipped_dir.glob("*.csv"):
        assert (folder / table.name).read_bytes() == table.read_bytes()
    edited = model.with_prior("cramp", 0.3).with_likelihood("fever", "yes", "cellulitis", 0.5)
    again = calfdx.load_model(edited.to_csv(tmp_path / "edited"))
    assert again.content_hash == edited.content_hash
    assert again.prior.equals(edited.prior)
    findings = {"fever": "yes", "side": "unilateral"}
    assert again.diagnose(findings).posterior == edited.diagnose(findings).posterior
    edited.to_csv(tmp_path / "twice")
    for name in edited._compiled.tables.files:
        assert (tmp_path / "twice" / name).read_bytes() == (
            tmp_path / "edited" / name
        ).read_bytes()


def test_simulate_is_reproducible_and_follows_the_model(model: calfdx.Model) -> None:
    """Check the cohort is seeded, has the asked missingness and follows the prior."""
    cohort = model.simulate(100_000, seed=3, missing=0.25)
    assert cohort.equals(model.simulate(100_000, seed=3, missing=0.25))
    assert not cohort.equals(model.simulate(100_000, seed=4, missing=0.25))
    assert list(cohort.columns) == ["cause", *model.vocabulary]
    findings = cohort.drop(columns="cause")
    assert findings.isna().to_numpy().mean() == pytest.approx(0.25, abs=0.005)
    frequency = cohort["cause"].value_counts(normalize=True)
    for cause, p in model.prior.items():
        assert abs(frequency[str(cause)] - p) < 5 * math.sqrt(p * (1 - p) / 100_000) + 1e-4
    dvt_rows = cohort[cohort["cause"] == "dvt"]["swelling"].dropna()
    expected = model.likelihood("swelling", "dvt")["yes"]
    assert (dvt_rows == "yes").mean() == pytest.approx(expected, abs=0.03)


def test_evaluate_matches_independent_metrics(model: calfdx.Model) -> None:
    """Check the metrics against scikit-learn on the same predictions."""
    cases = model.simulate(3000, seed=5, missing=0.3)
    report = calfdx.evaluate(model, cases)
    scores = calfdx.diagnose_batch(cases.drop(columns="cause"))
    causes = [c.id for c in model.causes]
    probabilities = scores[causes].to_numpy()
    truth = cases["cause"].astype(str).to_numpy()
    labels = np.array(causes)
    order = np.argsort(labels)
    assert report.log_loss == pytest.approx(
        log_loss(truth, probabilities[:, order], labels=labels[order])
    )
    is_dvt = truth == "dvt"
    assert report.dvt_auc == pytest.approx(roc_auc_score(is_dvt, scores["dvt"]))
    onehot = (truth[:, None] == labels[None, :]).astype(float)
    assert report.brier == pytest.approx(((probabilities - onehot) ** 2).sum(axis=1).mean())
    assert brier_score_loss(is_dvt, scores["dvt"]) <= report.brier
    top = labels[np.argmax(probabilities, axis=1)]
    assert report.top1_accuracy == pytest.approx((top == truth).mean())
    alert = scores["dvt"].to_numpy() >= 0.02
    assert report.sensitivity == pytest.approx((alert & is_dvt).sum() / is_dvt.sum())
    assert report.npv == pytest.approx((~alert & ~is_dvt).sum() / (~alert).sum())
    assert report.calibration["cases"].sum() == len(cases)
    assert "top-1 accuracy" in str(report)
    assert report.to_dict()["counts"]["tp"] == int((alert & is_dvt).sum())


def test_threshold_for_sensitivity_is_the_highest(model: calfdx.Model) -> None:
    """Check the threshold keeps the sensitivity, and any higher one loses it."""
    cases = model.simulate(4000, seed=6, missing=0.3)
    for target in (0.9, 0.98, 1.0):
        t = calfdx.threshold_for_sensitivity(model, cases, target)
        assert calfdx.evaluate(model, cases, dvt_threshold=t).sensitivity >= target
        above = np.nextafter(t, 1.0)
        assert calfdx.evaluate(model, cases, dvt_threshold=above).sensitivity < target


def test_evaluation_errors(model: calfdx.Model) -> None:
    """Check cases without a cause column, with unknown causes, or without DVT are rejected."""
    cases = model.simulate(50, seed=1)
    with pytest.raises(calfdx.EvidenceError, match="'cause' column"):
        calfdx.evaluate(model, cases.drop(columns="cause"))
    wrong = cases.assign(cause=cases["cause"].astype(str).replace("cramp", "crmp"))
    with pytest.raises(calfdx.EvidenceError, match="not in the model"):
        calfdx.evaluate(model, wrong)
    no_dvt = cases[cases["cause"] != "dvt"]
    with pytest.raises(calfdx.EvidenceError, match="no DVT case"):
        calfdx.threshold_for_sensitivity(model, no_dvt, 0.98)
    with pytest.raises(calfdx.InvalidOptionError):
        model.simulate(-1)
    assert isinstance(calfdx.evaluate(model, pd.DataFrame({"cause": ["dvt"]})), calfdx.Evaluation)


def _family_counts(
    model: calfdx.Model, cohort: pd.DataFrame, members: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Return the counts of a family's joint patterns by cause, and P(pattern | cause).

    Both are (patterns, causes), patterns enumerating the members' states, the last fastest.
    """
    engine = model._compiled.engine
    patterns = list(itertools.product(*(engine.states[m] for m in members)))
    key = np.zeros(len(cohort), dtype=np.int64)
    for m in members:
        key = key * len(engine.states[m]) + cohort[m].cat.codes.to_numpy()
    cause = cohort["cause"].cat.codes.to_numpy()
    observed = np.zeros((len(patterns), len(engine.causes)))
    np.add.at(observed, (key, cause), 1.0)
    expected = np.array([engine.likelihood(dict(zip(members, p, strict=True))) for p in patterns])
    return observed, expected


def test_simulate_draws_each_family_jointly(model: calfdx.Model) -> None:
    """Check simulated family patterns follow P(pattern | cause) by a chi-square test.

    Per family (and per parent and child pair) and per cause with at least 5 expected
    patients in every pattern, Pearson's statistic must stay below its chi-square quantile
    at 1e-6 (Bonferroni over the tests); drawing the family's members independently given
    the cause fails the same test.
    """
    n = 200_000
    cohort = model.simulate(n, seed=11)
    families = [f for f in model._compiled.engine.families if len(f) > 1]
    assert {f[0] for f in families} >= {"swelling", "warmth", "recent_immobilization"}
    pairs = [(f[0], child) for f in families for child in f[1:]]
    tests = []
    for members in [*families, *pairs]:
        observed, p = _family_counts(model, cohort, members)
        for i in range(observed.shape[1]):
            expected = p[:, i] * observed[:, i].sum()
            if expected.min() >= 5:
                tests.append((members, i, observed[:, i], expected, p[:, i]))
    assert len(tests) > 50
    bound = {df: chi2.isf(1e-6 / len(tests), df) for df in {len(t[2]) - 1 for t in tests}}
    for members, i, counts, expected, _ in tests:
        statistic = float(((counts - expected) ** 2 / expected).sum())
        assert statistic < bound[len(counts) - 1], (
            members,
            model._compiled.engine.causes[i],
            statistic,
        )
    # The test has power: the product of the members' marginals is rejected.
    engine = model._compiled.engine
    dvt = engine.causes.index("dvt")
    members = ("swelling", "calf_difference_3cm")
    observed, p = _family_counts(model, cohort, members)
    patterns = list(itertools.product(*(engine.states[m] for m in members)))
    product = np.array(
        [
            math.prod(
                engine.block(m)[engine.states[m].index(s), dvt]
                for m, s in zip(members, pattern, strict=True)
            )
            for pattern in patterns
        ]
    )
    counts = observed[:, dvt]
    wrong = product * counts.sum()
    assert float(((counts - wrong) ** 2 / wrong).sum()) > bound[len(counts) - 1]


def test_evaluate_is_exact_on_families(model: calfdx.Model) -> None:
    """Check evaluate's log loss and Brier score against pgmpy VariableElimination.

    Half the values are hidden, so families come partly observed (a child without its
    parent, a parent with some children).
    """
    cases = model.simulate(60, seed=15, missing=0.5)
    inference = VariableElimination(model.to_pgmpy())
    causes = [c.id for c in model.causes]
    truth = cases["cause"].astype(str).to_numpy()
    probabilities = []
    for _, row in cases.drop(columns="cause").iterrows():
        evidence = {f: str(v) for f, v in row.items() if isinstance(v, str)}
        factor = inference.query(["cause"], evidence=evidence, show_progress=False)
        probabilities.append([factor.get_value(cause=c) for c in causes])
    p = np.array(probabilities)
    onehot = (truth[:, None] == np.array(causes)[None, :]).astype(float)
    report = calfdx.evaluate(model, cases)
    p_true = p[onehot.astype(bool)]
    assert report.log_loss == pytest.approx(float(-np.log(p_true).mean()), abs=1e-9)
    assert report.brier == pytest.approx(float(((p - onehot) ** 2).sum(axis=1).mean()), abs=1e-9)
    partly = [
        (cases[parent].isna() & cases[child].notna()).any()
        for child, parent in model._compiled.tables.parents.items()
    ]
    assert any(partly)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_editing_a_child_block_changes_that_block_only(data: st.DataObject) -> None:
    """Property: an edit of one block of a child sets it and leaves every other block as is."""
    model = calfdx.load_model()
    parents = model._compiled.tables.parents
    child = data.draw(st.sampled_from(sorted(parents)))
    parent_state = data.draw(st.sampled_from(model.vocabulary[parents[child]].states))
    state = data.draw(st.sampled_from(model.vocabulary[child].states))
    cause = data.draw(st.sampled_from([c.id for c in model.causes]))
    p = data.draw(st.floats(0.01, 0.99))
    edited = model.with_likelihood(child, state, cause, p, parent_state=parent_state)
    block = edited.likelihood(child, cause, parent_state=parent_state)
    assert block[state] == p
    assert sum(block.values()) == pytest.approx(1.0, abs=1e-12)
    before = model._compiled.tables.likelihood[child]
    after = edited._compiled.tables.likelihood[child]
    k = model.vocabulary[parents[child]].states.index(parent_state)
    i = [c.id for c in model.causes].index(cause)
    changed = np.argwhere(before != after).tolist()
    assert all(j[1:] == [k, i] for j in changed)
    for name, table in model._compiled.tables.likelihood.items():
        if name != child:
            assert np.array_equal(table, edited._compiled.tables.likelihood[name])
