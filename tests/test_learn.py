"""Learning the tables from labelled cases (Bayesian updating)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import calfdx

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from pgmpy.parameter_estimator import DiscreteBayesianEstimator


@pytest.fixture(scope="module")
def truth(model: calfdx.Model) -> calfdx.Model:
    """Return a model whose tables differ from the shipped ones in known places."""
    return (
        model.with_prior("dvt", 0.15)
        .with_likelihood("swelling", "yes", "dvt", 0.85)
        .with_likelihood("onset", "sudden", "cramp", 0.6)
        .with_likelihood("exertion", "after", "muscle_strain", 0.4)
    )


def test_fit_recovers_known_tables(model: calfdx.Model, truth: calfdx.Model) -> None:
    """Check fitting many simulated cases recovers the tables that generated them."""
    cases = truth.simulate(200_000, seed=8, missing=0.2)
    fitted = model.fit(cases, prior_strength=1)
    assert fitted.prior.to_numpy() == pytest.approx(truth.prior.to_numpy(), abs=0.003)
    counts = cases["cause"].value_counts()
    for cause in ("dvt", "cramp", "muscle_strain", "contusion"):
        assert counts[cause] > 5000
        for finding in ("swelling", "onset", "exertion", "age", "night_pain"):
            got = fitted.likelihood(finding, cause)
            want = truth.likelihood(finding, cause)
            for state, p in want.items():
                assert got[state] == pytest.approx(p, abs=0.02), (finding, cause, state)
    assert fitted.likelihood("swelling", "dvt")["yes"] == pytest.approx(0.85, abs=0.02)
    assert model.likelihood("swelling", "dvt")["yes"] != pytest.approx(0.85, abs=0.02)


def test_fit_equals_pgmpy_bayesian_estimator(model: calfdx.Model) -> None:
    """Check the update equals pgmpy BayesianEstimator with dirichlet pseudo-counts."""
    cases = model.simulate(3000, seed=9)
    strength = 15.0
    fitted = model.fit(cases, prior_strength=strength)
    data = cases.astype(str)
    causes = [c.id for c in model.causes]
    pseudo = {
        name: np.array(
            [[model.likelihood(name, c)[s] * strength for c in causes] for s in finding.states]
        )
        for name, finding in model.findings.items()
    }
    pseudo["cause"] = (model.prior.to_numpy() * strength).reshape(-1, 1)
    state_names = {name: list(f.states) for name, f in model.findings.items()}
    state_names["cause"] = causes
    estimator = DiscreteBayesianEstimator(
        prior_type="dirichlet", pseudo_counts=pseudo, state_names=state_names
    ).fit(model.to_pgmpy(), data)
    cpds = {cpd.variable: cpd for cpd in estimator.parameters_}
    for finding in ("swelling", "age", "exertion", "thompson_test"):
        states = list(model.findings[finding].states)
        cpd = cpds[finding]
        order_s = [cpd.state_names[finding].index(s) for s in states]
        order_c = [cpd.state_names["cause"].index(c) for c in causes]
        reference = cpd.get_values()[np.ix_(order_s, order_c)]
        ours = np.array([[fitted.likelihood(finding, c)[s] for c in causes] for s in states])
        assert ours == pytest.approx(reference, abs=1e-9)
    cpd = cpds["cause"]
    order = [cpd.state_names["cause"].index(c) for c in causes]
    assert fitted.prior.to_numpy() == pytest.approx(cpd.get_values()[order, 0], abs=1e-9)


def test_fit_notes_the_update_and_leaves_the_original(model: calfdx.Model) -> None:
    """Check fitted rows say so, their ess grows, and update_prior=False keeps the prior."""
    cases = model.simulate(500, seed=10, missing=0.5)
    fitted = model.fit(cases)
    rows = fitted.likelihoods.set_index(["finding", "state", "cause"])
    row = rows.loc[("swelling", "yes", "dvt")]
    assert "[fitted: Bayesian update of" in row["reasoning"]
    observed = int(((cases["cause"] == "dvt") & cases["swelling"].notna()).sum())
    pseudo = model._tables.likelihood_ess["swelling"][[c.id for c in model.causes].index("dvt")]
    assert float(row["ess"]) == pytest.approx(pseudo + observed)
    assert fitted.source.endswith("(edited)")
    same_prior = model.fit(cases, update_prior=False)
    assert same_prior.prior.equals(model.prior)
    assert model.likelihoods.equals(calfdx.load_model().likelihoods)
    with pytest.raises(calfdx.InvalidOptionError, match="prior_strength"):
        model.fit(cases, prior_strength=0)
    with pytest.raises(calfdx.EvidenceError, match="'cause' column"):
        model.fit(cases.drop(columns="cause"))
