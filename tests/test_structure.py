"""Families: findings with a parent finding besides the cause, kept exact everywhere.

Random small networks with families are checked against enumeration of the full joint
distribution and against pgmpy's VariableElimination on the exported network; the shipped
tables' families are checked for the double counting they remove.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pgmpy.inference import VariableElimination

import calfdx
from calfdx._likelihood import evidence_likelihood, families

from .strategies import assert_agrees_with_enumeration, evidence, family_networks, log_enumerate
from .tablewriter import Children, Likelihoods, build_model, write_tables

Network = tuple[dict[str, float], Likelihoods, Children]


def vocabulary(likelihood: Likelihoods, children: Children) -> dict[str, list[str]]:
    found = {name: list(table) for name, table in likelihood.items()}
    for child, (_, by_parent) in children.items():
        found[child] = list(next(iter(by_parent.values())))
    return found


def joint(
    network: Network,
    hard: Mapping[str, str],
    soft: Mapping[str, Mapping[str, float]] | None = None,
    points: Mapping[str, Mapping[str, int]] | None = None,
    tier: tuple[int, int] | None = None,
) -> dict[str, float]:
    """P(cause, evidence) by enumerating every assignment of every finding."""
    prior, likelihood, children = network
    names = vocabulary(likelihood, children)
    order = list(names)
    totals = dict.fromkeys(prior, 0.0)
    for cause, p_cause in prior.items():
        for states in itertools.product(*(names[n] for n in order)):
            assignment = dict(zip(order, states, strict=True))
            if any(assignment[n] != s for n, s in hard.items()):
                continue
            if points is not None and tier is not None:
                total = sum(points.get(n, {}).get(s, 0) for n, s in assignment.items())
                if not tier[0] <= total <= tier[1]:
                    continue
            p = p_cause
            for n, s in assignment.items():
                if n in likelihood:
                    p *= likelihood[n][s][cause]
                else:
                    parent, by_parent = children[n]
                    p *= by_parent[assignment[parent]][s][cause]
                if soft and n in soft:
                    p *= soft[n][s]
            totals[cause] += p
    return totals


def normalised(values: Mapping[str, float]) -> dict[str, float]:
    total = sum(values.values())
    return {k: v / total for k, v in values.items()}


def load(network: Network) -> calfdx.Model:
    return build_model(*network)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), network=family_networks())
def test_families_agree_with_enumeration_and_pgmpy(data: st.DataObject, network: Network) -> None:
    """Posteriors on random networks with families equal enumeration (1e-12) and VE (1e-9)."""
    model = load(network)
    names = vocabulary(network[1], network[2])
    findings = data.draw(evidence(names))
    ours = model.diagnose(findings).posterior
    expected = normalised(joint(network, findings))
    factor = VariableElimination(model.to_pgmpy()).query(
        ["cause"], evidence=findings, show_progress=False
    )
    reference = dict(zip(factor.state_names["cause"], factor.values.tolist(), strict=True))
    for cause, p in expected.items():
        assert abs(ours[cause] - p) <= 1e-12
        assert abs(ours[cause] - reference[cause]) <= 1e-9


@settings(max_examples=100, deadline=None)
@given(data=st.data(), network=family_networks(extreme=True, allow_zero=True))
def test_families_with_zeros_and_tiny_numbers_agree_with_log_enumeration(
    data: st.DataObject, network: Network
) -> None:
    """Impossible evidence raises; evidence whose products underflow stays exact (1e-12)."""
    model = load(network)
    findings = data.draw(evidence(vocabulary(network[1], network[2])))
    assert_agrees_with_enumeration(model, findings, log_enumerate(*network, findings))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), network=family_networks())
def test_soft_evidence_on_families_agrees_with_enumeration(
    data: st.DataObject, network: Network
) -> None:
    """Soft evidence on a parent or a child, with hard evidence in the same family."""
    model = load(network)
    names = vocabulary(network[1], network[2])
    hard = data.draw(evidence(names))
    soft_names = data.draw(st.lists(st.sampled_from(sorted(names)), unique=True, max_size=2))
    soft: dict[str, dict[str, float]] = {}
    for name in soft_names:
        if name in hard:
            continue
        weights = [data.draw(st.integers(1, 9)) for _ in names[name]]
        soft[name] = {s: w / sum(weights) for s, w in zip(names[name], weights, strict=True)}
    ours = model.diagnose({**hard, **soft}).posterior
    expected = normalised(joint(network, hard, soft))
    for cause, p in expected.items():
        assert abs(ours[cause] - p) <= 1e-12


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), network=family_networks())
def test_batch_agrees_with_diagnose_on_families(data: st.DataObject, network: Network) -> None:
    """diagnose_batch (both kernels) equals diagnose on families, unknowns included."""
    model = load(network)
    names = vocabulary(network[1], network[2])
    rows = [data.draw(evidence(names)) for _ in range(6)]
    frame = pd.DataFrame([{n: row.get(n) for n in names} for row in rows])
    batch = calfdx.diagnose_batch(frame, model=model)
    for i, row in enumerate(rows):
        single = model.diagnose(row).posterior
        for cause, p in single.items():
            assert abs(batch[cause].iloc[i] - p) <= 1e-12


@settings(max_examples=60, deadline=None)
@given(data=st.data(), network=family_networks())
def test_score_tiers_with_families_equal_enumeration(
    data: st.DataObject, network: Network
) -> None:
    """evidence_likelihood of a score tier sums exactly over a family's parent states."""
    prior, likelihood, children = network
    names = vocabulary(likelihood, children)
    points = {
        name: {state: data.draw(st.integers(-1, 2)) for state in states}
        for name, states in names.items()
        if data.draw(st.booleans())
    }
    low = data.draw(st.integers(-2, 2))
    high = low + data.draw(st.integers(0, 3))
    hard = data.draw(evidence(names))
    causes = list(prior)
    tables = {name: _array(table, causes) for name, table in likelihood.items()}
    for child, (_, by_parent) in children.items():
        tables[child] = np.stack([_array(by_parent[k], causes) for k in by_parent], axis=1)
    parents = {child: parent for child, (parent, _) in children.items()}
    states = {name: tuple(s) for name, s in names.items()}
    got = evidence_likelihood(tables, states, hard, (points, low, high), parents=parents)
    expected = joint(network, hard, points=points, tier=(low, high))
    for i, cause in enumerate(causes):
        assert got[i] == pytest.approx(expected[cause] / prior[cause], rel=1e-12, abs=1e-15)


