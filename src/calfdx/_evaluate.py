"""Measure how well a model does on labelled cases (real, or simulated by ``_simulate``).

A cohort simulated from a model measures the model against its own assumptions (a model is
right by construction about the patients it generates): it shows how often the findings
can separate the causes, and what the DVT alert threshold trades, *if the tables are
right*. Measure on real labelled cases to learn whether they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from ._batch import score_frame
from ._checks import strict_json
from ._evidence import check_threshold
from ._exceptions import EvidenceError, InvalidOptionError
from ._schema import DVT
from ._simulate import CAUSE_COLUMN

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from ._core import Compiled

__all__ = ["CAUSE_COLUMN", "Evaluation"]

FloatArray = npt.NDArray[np.float64]
#: Bins of P(DVT) for the calibration table.
CALIBRATION_BINS: Final = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def _split(compiled: Compiled, cases: pd.DataFrame) -> tuple[pd.DataFrame, npt.NDArray[np.intp]]:
    import pandas as pd

    if not isinstance(cases, pd.DataFrame) or CAUSE_COLUMN not in cases.columns:
        msg = (
            "cases must be a pandas DataFrame with a 'cause' column (the true cause) and "
            "finding columns, such as Model.simulate() returns."
        )
        raise EvidenceError(msg)
    causes = list(compiled.engine.causes)
    labels = cases[CAUSE_COLUMN].astype(object)
    index = pd.Index(causes).get_indexer(pd.Index(labels))
    bad = index < 0
    if bad.any():
        shown = sorted({str(v) for v in labels[bad]})[:5]
        msg = (
            f"{int(bad.sum())} rows of cases have a cause that is not in the model "
            f"(e.g. {shown}). Known causes: {', '.join(causes)}."
        )
        raise EvidenceError(msg)
    return cases.drop(columns=[CAUSE_COLUMN]), index


@dataclass(frozen=True, slots=True, repr=False)
class Evaluation:
    """How well a model did on labelled cases.

    Attributes
    ----------
    n : int
        Number of cases.
    top1_accuracy, top3_accuracy : float
        Fraction of cases whose true cause ranks first / in the top three.
    log_loss : float
        Mean of -log P(true cause), natural log.
    brier : float
        Mean over cases of the sum over causes of (P(cause) - [cause is true])^2.
    dvt_auc : float
        ROC AUC of P(DVT) for DVT against every other cause (NaN without both).
    threshold : float
        The DVT alert threshold used below.
    sensitivity, specificity, ppv, npv : float
        Of the DVT alert at ``threshold`` (NaN when undefined).
    counts : Mapping[str, int]
        True and false positives and negatives of the alert.
    calibration : pandas.DataFrame
        By bin of P(DVT): cases, mean P(DVT), observed fraction with DVT.
    roc : pandas.DataFrame
        The ROC curve of P(DVT) for DVT: one row per distinct P(DVT) as the alert
        ``threshold`` (from ``inf``, no alert), with the ``sensitivity`` and
        ``specificity`` of an alert at ``P(DVT) >= threshold``. Not in :meth:`to_dict`
        (as long as the cohort).
    """

    n: int
    top1_accuracy: float
    top3_accuracy: float
    log_loss: float
    brier: float
    dvt_auc: float
    threshold: float
    sensitivity: float
    specificity: float
    ppv: float
    npv: float
    counts: dict[str, int]
    calibration: pd.DataFrame
    roc: pd.DataFrame

    def plot_calibration(self, ax: Axes | None = None) -> Axes:
        """Draw the reliability diagram of P(DVT) from :attr:`calibration` (matplotlib).

        One point per bin with cases (its area grows with the cases), the diagonal of
        perfect calibration, and the alert threshold. Needs ``calfdx[plot]``.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import calfdx
        >>> model = calfdx.load_model()
        >>> ax = calfdx.evaluate(model, model.simulate(2000, seed=1)).plot_calibration()
        >>> ax.get_xlabel()
        'mean predicted P(DVT)'
        """
        from ._plots import plot_calibration

        return plot_calibration(self, ax)

    def plot_roc(self, ax: Axes | None = None) -> Axes:
        """Draw the ROC curve of P(DVT), with the alert's operating point (matplotlib).

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import calfdx
        >>> model = calfdx.load_model()
        >>> ax = calfdx.evaluate(model, model.simulate(2000, seed=1)).plot_roc()
        >>> ax.get_ylabel()
        'sensitivity'
        """
        from ._plots import plot_roc

        return plot_roc(self, ax)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary (NaN and infinities as None).

        The calibration bins become text such as ``"(0.01, 0.02]"``.
        """
        return strict_json(
            {
                "n": self.n,
                "top1_accuracy": self.top1_accuracy,
                "top3_accuracy": self.top3_accuracy,
                "log_loss": self.log_loss,
                "brier": self.brier,
                "dvt_auc": self.dvt_auc,
                "threshold": self.threshold,
                "sensitivity": self.sensitivity,
                "specificity": self.specificity,
                "ppv": self.ppv,
                "npv": self.npv,
                "counts": dict(self.counts),
                "calibration": self.calibration.reset_index().to_dict(orient="records"),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the scalar metrics as a one-column DataFrame."""
        import pandas as pd

        data = {k: v for k, v in self.to_dict().items() if k not in ("counts", "calibration")}
        return pd.DataFrame({"value": data})

    def __str__(self) -> str:
        c = self.counts
        return "\n".join(
            [
                f"Evaluation on {self.n} cases",
                f"  top-1 accuracy {self.top1_accuracy:.3f}, top-3 {self.top3_accuracy:.3f}",
                f"  log loss {self.log_loss:.3f}, Brier {self.brier:.3f}, DVT AUC "
                f"{self.dvt_auc:.3f}",
                f"  DVT alert at {self.threshold:g}: sensitivity {self.sensitivity:.3f}, "
                f"specificity {self.specificity:.3f}, PPV {self.ppv:.3f}, NPV {self.npv:.3f} "
                f"(TP {c['tp']}, FP {c['fp']}, TN {c['tn']}, FN {c['fn']})",
            ]
        )

    def __repr__(self) -> str:
        return (
            f"<Evaluation n={self.n} top1={self.top1_accuracy:.3f} "
            f"dvt_sensitivity={self.sensitivity:.3f}>"
        )


def _ratio(a: int, b: int) -> float:
    return a / b if b else math.nan


def _roc(scores: FloatArray, positive: npt.NDArray[np.bool_]) -> pd.DataFrame:
    """Return sensitivity and specificity of ``scores >= t`` at every distinct score t."""
    import pandas as pd

    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1] if len(ranked) else []
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    tp = np.r_[0, np.cumsum(hits)[last]]
    fp = np.r_[0, np.cumsum(~hits)[last]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {
                "threshold": np.r_[np.inf, ranked[last]],
                "sensitivity": tp / n_pos if n_pos else np.full(len(tp), np.nan),
                "specificity": 1 - fp / n_neg if n_neg else np.full(len(fp), np.nan),
            }
        )


def _auc(scores: FloatArray, positive: npt.NDArray[np.bool_]) -> float:
    from scipy.stats import rankdata

    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        return math.nan
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _evaluate(compiled: Compiled, cases: pd.DataFrame, dvt_threshold: float | None) -> Evaluation:
    """Return :func:`calfdx.evaluate` on compiled tables."""
    import pandas as pd

    threshold = compiled.dvt_threshold if dvt_threshold is None else check_threshold(dvt_threshold)
    findings, truth = _split(compiled, cases)
    scores = score_frame(compiled, findings, threshold, ())
    n_causes = len(compiled.engine.causes)
    probabilities = scores.iloc[:, :n_causes].to_numpy()
    n = len(truth)
    rows = np.arange(n)
    p_true = probabilities[rows, truth]
    rank = (probabilities > p_true[:, None]).sum(axis=1)
    onehot = np.zeros_like(probabilities)
    onehot[rows, truth] = 1.0
    dvt = compiled.engine.causes.index(DVT)
    p_dvt = probabilities[:, dvt]
    is_dvt = truth == dvt
    alert = p_dvt >= threshold
    tp, fp = int((alert & is_dvt).sum()), int((alert & ~is_dvt).sum())
    tn, fn = int((~alert & ~is_dvt).sum()), int((~alert & is_dvt).sum())
    bins = pd.cut(p_dvt, bins=list(CALIBRATION_BINS), include_lowest=True)
    calibration = (
        pd.DataFrame({"bin": bins, "p_dvt": p_dvt, "dvt": is_dvt})
        .groupby("bin", observed=False)
        .agg(cases=("dvt", "size"), mean_p_dvt=("p_dvt", "mean"), observed_dvt=("dvt", "mean"))
    )
    with np.errstate(divide="ignore"):
        log_loss = float(-np.log(p_true).mean()) if n else math.nan
    return Evaluation(
        n=n,
        top1_accuracy=float((rank == 0).mean()) if n else math.nan,
        top3_accuracy=float((rank < 3).mean()) if n else math.nan,
        log_loss=log_loss,
        brier=float(((probabilities - onehot) ** 2).sum(axis=1).mean()) if n else math.nan,
        dvt_auc=_auc(p_dvt, is_dvt),
        threshold=threshold,
        sensitivity=_ratio(tp, tp + fn),
        specificity=_ratio(tn, tn + fp),
        ppv=_ratio(tp, tp + fp),
        npv=_ratio(tn, tn + fn),
        counts={"tp": tp, "fp": fp, "tn": tn, "fn": fn},
        calibration=calibration,
        roc=_roc(p_dvt, is_dvt),
    )


def _threshold_for_sensitivity(
    compiled: Compiled, cases: pd.DataFrame, sensitivity: float
) -> float:
    """Return :func:`calfdx.threshold_for_sensitivity` on compiled tables."""
    target = check_threshold(sensitivity, "sensitivity")
    if target <= 0:
        msg = "sensitivity must be greater than 0."
        raise InvalidOptionError(msg)
    findings, truth = _split(compiled, cases)
    dvt = compiled.engine.causes.index(DVT)
    scores = score_frame(compiled, findings, compiled.dvt_threshold, ())
    p_dvt = np.sort(scores["dvt_probability"].to_numpy()[truth == dvt])[::-1]
    if not len(p_dvt):
        msg = "cases has no DVT case: the sensitivity of the DVT alert is undefined."
        raise EvidenceError(msg)
    keep = math.ceil(target * len(p_dvt) - 1e-9)
    return float(p_dvt[keep - 1])
