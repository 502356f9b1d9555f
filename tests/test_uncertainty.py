"""Sensitivity of the posterior to the tables, and credible intervals."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Rectangle
from scipy import stats

import calfdx
from calfdx._likelihood import evidence_likelihood
from calfdx._uncertainty import _CHUNK

from .tablewriter import write_tables

mpl.use("Agg")

FINDINGS = {"swelling": "yes", "side": "unilateral", "age": "65_plus", "trauma": "no"}


class Entry(NamedTuple):
    """One row of a sensitivity table."""

    table: str
    finding: str
    state: str
    cause: str
    parent_state: str
    value: float
    derivative: float
    low: float
    high: float
    posterior_low: float
    posterior_high: float
    swing: float


def entries(table: pd.DataFrame) -> list[Entry]:
    """The rows of a sensitivity table, typed."""
    return [Entry(*row) for row in table[list(Entry._fields)].itertuples(index=False)]


def edited(model: calfdx.Model, row: Entry, v: float) -> calfdx.Model:
    if row.table == "prior":
        return model.with_prior(row.cause, v)
    return model.with_likelihood(row.finding, row.state, row.cause, v)


def test_derivatives_match_finite_differences_of_real_edits(model: calfdx.Model) -> None:
    """Check each derivative against editing the model (proportional covariation) by +-h."""
    table = calfdx.sensitivity(model, FINDINGS, target="dvt")
    rng = np.random.default_rng(0)
    picked = table.iloc[list(range(5)) + sorted(rng.choice(len(table), 15, replace=False))]
    h = 1e-6
    for row in entries(picked):
        if not h < row.value < 1 - h:
            continue
        up = edited(model, row, row.value + h).diagnose(FINDINGS).dvt_probability
        down = edited(model, row, row.value - h).diagnose(FINDINGS).dvt_probability
        assert row.derivative == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-7)
        at_low = edited(model, row, row.low).diagnose(FINDINGS).dvt_probability
        assert row.posterior_low == pytest.approx(at_low, abs=1e-9)


def test_the_table_covers_priors_and_observed_findings(model: calfdx.Model) -> None:
    """Check which entries are listed, the plausible ranges and the ordering."""
    table = calfdx.sensitivity(model, {"swelling": "yes"})
    assert set(table["table"]) == {"prior", "likelihood"}
    assert set(table.loc[table["table"] == "likelihood", "finding"]) == {"swelling"}
    assert (table["low"] <= table["value"]).all()
    assert (table["value"] <= table["high"]).all()
    assert table["swing"].is_monotonic_decreasing
    assert table.attrs["posterior"] == pytest.approx(
        calfdx.diagnose(swelling="yes").dvt_probability
    )
    with pytest.raises(calfdx.InvalidOptionError, match="Unknown cause"):
        calfdx.sensitivity(model, {}, target="dvtt")


def test_plot_tornado_draws_the_largest_swings(model: calfdx.Model) -> None:
    """Check the tornado plot draws k bars spanning each entry's posterior range."""
    table = calfdx.sensitivity(model, FINDINGS)
    ax = calfdx.plot_tornado(table, k=7)
    assert len(ax.patches) == 7
    bars = [patch for patch in ax.patches if isinstance(patch, Rectangle)]
    assert len(bars) == 7
    widths = sorted(bar.get_width() for bar in bars)
    assert widths[-1] == pytest.approx(table["swing"].iloc[0])


def test_intervals_are_reproducible_and_ordered(model: calfdx.Model) -> None:
    """Check seeded intervals repeat, contain the mean, and widen with the level."""
    a = model.posterior_interval(FINDINGS, draws=800, seed=4)
    b = model.posterior_interval(FINDINGS, draws=800, seed=4)
    assert a.frame.equals(b.frame)
    frame = a.frame
    assert (frame["lower"] <= frame["mean"]).all()
    assert (frame["mean"] <= frame["upper"]).all()
    assert frame.index[0] == calfdx.diagnose(FINDINGS).top_cause
    wide = model.posterior_interval(FINDINGS, draws=800, seed=4, level=0.99).frame
    assert (wide["upper"] - wide["lower"] >= frame["upper"] - frame["lower"] - 1e-12).all()
    assert 0.0 <= a.alert_probability <= 1.0
    assert a.to_dict()["causes"][0]["cause"] == frame.index[0]