def _array(table: Mapping[str, Mapping[str, float]], causes: list[str]) -> np.ndarray:
    return np.array([[table[state][cause] for cause in causes] for state in table])


@settings(max_examples=40, deadline=None)
@given(data=st.data(), network=family_networks())
def test_conditional_is_the_family_conditional(data: st.DataObject, network: Network) -> None:
    """Engine.conditional(f, e) is P(f | cause, e) by enumeration."""
    model = load(network)
    names = vocabulary(network[1], network[2])
    name = data.draw(st.sampled_from(sorted(names)))
    hard = {k: v for k, v in data.draw(evidence(names)).items() if k != name}
    got = model._compiled.engine.conditional(name, hard)
    base = joint(network, hard)
    for j, state in enumerate(names[name]):
        with_state = joint(network, {**hard, name: state})
        for i, cause in enumerate(network[0]):
            if base[cause] > 0:
                assert got[j, i] == pytest.approx(with_state[cause] / base[cause], rel=1e-12)


def test_families_follow_the_vocabulary() -> None:
    """A parent keeps its place; children join it in vocabulary order."""
    assert families(["a", "b", "c", "d"], {"d": "a", "b": "c"}) == {
        "a": ("a", "d"),
        "c": ("c", "b"),
    }


# --------------------------------------------------------------------------- shipped tables


def test_the_shipped_families(model: calfdx.Model) -> None:
    assert model._compiled.tables.parents == {
        "redness": "warmth",
        "whole_leg_swollen": "swelling",
        "calf_difference_3cm": "swelling",
        "pitting_oedema": "swelling",
        "paralysis_or_cast": "recent_immobilization",
        "bedridden_or_major_surgery": "recent_immobilization",
        "ultrasound_proximal": "ultrasound",
    }
    network = model.to_pgmpy()
    assert ("swelling", "calf_difference_3cm") in network.edges()
    assert set(network.get_parents("redness")) == {"cause", "warmth"}


@pytest.mark.parametrize(
    "signs",
    [
        {"swelling": "yes", "calf_difference_3cm": "yes", "pitting_oedema": "yes"},
        {"warmth": "yes", "redness": "yes"},
        {"ultrasound": "positive", "ultrasound_proximal": "positive"},
    ],
)
def test_one_swollen_leg_is_not_counted_three_times(
    signs: dict[str, str], model: calfdx.Model
) -> None:
    """Signs of one family raise the odds of DVT less than the product of their own ratios.

    Under naive Bayes the likelihood ratio of signs that report the same swelling (or the same
    inflammation, or the same veins scanned twice) is the product of their ratios; the families
    make the combined ratio smaller than that product, as dependent signs should.
    """
    local = model.with_setting("suspected_dvt")
    prior = local.prior["dvt"]

    def ratio(findings: dict[str, str]) -> float:
        p = local.diagnose(findings).dvt_probability
        return float((p / (1 - p)) / (prior / (1 - prior)))

    product = math.prod(ratio({name: state}) for name, state in signs.items())
    assert ratio(signs) < 0.8 * product


