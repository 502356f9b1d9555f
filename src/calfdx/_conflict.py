r"""Is the picture outside the model? Compare the best fit with the model's own patients.

For the findings a patient has (hard findings; soft evidence is not counted), the fit of the
best-fitting cause is

.. math::

    \max_c P(e \mid c) = \max_c \prod_{F} P(e_F \mid c),

a product over the families of findings the evidence touches (a parent finding with its
children; a finding alone is a family of one), each family's probability exact (summed over
its parent when the parent is not observed). Unlike :math:`P(e)`, this does not penalise a
rare cause with a textbook picture. calfdx draws patients from the model itself (a cause
from the prior, then for each family the parent's state given that cause and the children's
states given the parent's and the cause, keeping the same findings observed as the patient's)
and computes the same quantity for each. When the patient's best fit is worse than that of
99% of the model's own patients, the picture fits none of the modelled causes well:
``conflict`` is True. The draws are seeded, so the answer is reproducible. The classic
conflict measure :math:`\log \prod_f P(e_f) - \log P(e)` (Jensen, *Bayesian Networks and
Decision Graphs*) is reported too, with exact :math:`P(e_f)` (a child's marginal over its
parent) and :math:`P(e)`: positive values mean the findings do not fit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from ._checks import strict_json

if TYPE_CHECKING:
    from ._core import Compiled, Posterior

__all__ = ["Conflict", "conflict"]

#: The evidence is "outside the model" below this fraction of the model's own patients.
CONFLICT_PERCENTILE: Final = 0.01
#: Patients drawn from the model for the comparison.
DRAWS: Final = 4000
SEED: Final = 20261122

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Conflict:
    """Whether the findings fit the model, compared with the model's own patients.

    Attributes
    ----------
    is_conflict : bool
        True when fewer than 1% of the model's own patients with the same findings
        observed have evidence as improbable as this patient's.
    log_evidence : float
        Natural log of P(findings) under the model.
    log_best_fit : float
        Natural log of max over causes of P(findings | cause).
    percentile : float
        Fraction of the model's own patients whose best fit is at most as good.
    conflict_measure : float
        ``log prod P(e_f) - log P(e)``; positive when the findings do not fit together.
    draws : int
        How many patients were drawn from the model.
    message : str
        One plain sentence.
    """

    is_conflict: bool
    log_evidence: float
    log_best_fit: float
    percentile: float
    conflict_measure: float
    draws: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary (non-finite numbers as None)."""
        return strict_json(
            {
                "is_conflict": self.is_conflict,
                "log_evidence": self.log_evidence,
                "log_best_fit": self.log_best_fit,
                "percentile": self.percentile,
                "conflict_measure": self.conflict_measure,
                "draws": self.draws,
                "message": self.message,
            }
        )


def conflict(
    compiled: Compiled, result: Posterior, draws: int = DRAWS, seed: int = SEED
) -> Conflict:
    """Return the conflict check of ``result``'s hard findings."""
    from scipy.special import logsumexp

    engine = compiled.engine
    tables = compiled.tables
    prior = tables.prior
    states = {
        name: compiled.findings[name].states.index(state)
        for name, state in result.findings.items()
    }
    if not states:
        return Conflict(False, 0.0, 0.0, 1.0, 0.0, 0, "No findings given: nothing to conflict.")
    # Each family the evidence touches: its compiled rows (P(evidence | cause) for every
    # combination of its members' states and unknown).
    touched = [
        (slot, members)
        for slot, members in enumerate(engine.families)
        if any(m in states for m in members)
    ]
    with np.errstate(divide="ignore"):
        log_prior = np.log(prior)
        log_rows = {slot: np.log(engine.family_table(slot)) for slot, _ in touched}
        marginal_rows = {
            name: np.log(engine.block(name)[index]) for name, index in states.items()
        }  # log P(e_f | c), a child's summed over its parent
    fit = sum(
        (log_rows[slot][engine.family_row(slot, states)] for slot, _ in touched),
        np.zeros_like(prior),
    )
    log_evidence = float(logsumexp(log_prior + fit))
    best_fit = float(fit.max())
    marginals = sum(float(logsumexp(log_prior + log_p)) for log_p in marginal_rows.values())
    measure = marginals - log_evidence
    rng = np.random.default_rng(seed)
    causes = rng.choice(len(prior), size=draws, p=prior / prior.sum())
    simulated = np.zeros((draws, len(prior)))
    # The model's own patients: the observed findings (a parent before its children) drawn
    # for causes drawn from the prior, each scored like the patient.
    drawn = engine.draw(rng, causes, states)
    for slot, members in touched:
        digits = {m: drawn[m] for m in members if m in states}
        simulated += log_rows[slot][engine.family_row(slot, digits)]
    typical = simulated.max(axis=1)
    percentile = float(np.mean(typical <= best_fit + 1e-12))
    outside = percentile < CONFLICT_PERCENTILE
    message = (
        "These findings fit none of the modelled causes well: fewer than 1% of the model's "
        "own patients with the same findings observed fit their best cause so poorly. "
        "Consider a cause calfdx does not model, or check the findings."
        if outside
        else f"The findings are within what the model expects ({percentile:.0%} of its own "
        "patients fit their best cause less or equally well)."
    )
    return Conflict(outside, log_evidence, best_fit, percentile, measure, draws, message)
