r"""Learn the tables from labelled cases by Bayesian updating.

The current tables are the prior: each distribution (the prior over the causes; for each
finding and cause, the distribution over the finding's states) becomes a Dirichlet with
pseudo-counts :math:`\alpha_s = p_s N`, where :math:`N` is ``prior_strength`` or, by
default, the number's effective sample size (the ``ess`` column, or the default for its
source type). With :math:`n_s` cases in state :math:`s`, the updated number is the
posterior mean

.. math::

    p'_s = \frac{p_s N + n_s}{N + \sum_{s'} n_{s'}} ,

and its effective sample size becomes :math:`N + \sum n`. A missing finding value adds no
count (the cases are taken as missing at random). This is pgmpy's ``BayesianEstimator``
with ``prior_type="dirichlet"`` and these pseudo-counts, computed by exact counting.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ._batch import encode_cases
from ._checks import describe, pseudo_count
from ._edit import _number, _rewrite
from ._evaluate import _split
from ._exceptions import EvidenceError, InvalidOptionError

if TYPE_CHECKING:
    import pandas as pd

    from ._model import Model

__all__ = ["fit"]

FloatArray = npt.NDArray[np.float64]
Rows = list[dict[str, str]]


def _fitted_rows(
    group: Rows, values: list[float], ess: float, cases: int, total: int, strength: float
) -> None:
    """Write the updated numbers into one distribution's rows, summing exactly to 1."""
    texts = [_number(v) for v in values]
    largest = int(np.argmax(values))
    texts[largest] = _number(values[largest] + 1.0 - sum(float(t) for t in texts))
    for row, text in zip(group, texts, strict=True):
        old = row["probability"]
        row["probability"] = text
        row["ess"] = _number(ess)
        note = (
            f"[fitted: Bayesian update of {old} (pseudo-count {strength:g}) with {cases} of "
            f"{total} labelled cases]"
        )
        row["reasoning"] = f"{row['reasoning']} {note}".strip()


def fit(
    model: Model,
    cases: pd.DataFrame,
    *,
    prior_strength: float | None = None,
    update_prior: bool = True,
) -> dict[str, bytes]:
    """Return table files updated with labelled cases; see :meth:`Model.fit`."""
    if prior_strength is not None:
        # The fitted rows' ess (prior_strength + the counts) must load back: same range.
        prior_strength = pseudo_count(prior_strength, "prior_strength")
    if not isinstance(update_prior, bool | np.bool_):
        msg = f"update_prior must be True or False. Got {describe(update_prior)} instead."
        raise InvalidOptionError(msg)
    tables = model._tables
    findings_frame, truth = _split(model, cases)
    codes, soft = encode_cases(findings_frame, dict(model.findings), ())  # -1: unknown
    if soft:
        rows = sorted(soft)[:5]
        msg = (
            f"fit counts answers, so it needs hard findings; {len(soft)} rows of cases hold "
            f"soft evidence (positions {rows}{', ...' if len(soft) > 5 else ''}). Give their "
            "states, or NaN where the answer is not known."
        )
        raise EvidenceError(msg)
    n_causes = len(tables.causes)
    n = len(truth)
    causes = [c.id for c in tables.causes]

    def strength(ess: float) -> float:
        return float(prior_strength) if prior_strength is not None else float(ess)

    def change_likelihoods(rows: Rows) -> None:
        by_key: dict[tuple[str, str], Rows] = {}
        for row in rows:
            by_key.setdefault((row["finding"], row["cause"]), []).append(row)
        for j, finding in enumerate(tables.findings):
            observed = codes[j] >= 0
            counts = np.zeros((n_causes, len(finding.states)))
            np.add.at(counts, (truth[observed], codes[j][observed]), 1.0)
            for i, cause in enumerate(causes):
                group = by_key[(finding.id, cause)]
                order = [finding.states.index(row["state"]) for row in group]
                p = tables.likelihood[finding.id][:, i]
                pseudo = strength(tables.likelihood_ess[finding.id][i])
                total = counts[i].sum()
                values = (p * pseudo + counts[i]) / (pseudo + total)
                _fitted_rows(
                    group, [float(values[s]) for s in order], pseudo + total, int(total), n, pseudo
                )

    def change_priors(rows: Rows) -> None:
        group = [row for row in rows if row["setting"] == tables.setting]
        counts = np.bincount(truth, minlength=n_causes).astype(float)
        order = [causes.index(row["cause"]) for row in group]
        pseudo = strength(float(tables.prior_ess.min()))
        values = (tables.prior * pseudo + counts) / (pseudo + n)
        _fitted_rows(group, [float(values[i]) for i in order], pseudo + n, n, n, pseudo)

    files = dict(tables.files)
    files["likelihoods.csv"] = _rewrite(_with_ess(files["likelihoods.csv"]), change_likelihoods)
    if update_prior:
        files["priors.csv"] = _rewrite(_with_ess(files["priors.csv"]), change_priors)
    return files


def _with_ess(data: bytes) -> bytes:
    """Add an empty ``ess`` column to a table that lacks one."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    if "ess" in [column.strip() for column in rows[0]]:
        return data
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*rows[0], "ess"])
    writer.writerows([*row, ""] for row in rows[1:] if row)
    return out.getvalue().encode("utf-8")