def test_interval_of_a_two_cause_toy_matches_an_independent_simulation(tmp_path: Path) -> None:
    """Check the draws against a direct scipy simulation of the same Beta uncertainty."""
    folder = write_tables(
        tmp_path,
        {"dvt": 0.3, "cramp": 0.7},
        {"swelling": {"yes": {"dvt": 0.6, "cramp": 0.2}, "no": {"dvt": 0.4, "cramp": 0.8}}},
    )
    for name in ("priors.csv", "likelihoods.csv"):
        path = folder / name
        lines = path.read_text().splitlines()
        path.write_text(
            "\n".join([lines[0] + ",ess", *(line + ",40" for line in lines[1:])]) + "\n"
        )
    model = calfdx.load_model(folder)
    ours = model.posterior_interval({"swelling": "yes"}, draws=40_000, seed=1).frame.loc["dvt"]
    rng = np.random.default_rng(99)
    prior = stats.beta.rvs(0.3 * 40, 0.7 * 40, size=40_000, random_state=rng)
    a = stats.beta.rvs(0.6 * 40, 0.4 * 40, size=40_000, random_state=rng)
    b = stats.beta.rvs(0.2 * 40, 0.8 * 40, size=40_000, random_state=rng)
    reference = prior * a / (prior * a + (1 - prior) * b)
    assert ours["mean"] == pytest.approx(reference.mean(), abs=0.003)
    assert ours["lower"] == pytest.approx(np.quantile(reference, 0.025), abs=0.01)
    assert ours["upper"] == pytest.approx(np.quantile(reference, 0.975), abs=0.01)


def test_interval_options_are_checked(model: calfdx.Model) -> None:
    """Check bad options get a clear error."""
    with pytest.raises(calfdx.InvalidOptionError, match="draws must be"):
        model.posterior_interval(draws=0)
    with pytest.raises(calfdx.InvalidOptionError, match="level"):
        model.posterior_interval(level=2.0)


# --------------------------------------------------------------------------------------------
# Exact on families (a finding may have a parent finding)

FAMILY_FINDINGS = [
    {"swelling": "yes", "calf_difference_3cm": "yes", "pitting_oedema": "no", "age": "65_plus"},
    {"calf_difference_3cm": "yes", "whole_leg_swollen": "no"},  # the parent left unknown
    {"warmth": 0.6, "redness": "yes", "ultrasound_proximal": {"negative": 0.7, "positive": 0.3}},
]


def _posterior(
    model: calfdx.Model, tables: dict[str, Any], result: calfdx.Diagnosis
) -> np.ndarray:
    """P(cause | evidence) recomputed from (edited) tables with evidence_likelihood."""
    engine = model._compiled.engine
    likelihood = evidence_likelihood(
        tables,
        engine.states,
        dict(result.findings),
        parents=engine.parents,
        soft=dict(result.soft_findings),
    )
    joint = model._compiled.tables.prior * likelihood
    posterior: np.ndarray = joint / joint.sum()
    return posterior


def _edit(model: calfdx.Model, row: Entry, v: float) -> dict[str, np.ndarray]:
    """The tables with one entry set to v, the other entries of its distribution rescaled."""
    engine = model._compiled.engine
    tables = dict(model._compiled.tables.likelihood)
    table = tables[row.finding].copy()
    j = engine.states[row.finding].index(row.state)
    i = engine.causes.index(row.cause)
    if row.parent_state:
        k = engine.states[engine.parents[row.finding]].index(row.parent_state)
        column = table[:, k, i]
    else:
        column = table[:, i]
    p = column[j]
    column *= (1.0 - v) / (1.0 - p)
    column[j] = v
    tables[row.finding] = table
    return tables