BROKEN_FAMILIES = [
    ("unknown parent", "findings.csv", "child,history,a|b,Q?,nowhere", r"line 4.*unknown parent"),
    ("own parent", "findings.csv", "child,history,a|b,Q?,child", r"cannot be its own parent"),
]


def _family_folder(tmp_path: Path) -> Path:
    prior = {"dvt": 0.3, "cramp": 0.7}
    likelihood = {
        "swelling": {"yes": {"dvt": 0.6, "cramp": 0.1}, "no": {"dvt": 0.4, "cramp": 0.9}}
    }
    children: Children = {
        "oedema": (
            "swelling",
            {
                "yes": {"yes": {"dvt": 0.7, "cramp": 0.5}, "no": {"dvt": 0.3, "cramp": 0.5}},
                "no": {"yes": {"dvt": 0.1, "cramp": 0.05}, "no": {"dvt": 0.9, "cramp": 0.95}},
            },
        )
    }
    return write_tables(tmp_path / "toy", prior, likelihood, children)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("file", "old", "new", "match"),
    [
        (
            "findings.csv",
            ",swelling\n",
            ",nowhere\n",
            r"findings.csv, line 3, column 'parent': unknown parent",
        ),
        ("findings.csv", ",swelling\n", ",oedema\n", r"cannot be its own parent"),
        (
            "likelihoods.csv",
            "oedema,yes,dvt,yes,",
            "oedema,yes,dvt,,",
            r"likelihoods.csv, line \d+, column 'parent_state': .*parent 'swelling'.*It is empty",
        ),
        (
            "likelihoods.csv",
            "oedema,yes,dvt,yes,",
            "oedema,yes,dvt,maybe,",
            r"Allowed states: \['yes', 'no'\]. Got 'maybe'",
        ),
        (
            "likelihoods.csv",
            "swelling,yes,dvt,,",
            "swelling,yes,dvt,yes,",
            r"has no parent in findings.csv, so parent_state must be empty",
        ),
        (
            "likelihoods.csv",
            "oedema,yes,dvt,no,0.1,",
            "oedema,yes,dvt,no,0.2,",
            r"P\(oedema \| swelling=no, dvt\) over the states \['yes', 'no'\] sums to 1.1",
        ),
    ],
)
def test_broken_families_name_the_place(
    tmp_path: Path, file: str, old: str, new: str, match: str
) -> None:
    folder = _family_folder(tmp_path)
    calfdx.load_model(folder)  # valid before the edit
    _edit(folder / file, old, new)
    with pytest.raises(calfdx.TableError, match=match):
        calfdx.load_model(folder)


def test_a_grandparent_is_refused(tmp_path: Path) -> None:
    folder = _family_folder(tmp_path)
    _edit(folder / "findings.csv", "swelling,history,yes|no,What about swelling?,\n",
          "swelling,history,yes|no,What about swelling?,oedema\n")  # fmt: skip
    with pytest.raises(
        calfdx.TableError, match=r"cannot be its own parent|has a parent of its own"
    ):
        calfdx.load_model(folder)


def test_a_missing_parent_state_is_named(tmp_path: Path) -> None:
    folder = _family_folder(tmp_path)
    path = folder / "likelihoods.csv"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("oedema,")]
    kept = [line for line in path.read_text().splitlines() if line.startswith("oedema,")]
    path.write_text("\n".join(lines + [k for k in kept if ",no,0" not in k[:25]]) + "\n")
    with pytest.raises(
        calfdx.TableError, match=r"no row for finding 'oedema', cause '\w+', parent state 'no'"
    ):
        calfdx.load_model(folder)


def test_the_engine_says_which_tables_evidence_depends_on(model: calfdx.Model) -> None:
    """A child's evidence depends on its parent's table; an unobserved child's does not."""
    engine = model._compiled.engine
    assert engine.depends_on({"redness": "yes"}) == ["warmth", "redness"]
    assert engine.depends_on({"warmth": "yes", "age": "65_plus"}) == ["age", "warmth"]
    assert engine.depends_on({}, {"calf_difference_3cm": (0.7, 0.3)}) == [
        "swelling",
        "calf_difference_3cm",
    ]


def test_family_rows_hold_the_family_likelihood(model: calfdx.Model) -> None:
    """family_table()[family_row(digits)] is P(those states | cause), unknowns summed out."""
    engine = model._compiled.engine
    slot = engine.families.index(engine.family("swelling"))
    for hard in ({"pitting_oedema": "yes"}, {"swelling": "no", "whole_leg_swollen": "yes"}, {}):
        digits = {name: engine.states[name].index(state) for name, state in hard.items()}
        row = engine.family_table(slot)[engine.family_row(slot, digits)]
        np.testing.assert_allclose(row, engine.likelihood(hard), rtol=1e-14)
