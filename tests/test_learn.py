"""Learning the tables from labelled cases (Bayesian updating)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import calfdx

from .tablewriter import row_at

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from pgmpy.inference import VariableElimination
    from pgmpy.parameter_estimator import DiscreteBayesianEstimator


@pytest.fixture(scope="module")
def truth(model: calfdx.Model) -> calfdx.Model:
    """Return a model whose tables differ from the shipped ones in known places."""
    return (
        model.with_prior("dvt", 0.15)
        .with_likelihood("swelling", "yes", "dvt", 0.85)
        .with_likelihood("onset", "sudden", "cramp", 0.6)
        .with_likelihood("exertion", "after", "muscle_strain", 0.4)
        .with_likelihood("calf_difference_3cm", "yes", "dvt", 0.5, parent_state="yes")
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
    for swelling in ("yes", "no"):
        got = fitted.likelihood("calf_difference_3cm", "dvt", parent_state=swelling)
        want = truth.likelihood("calf_difference_3cm", "dvt", parent_state=swelling)
        assert got["yes"] == pytest.approx(want["yes"], abs=0.03), swelling
    assert want["yes"] != pytest.approx(0.5, abs=0.1)  # the other block kept its number
    assert model.likelihood("swelling", "dvt")["yes"] != pytest.approx(0.85, abs=0.02)


def _pseudo_counts(model: calfdx.Model, strength: float | None) -> dict[str, np.ndarray]:
    """Return pgmpy's dirichlet pseudo-counts for the model's tables (rows: states).

    pgmpy orders a node's parents by name, the first slowest; a child's parents are its
    parent finding and ``cause``. ``strength`` None: each distribution's own ess.
    """
    tables = model._compiled.tables
    pseudo: dict[str, np.ndarray] = {}
    for finding in tables.findings:
        table = tables.likelihood[finding.id]
        ess = tables.likelihood_ess[finding.id]
        counts = table * (strength if strength is not None else ess[None, ...])
        if finding.parent:  # (states, parent states, causes) -> parents sorted by name
            axes = {finding.parent: 1, "cause": 2}
            counts = counts.transpose(0, *(axes[p] for p in sorted(axes)))
        pseudo[finding.id] = counts.reshape(len(finding.states), -1)
    prior_strength = strength if strength is not None else float(tables.prior_ess.min())
    pseudo["cause"] = (tables.prior * prior_strength).reshape(-1, 1)
    return pseudo


@pytest.mark.parametrize("strength", [15.0, None])
def test_fit_equals_pgmpy_bayesian_estimator(model: calfdx.Model, strength: float | None) -> None:
    """Check the update equals pgmpy BayesianEstimator with dirichlet pseudo-counts.

    With missing values, pgmpy counts for each node the rows where it and its parents are
    observed: for a child, the cases with its parent known, per (parent state, cause).
    """
    cases = model.simulate(3000, seed=9, missing=0.3)
    fitted = model.fit(cases, prior_strength=strength)
    data = cases.astype(object).where(cases.notna(), np.nan)
    causes = [c.id for c in model.causes]
    state_names = {name: list(f.states) for name, f in model.vocabulary.items()}
    state_names["cause"] = causes
    estimator = DiscreteBayesianEstimator(
        prior_type="dirichlet",
        pseudo_counts=_pseudo_counts(model, strength),
        state_names=state_names,
    ).fit(model.to_pgmpy(), data)
    cpds = {cpd.variable: cpd for cpd in estimator.parameters_}
    children = set(model._compiled.tables.parents)
    assert children >= {"calf_difference_3cm", "redness", "ultrasound_proximal"}
    for finding, spec in model.vocabulary.items():
        cpd = cpds[finding]
        blocks: list[tuple[str | None, dict[str, str]]] = [(None, {})]
        if spec.parent:
            blocks = [(k, {spec.parent: k}) for k in model.vocabulary[spec.parent].states]
        for parent_state, condition in blocks:
            for cause in causes:
                ours = fitted.likelihood(finding, cause, parent_state=parent_state)
                for state, value in ours.items():
                    reference = cpd.get_value(**{finding: state, "cause": cause, **condition})
                    assert value == pytest.approx(reference, abs=1e-9), (finding, cause, state)
    cpd = cpds["cause"]
    order = [cpd.state_names["cause"].index(c) for c in causes]
    assert fitted.prior.to_numpy() == pytest.approx(cpd.get_values()[order, 0], abs=1e-9)


def test_fit_counts_a_child_per_parent_state(model: calfdx.Model) -> None:
    """Check a child's update by hand: counts and ess per (parent state, cause)."""
    cases = model.simulate(4000, seed=12, missing=0.3)
    fitted = model.fit(cases)
    ess = model._compiled.tables.likelihood_ess["redness"]
    warmth_states = model.vocabulary["warmth"].states
    causes = [c.id for c in model.causes]
    rows = fitted.likelihoods.set_index(["finding", "state", "cause", "parent_state"])
    for cause in ("cellulitis", "superficial_thrombophlebitis", "cramp"):
        i = causes.index(cause)
        for k, warm in enumerate(warmth_states):
            chosen = (cases["cause"] == cause) & (cases["warmth"] == warm)
            seen = cases.loc[chosen, "redness"].dropna()
            p = model.likelihood("redness", cause, parent_state=warm)["yes"]
            want = (p * ess[k, i] + (seen == "yes").sum()) / (ess[k, i] + len(seen))
            got = fitted.likelihood("redness", cause, parent_state=warm)["yes"]
            assert got == pytest.approx(want, rel=1e-12)
            row = row_at(rows, ("redness", "yes", cause, warm))
            assert float(row["ess"]) == pytest.approx(ess[k, i] + len(seen))
            assert f"cases having warmth={warm}]" in row["reasoning"]