@pytest.mark.parametrize("findings", FAMILY_FINDINGS)
def test_family_entries_are_exact(model: calfdx.Model, findings: dict[str, Any]) -> None:
    """Check each family entry's derivative and posterior range against edited tables.

    The derivative against a central finite difference; posterior_low/high against the
    posterior recomputed exactly from the tables with the entry at its low/high end.
    """
    result = model.diagnose(findings)
    table = calfdx.sensitivity(model, findings, target="dvt")
    dvt = model._compiled.engine.causes.index("dvt")
    assert table.attrs["posterior"] == pytest.approx(result.dvt_probability, abs=1e-12)
    families = {m for name in findings for m in model._compiled.engine.family(name)}
    rows = table[(table["table"] == "likelihood") & table["finding"].isin(families)]
    assert (rows["parent_state"] != "").any()
    h = 1e-6
    for row in entries(rows):
        up = _posterior(model, _edit(model, row, row.value + h), result)[dvt]
        down = _posterior(model, _edit(model, row, row.value - h), result)[dvt]
        assert row.derivative == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-8)
        at_low = _posterior(model, _edit(model, row, row.low), result)[dvt]
        at_high = _posterior(model, _edit(model, row, row.high), result)[dvt]
        assert row.posterior_low == pytest.approx(at_low, abs=1e-12)
        assert row.posterior_high == pytest.approx(at_high, abs=1e-12)


def test_entries_are_listed_per_parent_state(model: calfdx.Model) -> None:
    """Check which family entries are listed, and that those left out move nothing."""
    child_only = calfdx.sensitivity(model, {"calf_difference_3cm": "yes"})
    listed = child_only[child_only["table"] == "likelihood"]
    assert set(listed["finding"]) == {"swelling", "calf_difference_3cm"}
    assert set(listed.loc[listed["finding"] == "swelling", "parent_state"]) == {""}
    child = listed[listed["finding"] == "calf_difference_3cm"]
    assert set(child["parent_state"]) == {"yes", "no"}
    assert len(child) == 2 * 2 * len(model.causes)

    findings = {"swelling": "no", "calf_difference_3cm": "yes"}
    table = calfdx.sensitivity(model, findings)
    child = table[table["finding"] == "calf_difference_3cm"]
    assert set(child["parent_state"]) == {"no"}
    assert "pitting_oedema" not in set(table["finding"])
    # An entry under the ruled-out parent state cannot move the posterior.
    result = model.diagnose(findings)
    row = entries(child)[0]._replace(parent_state="yes")
    before = _posterior(model, dict(model._compiled.tables.likelihood), result)
    after = _posterior(model, _edit(model, row, 0.5), result)
    assert np.array_equal(before, after)
    assert child_only.to_dict(orient="records")[0]["parent_state"] in {"", "yes", "no"}


def test_tornado_labels_name_the_parent(model: calfdx.Model) -> None:
    """Check a child's bar is labelled with its parent's state."""
    table = calfdx.sensitivity(model, {"swelling": "yes", "calf_difference_3cm": "yes"})
    child = table[table["parent_state"] != ""].head(1)
    ax = calfdx.plot_tornado(child, k=1)
    assert "| swelling=yes," in ax.get_yticklabels()[0].get_text()


def _with_ess(model: calfdx.Model, ess: float, **by_finding: float) -> calfdx.Model:
    """The model with every effective sample size set to ``ess`` (some findings' apart)."""
    tables = model._compiled.tables
    likelihood_ess = {
        name: np.full_like(value, by_finding.get(name, ess))
        for name, value in tables.likelihood_ess.items()
    }
    return calfdx.Model(
        dataclasses.replace(
            tables, prior_ess=np.full_like(tables.prior_ess, ess), likelihood_ess=likelihood_ess
        )
    )


