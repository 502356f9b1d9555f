r"""Is the picture outside the model? Compare the best fit with the model's own patients.

For the findings a patient has (hard findings; soft evidence is not counted), the fit of the
best-fitting cause is

.. math::

    \max_c P(e \mid c) = \max_c \prod_{F} P(e_F \mid c),

a product over the families of findings the evidence touches (a parent finding with its
children; a finding alone is a family of one), each family's probability exact (summed over
its parent when the parent is not observed). Unlike :math:`P(e)`, this does not penalise a
rare cause with a textbook picture. The reference is the model's own patients with the
same findings observed: a picture e' of those findings is as probable as P(e') under the
model, and the percentile is the probability that max_c P(e' | c) is at most the patient's.
The percentile is exact whenever it can be: with numba (a default dependency), a compiled
branch and bound (:func:`calfdx._kernels.conflict_scan`) sums the probabilities of the
pictures, deciding whole groups of them at once from bounds on their fit; it always finishes
on up to 32,768 pictures (fifteen yes/no findings), and beyond that whenever its pruning
decides every picture within 65,536 steps. Otherwise (or without numba) calfdx enumerates up
to 32,768 pictures with numpy, and beyond that draws 4,000 patients from the model (a cause
from the prior, then each family's parent and its children), seeded, so the answer is
reproducible either way; these references depend only on which findings were observed, so
the last 64 are kept with the model and serve every later patient asked the same questions.
When the patient's best fit is worse than that of
99% of the model's own patients, the picture fits none of the modelled causes well:
``conflict`` is True. The classic
conflict measure :math:`\log \prod_f P(e_f) - \log P(e)` (Jensen, *Bayesian Networks and
Decision Graphs*) is reported too, with exact :math:`P(e_f)` (a child's marginal over its
parent) and :math:`P(e)`: positive values mean the findings do not fit together.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from ._checks import strict_json
from ._core import kept_per_model
from ._kernels import conflict_kernel

if TYPE_CHECKING:
    from ._core import Compiled, Posterior
    from ._inference import Engine

__all__ = ["Conflict", "conflict"]

#: The evidence is "outside the model" below this fraction of the model's own patients.
CONFLICT_PERCENTILE: Final = 0.01
#: Patients drawn from the model for the comparison, beyond EXACT_PATTERNS pictures.
DRAWS: Final = 4000
#: Up to this many pictures (joint states) of the observed findings (fifteen yes/no
#: findings), the comparison is exact: every picture is enumerated with its probability.
#: Enumeration costs pictures x causes; the draws cost draws x causes x findings, so up to
#: here the exact answer is also the cheaper one.
EXACT_PATTERNS: Final = 32_768
#: The compiled scan (numba) stops after this many partial pictures: twice EXACT_PATTERNS,
#: so it always finishes on up to EXACT_PATTERNS pictures (the full enumeration has fewer
#: than twice as many partial pictures as pictures); beyond, it is exact whenever its
#: pruning decides every picture within the steps, and the draws answer otherwise.
STEPS: Final = 2 * EXACT_PATTERNS
#: References (one per model and set of observed findings) kept in memory, 512 kB at most
#: each.
REFERENCES: Final = 64
#: Below this log best fit the exact comparison, done in linear space, could underflow: the
#: draws (in log space) are used instead.
_LOWEST_LINEAR: Final = -600.0
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
        Fraction of the model's own patients whose best fit is at most as good: exact
        (every picture of the observed findings, weighted by its probability; always up to
        32,768 pictures), else estimated from seeded draws (``draws`` > 0).
    conflict_measure : float
        ``log prod P(e_f) - log P(e)``; positive when the findings do not fit together.
    draws : int
        How many patients were drawn from the model (0 when the percentile is exact).
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


def _log_sum_exp(values: FloatArray) -> FloatArray:
    """Return log(sum(exp(values))) along the last axis, stable (-inf for all -inf)."""
    peak = values.max(axis=-1, keepdims=True)
    safe = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        total: FloatArray = np.log(np.exp(values - safe).sum(axis=-1)) + safe[..., 0]
    return total


def _pictures(engine: Engine, slot: int, seen: Collection[str]) -> FloatArray:
    """Return P(picture | cause) for every picture of family ``slot``'s ``seen`` members.

    (pictures, causes): a row per combination of the seen members' states (the last varying
    fastest), the family's other members unknown.
    """
    grids = np.meshgrid(*(np.arange(len(engine.states[m])) for m in seen), indexing="ij")
    rows = engine.family_row(slot, {m: g.ravel() for m, g in zip(seen, grids, strict=True)})
    table: FloatArray = engine.family_table(slot)[rows]
    return table


def _patterns(
    engine: Engine, touched: list[tuple[int, tuple[str, ...]]], observed: Collection[str]
) -> FloatArray:
    """Return P(picture | cause) for every picture (joint state) of the observed findings.

    Causes by pictures: one column per combination of the observed findings' states
    (families in order), so (causes, product of their numbers of states); the reductions
    over causes then run along contiguous rows. Linear, not log: at most twelve yes/no
    findings' worth of probabilities multiply, far from underflow (the caller checks the
    patient's best fit).
    """
    joint = np.ones((len(engine.causes), 1))
    for slot, members in touched:
        family = _pictures(engine, slot, [m for m in members if m in observed]).T
        joint = (joint[:, :, None] * family[:, None, :]).reshape(joint.shape[0], -1)
    return joint


class _Memo:
    """What the check keeps per model: picture tables, marginals, and references.

    Held in a weak dictionary keyed by the engine, so it goes with its model. The picture
    tables and the rows' marginals are built with the memo (a few milliseconds, at the
    first check on a model); the references are filled at use. Every array in it is
    read-only, so one memo serves many threads (two threads filling the same reference
    compute the same value).
    """

    __slots__ = (
        "entries",
        "log_marginal",
        "log_prior",
        "prior",
        "references",
        "row_marginal",
        "tables",
    )

    def __init__(self, compiled: Compiled) -> None:
        engine = compiled.engine
        self.prior = compiled.tables.prior
        with np.errstate(divide="ignore"):
            self.log_prior: FloatArray = np.log(self.prior)
        #: (finding, state) -> log P(finding = state), over the prior.
        self.log_marginal: dict[tuple[str, str], float] = {}
        #: Row of the patient's evidence on a family -> (minus how much the family tells the
        #: causes apart: the mean over causes of the largest minus the smallest
        #: P(picture | cause); the first and last row of its block in ``tables``, which holds
        #: P(picture | cause) for every picture of the members the row observes).
        self.entries: dict[int, tuple[float, int, int]] = {}
        #: Row -> the sum of its findings' log marginals (0 for rows observing nothing).
        self.row_marginal: FloatArray = np.zeros(engine.log_table().shape[0])
        blocks: list[FloatArray] = []
        of_members: dict[tuple[int, tuple[str, ...]], tuple[float, int, int]] = {}
        size = 0
        for slot in range(len(engine.families)):
            for row in engine.family_rows(slot):
                given = engine.evidence([row])
                if not given:
                    continue
                seen = tuple(given)
                if (slot, seen) not in of_members:
                    table = np.ascontiguousarray(_pictures(engine, slot, seen))
                    spread = float(np.mean(table.max(axis=0) - table.min(axis=0)))
                    of_members[slot, seen] = (-spread, size, size + len(table))
                    blocks.append(table)
                    size += len(table)
                self.entries[row] = of_members[slot, seen]
                self.row_marginal[row] = sum(self.marginal(engine, f, s) for f, s in given.items())
        self.tables: FloatArray = np.concatenate(blocks) if blocks else np.zeros((0, 1))
        for array in (self.tables, self.row_marginal):
            array.flags.writeable = False
        self.references: OrderedDict[tuple[tuple[str, ...], int, int], _Reference] = OrderedDict()

    def block(self, row: int) -> FloatArray:
        """Return P(picture | cause) for every picture of the members ``row`` observes."""
        _, first, last = self.entries[row]
        return self.tables[first:last]

    def search_bounds(self, rows: list[int]) -> npt.NDArray[np.intp]:
        """Return the blocks of ``rows`` in search order, the most telling families first.

        As (first, last) rows of :attr:`tables`, a row per block. The bounds of the scan
        then tighten sooner (on a form of 12 findings, this halved the median steps). The
        order depends only on the findings (a stable sort).
        """
        entries = sorted(map(self.entries.__getitem__, rows), key=itemgetter(0))
        return np.array([entry[1:] for entry in entries], dtype=np.intp)

    def marginal(self, engine: Engine, finding: str, state: str) -> float:
        """Return log P(finding = state) under the prior (a child's summed over its parent)."""
        found = self.log_marginal.get((finding, state))
        if found is None:
            row = engine.block(finding)[engine.states[finding].index(state)]
            with np.errstate(divide="ignore"):
                found = float(np.log(self.prior @ row))
            self.log_marginal[finding, state] = found
        return found


_Reference = tuple[FloatArray, FloatArray, int]
_MEMOS: weakref.WeakKeyDictionary[Engine, _Memo] = weakref.WeakKeyDictionary()
_REFERENCES_LOCK = threading.Lock()


def _memo(compiled: Compiled) -> _Memo:
    return kept_per_model(_MEMOS, compiled, _Memo)


def _reference(compiled: Compiled, names: tuple[str, ...], draws: int, seed: int) -> _Reference:
    """Return the model's own patients with these findings observed (kept per model).

    Returned: their log best fits; the probability of each; and how many patients were
    drawn (0: exact). Exact (``draws`` 0): every picture of the
    findings, weighted by its probability. Otherwise ``draws`` patients drawn with ``seed``:
    causes from the prior, then the findings (a parent before its children). Both depend
    only on which findings were observed, not on their states, so one reference serves every
    patient asked the same questions (a service's form), and recomputing it gives the same
    numbers. The last REFERENCES are kept with the model's engine, and go with it.
    """
    kept = _memo(compiled).references
    key = (names, draws, seed)
    found = kept.get(key)
    if found is None:
        found = _compute_reference(compiled, names, draws, seed)
        with _REFERENCES_LOCK:
            kept[key] = found
            while len(kept) > REFERENCES:
                kept.popitem(last=False)
    return found


def _compute_reference(
    compiled: Compiled, names: tuple[str, ...], draws: int, seed: int
) -> _Reference:
    engine = compiled.engine
    prior = compiled.tables.prior
    touched = [
        (slot, members)
        for slot, members in enumerate(engine.families)
        if any(m in names for m in members)
    ]
    if draws == 0:
        joint = _patterns(engine, touched, names)
        with np.errstate(divide="ignore"):
            fits = np.log(joint.max(axis=0))
        weights = prior @ joint
    else:
        rng = np.random.default_rng(seed)
        causes = rng.choice(len(prior), size=draws, p=prior / prior.sum())
        simulated = np.zeros((draws, len(prior)))
        drawn = engine.draw(rng, causes, names)
        for slot, members in touched:
            digits = {m: drawn[m] for m in members if m in names}
            simulated += engine.log_family_table(slot)[engine.family_row(slot, digits)]
        fits = simulated.max(axis=1)
        weights = np.full(draws, 1.0 / draws)
    for array in (fits, weights):
        array.flags.writeable = False
    return fits, weights, draws


def conflict(
    compiled: Compiled, result: Posterior, draws: int = DRAWS, seed: int = SEED
) -> Conflict:
    """Return the conflict check of ``result``'s hard findings."""
    hard = result.findings
    if not hard:
        return Conflict(False, 0.0, 0.0, 1.0, 0.0, 0, "No findings given: nothing to conflict.")
    engine = compiled.engine
    memo = _memo(compiled)
    kernels = conflict_kernel()
    # One row per family the evidence touches: log P(evidence on a family | cause), a
    # child's summed over its parent when the parent is not observed.
    rows = engine.rows(hard)
    bounds = memo.search_bounds(rows)
    if kernels is not None:  # the fit, the measure and the scan in one compiled call
        log_evidence, best_fit, measure, mass, _ = kernels[2](
            engine.log_table(),
            np.array(rows, dtype=np.intp),
            memo.log_prior,
            memo.row_marginal,
            memo.tables,
            bounds,
            memo.prior,
            _LOWEST_LINEAR,
            STEPS,
        )
    else:
        fit = engine.log_rows(rows).sum(axis=0)
        log_evidence, best_fit = float(_log_sum_exp(memo.log_prior + fit)), float(fit.max())
        measure = float(sum(memo.row_marginal[row] for row in rows)) - log_evidence
        mass = -1.0  # not computed
    if mass >= 0:
        percentile, drawn_count = min(mass, 1.0), 0
    else:  # without numba, or past the scan's steps: a reference kept per set of findings
        pictures = math.prod(int(last - first) for first, last in bounds)
        exact = best_fit > _LOWEST_LINEAR and pictures <= EXACT_PATTERNS
        fits, weights, drawn_count = _reference(compiled, tuple(hard), 0 if exact else draws, seed)
        percentile = min(float(weights[fits <= best_fit + 1e-12].sum()), 1.0)
    outside = percentile < CONFLICT_PERCENTILE
    message = (
        "These findings fit none of the modelled causes well: fewer than 1% of the model's "
        "own patients with the same findings observed fit their best cause so poorly. "
        "Consider a cause calfdx does not model, or check the findings."
        if outside
        else f"The findings are within what the model expects ({percentile:.0%} of its own "
        "patients fit their best cause less or equally well)."
    )
    return Conflict(outside, log_evidence, best_fit, percentile, measure, drawn_count, message)
