"""Figures on matplotlib (the ``calfdx[plot]`` extra); each draws on an Axes and returns it.

Imported only by the ``plot`` methods of results and by :func:`calfdx.plot_targets`, so
matplotlib stays off the import path of ``import calfdx``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Protocol

import numpy as np

from ._checks import positive_count
from ._exceptions import InvalidOptionError
from ._format import percent
from ._schema import DVT

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from ._core import Posterior

__all__ = [
    "TARGET_COLUMNS",
    "plot_calibration",
    "plot_diagnosis",
    "plot_explanation",
    "plot_roc",
    "plot_targets",
]

#: Columns :func:`plot_targets` needs (those of ``Model.check_targets()``).
TARGET_COLUMNS: Final = (
    "target_id",
    "statistic",
    "value",
    "ci_low",
    "ci_high",
    "model_value",
    "met",
)


class _Step(Protocol):
    """One weight of a waterfall (a :class:`~calfdx.Contribution`)."""

    @property
    def finding(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def weight(self) -> float: ...

    @property
    def effect(self) -> str: ...


class Waterfall(Protocol):
    """What :func:`plot_explanation` draws (an :class:`~calfdx.Explanation`)."""

    @property
    def label(self) -> str: ...

    @property
    def records(self) -> Sequence[_Step]: ...

    @property
    def prior_probability(self) -> float: ...

    @property
    def posterior_probability(self) -> float: ...

    @property
    def prior_log_odds(self) -> float: ...

    @property
    def posterior_log_odds(self) -> float: ...


class Scored(Protocol):
    """What :func:`plot_calibration` and :func:`plot_roc` draw (an :class:`~calfdx.Evaluation`)."""

    @property
    def n(self) -> int: ...

    @property
    def threshold(self) -> float: ...

    @property
    def sensitivity(self) -> float: ...

    @property
    def specificity(self) -> float: ...

    @property
    def dvt_auc(self) -> float: ...

    @property
    def calibration(self) -> pd.DataFrame: ...

    @property
    def roc(self) -> pd.DataFrame: ...


# Colour-blind-safe pair (Okabe-Ito blue and vermillion), and a neutral grey.
_FOR: Final = "#0072B2"
_AGAINST: Final = "#D55E00"
_GREY: Final = "#999999"


def _axes(what: str, ax: Axes | None, size: tuple[float, float]) -> Axes:
    """Return ``ax``, or the Axes of a new figure of ``size`` inches."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        msg = f'{what} needs matplotlib: pip install "calfdx[plot]".'
        raise InvalidOptionError(msg) from error
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def plot_diagnosis(result: Posterior, k: int = 10, ax: Axes | None = None) -> Axes:
    """Draw the ``k`` most probable causes as ranked bars; see :meth:`Diagnosis.plot`."""
    k = positive_count(k, "k")
    shown = result.top(min(k, len(result.posterior)))
    ax = _axes("Diagnosis.plot", ax, (6.0, 0.35 * len(shown) + 1.4))
    causes = [cause for cause, _ in shown][::-1]
    values = [p for _, p in shown][::-1]
    alert = _AGAINST if result.dvt_alert else _FOR
    colours = [alert if cause == DVT else _GREY for cause in causes]
    bars = ax.barh([result.labels[c] for c in causes], values, color=colours)
    ax.bar_label(bars, labels=[percent(v) for v in values], padding=2, fontsize="small")
    ax.axvline(
        result.dvt_threshold,
        color=_AGAINST,
        linestyle="--",
        linewidth=1,
        label=f"DVT alert threshold ({percent(result.dvt_threshold)})",
    )
    ax.legend(loc="lower right", fontsize="small")
    ax.set_xlim(0, min(1.0, max(values) * 1.2 + 0.02))
    ax.set_xlabel("posterior probability")
    state = "DVT alert" if result.dvt_alert else "no DVT alert"
    ax.set_title(f"P(DVT) = {percent(result.dvt_probability)}: {state}", loc="left")
    return ax


def plot_explanation(explanation: Waterfall, ax: Axes | None = None) -> Axes:
    """Draw the log-odds waterfall from prior to posterior; see :meth:`Explanation.plot`."""
    records = explanation.records
    ax = _axes("Explanation.plot", ax, (6.0, 0.35 * len(records) + 1.8))
    prior, posterior = explanation.prior_log_odds, explanation.posterior_log_odds
    labels = [f"prior ({percent(explanation.prior_probability)})"]
    lefts, widths, colours = [0.0], [prior], [_GREY]
    level = prior
    for record in records:
        labels.append(f"{record.finding} = {record.state}")
        lefts.append(level)
        widths.append(record.weight)
        colours.append(
            _GREY if record.effect == "neutral" else (_FOR if record.weight > 0 else _AGAINST)
        )
        level += record.weight
    labels.append(f"posterior ({percent(explanation.posterior_probability)})")
    lefts.append(0.0)
    widths.append(posterior)
    colours.append(_GREY)
    rows = np.arange(len(labels))[::-1]
    finite = [w if math.isfinite(w) else 0.0 for w in widths]
    ax.barh(rows, finite, left=lefts, color=colours, edgecolor="white")
    # Each weight's value at the end of its bar, and a tick joining it to the next bar.
    for row, left, width in zip(rows[1:-1], lefts[1:-1], finite[1:-1], strict=True):
        ax.text(
            left + width,
            row,
            f" {width:+.2f}" if width >= 0 else f"{width:+.2f} ",
            va="center",
            ha="left" if width >= 0 else "right",
            fontsize="small",
        )
    steps = np.cumsum([prior, *(r.weight for r in records)])
    for row, value in zip(rows[:-1], steps, strict=True):
        ax.plot([value, value], [row - 0.4, row - 0.6], color="black", linewidth=0.8)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(rows, labels)
    ax.set_xlabel(f"log-odds of {explanation.label}")
    ax.set_title(f"Why {explanation.label}: weights of evidence")
    return ax


