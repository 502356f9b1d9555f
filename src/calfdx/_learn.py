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
count (the cases are taken as missing at random).

A finding with a parent finding has one distribution per (state of the parent, cause),
each with its own pseudo-count (the ``ess`` of its rows); a case counts towards the one of
its parent's state, so it counts for the child only when the parent was observed too. A
case whose child is known but whose parent is unknown is **left out of the child's update**
(it still counts for the prior and for every other finding it has). Sharing it over the
parent's states (an expected-count update) was not chosen: with the parent unknown, the
exact posterior of the child's numbers is a mixture of Dirichlets, one per parent state,
and the expected-count update replaces it by one Dirichlet whose counts are weighted by the
current numbers themselves (one step of EM): an approximation that is not conjugate, gives
fractional counts, and an ``ess`` that counts the case in full though its parent was not
seen. Leaving the case out keeps
the update exact, the posterior given the cases complete for the child and its parent, and
unbiased when whether the parent is recorded does not depend on the child's state (values
missing completely at random, as :meth:`Model.simulate` hides them).

This is pgmpy's ``BayesianEstimator`` with ``prior_type="dirichlet"`` and these
pseudo-counts, computed by exact counting; pgmpy also counts, for each variable, the rows
where the variable and its parents are observed.
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

    from ._core import Compiled

__all__ = ["fit"]

FloatArray = npt.NDArray[np.float64]
Rows = list[dict[str, str]]


def _fitted_rows(
    group: Rows,
    values: list[float],
    ess: float,
    cases: int,
    total: int,
    strength: float,
    given: str = "",
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
            f"{total} labelled cases{given}]"
        )
        row["reasoning"] = f"{row['reasoning']} {note}".strip()


def fit(
    compiled: Compiled,
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
    tables = compiled.tables
    findings_frame, truth = _split(compiled, cases)
    codes, soft = encode_cases(findings_frame, dict(compiled.findings), ())  # -1: unknown
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

    position = {f.id: j for j, f in enumerate(tables.findings)}

    def change_likelihoods(rows: Rows) -> None:
        by_key: dict[tuple[str, str, str], Rows] = {}
        for row in rows:
            key = (row["finding"], row["cause"], row.get("parent_state") or "")
            by_key.setdefault(key, []).append(row)
        for j, finding in enumerate(tables.findings):
            # A finding without parent is one block, parent state "", with parent code 0.
            parent_states = (
                tables.findings[position[finding.parent]].states if finding.parent else ("",)
            )
            parent_codes = (
                codes[position[finding.parent]] if finding.parent else np.zeros(n, np.int8)
            )
            observed = (codes[j] >= 0) & (parent_codes >= 0)  # a child needs its parent too
            counts = np.zeros((len(parent_states), n_causes, len(finding.states)))
            np.add.at(counts, (parent_codes[observed], truth[observed], codes[j][observed]), 1.0)
            table = tables.likelihood[finding.id].reshape(len(finding.states), -1, n_causes)
            ess = tables.likelihood_ess[finding.id].reshape(-1, n_causes)
            for k, parent_state in enumerate(parent_states):
                given = f" having {finding.parent}={parent_state}" if parent_state else ""
                for i, cause in enumerate(causes):
                    group = by_key[(finding.id, cause, parent_state)]
                    order = [finding.states.index(row["state"]) for row in group]
                    pseudo = strength(ess[k, i])
                    total = counts[k, i].sum()
                    values = (table[:, k, i] * pseudo + counts[k, i]) / (pseudo + total)
                    _fitted_rows(
                        group,
                        [float(values[s]) for s in order],
                        pseudo + total,
                        int(total),
                        n,
                        pseudo,
                        given,
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
