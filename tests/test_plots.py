"""Every figure, compared with a small baseline image (matplotlib's compare_images).

Baselines live in ``tests/baseline_images``. They are drawn with the Agg backend, matplotlib's
default style, its bundled DejaVu Sans font and the hinting matplotlib's own tests use, at a
low resolution to keep them small. After a deliberate change to a figure, rewrite them with
``CALFDX_UPDATE_BASELINES=1 pytest tests/test_plots.py`` and look at the new images before
committing them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.testing import set_font_settings_for_testing, set_reproducibility_for_testing
from matplotlib.testing.compare import compare_images

import calfdx

BASELINES = Path(__file__).parent / "baseline_images"
TOLERANCE = 2.0  # RMS difference of pixel values (0-255) that still counts as equal
DPI = 50


@pytest.fixture(autouse=True)
def fixed_style() -> Iterator[None]:
    """Matplotlib's defaults with fixed fonts, so images do not depend on the machine."""
    mpl.use("Agg")
    with mpl.rc_context():
        mpl.rcdefaults()
        set_font_settings_for_testing()
        set_reproducibility_for_testing()
        yield
    plt.close("all")


def _check(ax: Axes, name: str, tmp_path: Path) -> None:
    baseline = BASELINES / f"{name}.png"
    actual = tmp_path / f"{name}.png"
    figure = ax.get_figure()
    assert isinstance(figure, Figure)
    figure.savefig(actual, dpi=DPI)
    if os.environ.get("CALFDX_UPDATE_BASELINES"):
        BASELINES.mkdir(exist_ok=True)
        baseline.write_bytes(actual.read_bytes())
    assert baseline.is_file(), f"no baseline {baseline}: run with CALFDX_UPDATE_BASELINES=1"
    difference = compare_images(str(baseline), str(actual), tol=TOLERANCE)
    assert difference is None, difference


FINDINGS = {
    "age": "65_plus",
    "side": "unilateral",
    "swelling": "yes",
    "calf_tenderness": "yes",
    "recent_immobilization": "yes",
}


@pytest.fixture(scope="module")
def evaluation() -> calfdx.Evaluation:
    model = calfdx.load_model()
    return calfdx.evaluate(model, model.simulate(3000, seed=5, missing=0.3))


TARGETS = pd.DataFrame(
    {
        "target_id": ["target_a", "target_b", "target_c", "target_d"],
        "statistic": ["prevalence", "prevalence", "sensitivity", "specificity"],
        "value": [0.045, 0.05, 0.9, 0.6],
        "ci_low": [0.02, 0.03, np.nan, 0.5],
        "ci_high": [0.06, 0.08, np.nan, 0.7],
        "model_value": [0.05, 0.1, 0.92, 0.55],
        "met": [True, False, True, True],
    }
)


def test_diagnosis_plot(tmp_path: Path) -> None:
    result = calfdx.diagnose(FINDINGS)
    ax = result.plot(k=8)
    assert len(ax.patches) == 8
    threshold_lines = [line for line in ax.get_lines() if np.asarray(line.get_xdata())[0] == 0.02]
    assert threshold_lines
    _check(ax, "diagnosis", tmp_path)


def test_diagnosis_plot_without_alert(tmp_path: Path) -> None:
    result = calfdx.diagnose(onset="sudden", pop_sensation="yes", thompson_test="positive")
    assert not result.dvt_alert
    _check(result.plot(k=4), "diagnosis_no_alert", tmp_path)


def test_explanation_plot(tmp_path: Path) -> None:
    why = calfdx.diagnose(FINDINGS).explain("dvt")
    ax = why.plot()
    bars = ax.patches
    assert len(bars) == len(why.records) + 2
    # The last step ends at the posterior log-odds, the posterior bar's width.
    last = bars[-2]
    assert isinstance(last, Rectangle)
    assert isinstance(bars[-1], Rectangle)
    assert last.get_x() + last.get_width() == pytest.approx(why.posterior_log_odds)
    assert bars[-1].get_width() == pytest.approx(why.posterior_log_odds)
    _check(ax, "explanation", tmp_path)


def test_calibration_plot(evaluation: calfdx.Evaluation, tmp_path: Path) -> None:
    _check(evaluation.plot_calibration(), "calibration", tmp_path)


def test_roc_plot(evaluation: calfdx.Evaluation, tmp_path: Path) -> None:
    ax = evaluation.plot_roc()
    point = ax.get_lines()[-1]
    assert np.asarray(point.get_ydata())[0] == evaluation.sensitivity
    _check(ax, "roc", tmp_path)


def test_targets_plot(tmp_path: Path) -> None:
    ax = calfdx.plot_targets(TARGETS)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        f"target_{x} ({s})" for x, s in zip("abcd", TARGETS["statistic"], strict=True)
    ]
    _check(ax, "targets", tmp_path)


def test_roc_table_matches_the_alert(evaluation: calfdx.Evaluation) -> None:
    """The ROC row at the alert threshold has the alert's sensitivity and specificity."""
    roc = evaluation.roc
    row = roc[roc["threshold"] >= evaluation.threshold].iloc[-1]
    assert row["sensitivity"] == pytest.approx(evaluation.sensitivity)
    assert row["specificity"] == pytest.approx(evaluation.specificity)
    area = np.trapezoid(roc["sensitivity"], 1 - roc["specificity"])
    assert area == pytest.approx(evaluation.dvt_auc, abs=1e-9)


def test_plots_draw_on_a_given_axes() -> None:
    _, axes = plt.subplots(1, 2)
    result = calfdx.diagnose(FINDINGS)
    assert result.plot(ax=axes[0]) is axes[0]
    assert result.explain().plot(ax=axes[1]) is axes[1]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: calfdx.plot_targets(TARGETS.drop(columns="met")), "Missing: met"),
        (lambda: calfdx.plot_targets(TARGETS.iloc[:0]), "rows: 0"),
        (lambda: calfdx.plot_targets(TARGETS.to_dict()), "takes a DataFrame"),  # type: ignore[arg-type]
        (lambda: calfdx.diagnose(FINDINGS).plot(k=0), "positive integer"),
    ],
)
def test_bad_plot_input(call: Callable[[], object], match: str) -> None:
    with pytest.raises(calfdx.InvalidOptionError, match=match):
        call()
