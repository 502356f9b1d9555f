"""diagnose_batch equals diagnose() on every row, for every table the loader accepts.

Extreme but valid tables: likelihoods and priors down to 1e-300 (the loader refuses only 0
and 1), so that a joint group's raw product would underflow (1e-150 on three findings is
1e-450) unless the joint tables are built in log space.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import calfdx
from calfdx._batch import score_frame

from .tablewriter import Likelihoods, write_tables

Network = tuple[dict[str, float], Likelihoods]
TINY = [1e-150, 1e-160, 1e-170, 1e-300, 1e-30, 0.3, 0.05]


@st.composite
def extreme_distribution(draw: st.DrawFn, size: int) -> list[float]:
    """A distribution over ``size`` states: tiny values, and the rest on one state."""
    values = [draw(st.sampled_from(TINY)) for _ in range(size - 1)]
    rest = 1.0 - sum(values)
    # 1 - 1e-150 is 1.0 in floating point, which the loader refuses: keep the row within
    # the 1e-6 sum tolerance instead.
    values.append(rest if rest < 1.0 - 1e-7 else 1.0 - 1e-7)
    order = draw(st.permutations(range(size)))
    return [values[i] for i in order]


@st.composite
def extreme_networks(draw: st.DrawFn) -> Network:
    n_causes = draw(st.integers(2, 4))
    causes = ["dvt", *[f"cause_{i}" for i in range(1, n_causes)]]
    prior = dict(zip(causes, draw(extreme_distribution(n_causes)), strict=True))
    likelihood: dict[str, dict[str, dict[str, float]]] = {}
    for f in range(draw(st.integers(3, 9))):
        states = ["yes", "no"] if draw(st.booleans()) else ["s0", "s1", "s2"]
        table: dict[str, dict[str, float]] = {state: {} for state in states}
        for cause in causes:
            for state, p in zip(states, draw(extreme_distribution(len(states))), strict=True):
                table[state][cause] = p
        likelihood[f"f{f}"] = table
    return prior, likelihood


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(network=extreme_networks(), data=st.data())
def test_batch_equals_diagnose_on_extreme_tables(
    tmp_path_factory: pytest.TempPathFactory, kernel: str, network: Network, data: st.DataObject
) -> None:
    """Check every row's posterior, top cause and DVT alert equal diagnose()'s (1e-12)."""
    prior, likelihood = network
    model = calfdx.load_model(write_tables(tmp_path_factory.mktemp("x"), prior, likelihood))
    rows = data.draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    name: st.one_of(st.none(), st.sampled_from(list(states)))
                    for name, states in likelihood.items()
                }
            ),
            min_size=1,
            max_size=8,
        )
    )
    cases = pd.DataFrame(rows, columns=list(likelihood))
    scores = score_frame(model._compiled, cases, model.dvt_threshold, (), kernel=kernel)
    for i, row in enumerate(rows):
        expected = model.diagnose({k: v for k, v in row.items() if v is not None})
        got = scores.iloc[i]
        for cause, p in expected.posterior.items():
            assert abs(got[cause] - p) <= 1e-12, (cause, got[cause], p)
        best = max(expected.posterior.values())
        assert expected.posterior[got["top_cause"]] >= best - 1e-12
        if abs(expected.dvt_probability - model.dvt_threshold) > 1e-12:
            assert bool(got["dvt_alert"]) is expected.dvt_alert


def test_the_issue_example_underflows_no_more(tmp_path: Path) -> None:
    """Check the issue's example: a joint group whose raw product underflows.

    f0-f5 share the first joint group and f6 starts the second. Under DVT, yes on f0, f1 and
    f2 has probability 1e-150 x 1e-160 x 1e-30 = 1e-340, which underflows to 0 unless the
    group's table is built in log space; under cramp 3e-301, which does not. f6 = yes then
    favours DVT by 3e149, so DVT is in truth 1e110 times likelier than cramp.
    """
    prior = {"dvt": 0.5, "cramp": 0.5}
    yes = {"f0": (1e-150, 1e-150), "f1": (1e-160, 1e-150), "f2": (1e-30, 0.3), "f6": (0.3, 1e-150)}
    likelihood = {}
    for i in range(7):
        dvt, cramp = yes.get(f"f{i}", (0.5, 0.5))
        likelihood[f"f{i}"] = {
            "yes": {"dvt": dvt, "cramp": cramp},
            "no": {"dvt": min(1.0 - dvt, 1.0 - 1e-7), "cramp": min(1.0 - cramp, 1.0 - 1e-7)},
        }
    model = calfdx.load_model(write_tables(tmp_path, prior, likelihood))
    patient = {"f0": "yes", "f1": "yes", "f2": "yes", "f6": "yes"}
    one = model.diagnose(patient)
    assert one.top_cause == "dvt"
    assert one.dvt_alert
    scores = calfdx.diagnose_batch(pd.DataFrame([patient]), model=model)
    assert scores.loc[0, "top_cause"] == "dvt"
    assert bool(scores.loc[0, "dvt_alert"])
    assert scores.loc[0, "dvt"] == pytest.approx(one.dvt_probability, abs=1e-12)