def test_fit_leaves_out_a_child_whose_parent_is_unknown(model: calfdx.Model) -> None:
    """Check cases with a child known but its parent unknown add nothing to the child."""
    cases = model.simulate(3000, seed=13, missing=0.4)
    fitted = model.fit(cases)
    blanked = cases.copy()
    for child, parent in model._compiled.tables.parents.items():
        blanked.loc[blanked[parent].isna(), child] = np.nan
    assert (blanked.isna().sum() > cases.isna().sum()).any()
    assert model.fit(blanked).content_hash == fitted.content_hash
    # ...while a child seen with its parent does count.
    seen = cases.copy()
    seen.loc[seen["warmth"].notna(), "redness"] = np.nan
    assert model.fit(seen).likelihood(
        "redness", "cellulitis", parent_state="yes"
    ) != fitted.likelihood("redness", "cellulitis", parent_state="yes")


def test_fitted_model_posterior_is_exact(model: calfdx.Model) -> None:
    """Check the fitted model's posterior against pgmpy VariableElimination on its network."""
    fitted = model.fit(model.simulate(2000, seed=14, missing=0.3), prior_strength=5)
    inference = VariableElimination(fitted.to_pgmpy())
    causes = [c.id for c in fitted.causes]
    for evidence in [
        {"swelling": "yes", "calf_difference_3cm": "yes", "pitting_oedema": "no"},
        {"warmth": "yes", "redness": "no", "fever": "yes"},
        {"ultrasound": "negative", "ultrasound_proximal": "negative", "swelling": "no"},
        {"calf_difference_3cm": "yes", "redness": "yes"},  # parents unknown
        {"whole_leg_swollen": "yes", "paralysis_or_cast": "no", "recent_immobilization": "yes"},
    ]:
        reference = inference.query(["cause"], evidence=evidence, show_progress=False)
        ours = fitted.diagnose(evidence).posterior
        for cause in causes:
            assert ours[cause] == pytest.approx(reference.get_value(cause=cause), abs=1e-9)


def test_fit_notes_the_update_and_leaves_the_original(model: calfdx.Model) -> None:
    """Check fitted rows say so, their ess grows, and update_prior=False keeps the prior."""
    cases = model.simulate(500, seed=10, missing=0.5)
    fitted = model.fit(cases)
    rows = fitted.likelihoods.set_index(["finding", "state", "cause"])
    row = row_at(rows, ("swelling", "yes", "dvt"))
    assert "[fitted: Bayesian update of" in row["reasoning"]
    observed = int(((cases["cause"] == "dvt") & cases["swelling"].notna()).sum())
    pseudo = model._compiled.tables.likelihood_ess["swelling"][
        [c.id for c in model.causes].index("dvt")
    ]
    assert float(row["ess"]) == pytest.approx(pseudo + observed)
    assert fitted.source.endswith("(edited)")
    same_prior = model.fit(cases, update_prior=False)
    assert same_prior.prior.equals(model.prior)
    assert model.likelihoods.equals(calfdx.load_model().likelihoods)
    with pytest.raises(calfdx.InvalidOptionError, match="prior_strength"):
        model.fit(cases, prior_strength=0)
    with pytest.raises(calfdx.EvidenceError, match="'cause' column"):
        model.fit(cases.drop(columns="cause"))