def plot_calibration(evaluation: Scored, ax: Axes | None = None) -> Axes:
    """Draw the reliability diagram of P(DVT); see :meth:`Evaluation.plot_calibration`."""
    ax = _axes("Evaluation.plot_calibration", ax, (4.5, 4.5))
    table = evaluation.calibration
    filled = table[table["cases"] > 0]
    ax.plot([0, 1], [0, 1], color=_GREY, linewidth=1, linestyle=":", label="perfect")
    sizes = 20 + 180 * np.sqrt(filled["cases"].to_numpy() / max(1, int(table["cases"].max())))
    ax.plot(filled["mean_p_dvt"], filled["observed_dvt"], color=_FOR, linewidth=1)
    ax.scatter(
        filled["mean_p_dvt"], filled["observed_dvt"], s=sizes, color=_FOR, label="bins of P(DVT)"
    )
    ax.axvline(evaluation.threshold, color=_AGAINST, linestyle="--", linewidth=1, label="alert")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted P(DVT)")
    ax.set_ylabel("observed fraction with DVT")
    ax.set_title(f"Calibration of P(DVT), {evaluation.n} cases", loc="left")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_roc(evaluation: Scored, ax: Axes | None = None) -> Axes:
    """Draw the ROC curve of P(DVT); see :meth:`Evaluation.plot_roc`."""
    ax = _axes("Evaluation.plot_roc", ax, (4.5, 4.5))
    roc = evaluation.roc
    ax.plot([0, 1], [0, 1], color=_GREY, linewidth=1, linestyle=":")
    ax.plot(
        1 - roc["specificity"],
        roc["sensitivity"],
        color=_FOR,
        linewidth=1.5,
        label=f"P(DVT), AUC {evaluation.dvt_auc:.3f}",
    )
    ax.plot(
        [1 - evaluation.specificity],
        [evaluation.sensitivity],
        marker="o",
        color=_AGAINST,
        linestyle="none",
        label=f"alert at {percent(evaluation.threshold)}",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(f"DVT alert, {evaluation.n} cases", loc="left")
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_targets(frame: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Draw a forest plot of the model against published targets.

    Each row is a target: its published value with its confidence interval (a black line
    and square), and the model's value (a circle: blue when the target is met, vermillion
    when not).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per target, with the columns ``target_id``, ``statistic``, ``value``,
        ``ci_low``, ``ci_high``, ``model_value`` and ``met`` (as ``Model.check_targets()``
        returns). Missing interval bounds draw no line.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default: a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidOptionError
        ``frame`` lacks a column, or has no rows.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd, calfdx
    >>> targets = pd.DataFrame({
    ...     "target_id": ["dvt_prevalence"], "statistic": ["prevalence"], "value": [0.045],
    ...     "ci_low": [0.02], "ci_high": [0.06], "model_value": [0.05], "met": [True]})
    >>> ax = calfdx.plot_targets(targets)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['dvt_prevalence (prevalence)']
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        msg = f"plot_targets takes a DataFrame. Got {type(frame).__name__} instead."
        raise InvalidOptionError(msg)
    missing = [column for column in TARGET_COLUMNS if column not in frame.columns]
    if missing or frame.empty:
        msg = (
            f"plot_targets needs the columns {', '.join(TARGET_COLUMNS)} and at least one row. "
            f"Missing: {', '.join(missing) or 'none'}; rows: {len(frame)}."
        )
        raise InvalidOptionError(msg)
    ax = _axes("plot_targets", ax, (6.0, 0.4 * len(frame) + 1.4))
    rows = np.arange(len(frame))[::-1]
    value, low, high, model = (
        pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        for column in ("value", "ci_low", "ci_high", "model_value")
    )
    met = frame["met"].astype(bool).to_numpy()
    for row, lo, hi in zip(rows, low, high, strict=True):
        if math.isfinite(lo) and math.isfinite(hi):
            ax.plot([lo, hi], [row, row], color="black", linewidth=1.2)
    ax.plot(value, rows, marker="s", color="black", linestyle="none", label="published")
    for flag, colour, name in ((True, _FOR, "model (met)"), (False, _AGAINST, "model (not met)")):
        chosen = met == flag
        if chosen.any():
            ax.plot(
                model[chosen],
                rows[chosen],
                marker="o",
                markersize=7,
                markerfacecolor="none",
                markeredgewidth=1.5,
                color=colour,
                linestyle="none",
                label=name,
            )
    labels = [f"{t} ({s})" for t, s in zip(frame["target_id"], frame["statistic"], strict=True)]
    ax.set_yticks(rows, labels)
    ax.set_ylim(-0.6, len(frame) - 0.4)
    ax.set_xlabel("value")
    ax.set_title("Model against published targets", loc="left")
    ax.legend(loc="best", fontsize="small")
    return ax
