"""Sensitivity of the posterior to the tables, and credible intervals."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pytest
from scipy import stats

import calfdx

from .tablewriter import write_tables

mpl.use("Agg")

FINDINGS = {"swelling": "yes", "side": "unilateral", "age": "65_plus", "trauma": "no"}


def edited(model: calfdx.Model, row: object, v: float) -> calfdx.Model:
    if row.table == "prior":  # type: ignore[attr-defined]
        return model.with_prior(row.cause, v)  # type: ignore[attr-defined]
    return model.with_likelihood(row.finding, row.state, row.cause, v)  # type: ignore[attr-defined]


def test_derivatives_match_finite_differences_of_real_edits(model: calfdx.Model) -> None:
    """Check each derivative against editing the model (proportional covariation) by +-h."""
    table = calfdx.sensitivity(model, FINDINGS, target="dvt")
    rng = np.random.default_rng(0)
    picked = table.iloc[list(range(5)) + sorted(rng.choice(len(table), 15, replace=False))]
    h = 1e-6
    for row in picked.itertuples():
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
    widths = sorted(patch.get_width() for patch in ax.patches)
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