@pytest.mark.parametrize("findings", FAMILY_FINDINGS)
def test_intervals_on_families_are_reproducible_and_collapse_with_huge_ess(
    model: calfdx.Model, findings: dict[str, Any]
) -> None:
    """Check seeded family intervals repeat, and shrink onto the exact posterior."""
    a = model.posterior_interval(findings, draws=500, seed=3)
    b = model.posterior_interval(findings, draws=500, seed=3)
    assert a.frame.equals(b.frame)
    assert not a.frame.equals(model.posterior_interval(findings, draws=500, seed=4).frame)
    sure = _with_ess(model, 1e13).posterior_interval(findings, draws=3000, seed=3).frame
    exact = model.diagnose(findings).posterior
    for cause, p in exact.items():
        assert sure["posterior"][cause] == pytest.approx(p, abs=1e-12)
        for column in ("mean", "lower", "upper"):
            assert sure[column][cause] == pytest.approx(p, abs=1e-4), (cause, column)


def test_intervals_draw_the_distributions_the_evidence_depends_on(model: calfdx.Model) -> None:
    """Check a parent's uncertainty counts when only its child is observed, and not else."""
    unsure_parent = _with_ess(model, 1e13, swelling=20.0)

    def width(m: calfdx.Model, findings: dict[str, Any]) -> float:
        frame = m.posterior_interval(findings, draws=2000, seed=5).frame
        return float(frame["upper"]["dvt"] - frame["lower"]["dvt"])

    assert width(unsure_parent, {"calf_difference_3cm": "yes"}) > 1e-3
    assert width(unsure_parent, {"age": "65_plus"}) < 1e-4  # the family is not involved
    # Only the child's rows under the observed parent state count.
    unsure_child = _with_ess(model, 1e13, calf_difference_3cm=20.0)
    assert width(unsure_child, {"swelling": "yes", "calf_difference_3cm": "yes"}) > 1e-3
    assert width(unsure_child, {"swelling": "yes", "pitting_oedema": "yes"}) < 1e-4


def test_interval_of_a_child_matches_an_independent_simulation(model: calfdx.Model) -> None:
    """Check the draws when only a child is observed against a direct numpy simulation.

    Only the parent's distribution (swelling, ess 30) is uncertain: P(e | c) is
    sum_k theta_k(c) P(calf_difference_3cm = yes | swelling = k, c) with theta(c) Dirichlet.
    """
    unsure = _with_ess(model, 1e13, swelling=30.0)
    draws = 40_000
    ours = unsure.posterior_interval(
        {"calf_difference_3cm": "yes"}, draws=draws, seed=2
    ).frame.loc["dvt"]
    tables = model._compiled.tables
    rng = np.random.default_rng(17)
    theta = rng.gamma(tables.likelihood["swelling"] * 30.0, size=(draws, 2, len(model.causes)))
    theta /= theta.sum(axis=1, keepdims=True)
    child = tables.likelihood["calf_difference_3cm"][0]  # (swelling states, causes)
    joint = tables.prior * np.einsum("dkc,kc->dc", theta, child)
    dvt = joint[:, model._compiled.engine.causes.index("dvt")] / joint.sum(axis=1)
    assert ours["mean"] == pytest.approx(dvt.mean(), rel=0.01)
    assert ours["lower"] == pytest.approx(np.quantile(dvt, 0.025), rel=0.03)
    assert ours["upper"] == pytest.approx(np.quantile(dvt, 0.975), rel=0.03)


def test_intervals_draw_in_chunks(model: calfdx.Model) -> None:
    """Check more draws than one chunk are all used, reproducibly."""
    draws = _CHUNK + 300
    a = model.posterior_interval({"swelling": "yes", "redness": "yes"}, draws=draws, seed=1)
    b = model.posterior_interval({"swelling": "yes", "redness": "yes"}, draws=draws, seed=1)
    assert a.draws == draws
    assert a.frame.equals(b.frame)
