r"""Answer queries exactly from compiled tables (findings are checked in ``_evidence.py``).

This module is the one place that knows the structure of the network. The root is ``cause``;
every finding is its child, and a finding may also have one *parent* finding (``parent`` in
findings.csv), which makes it depend on that finding as well as on the cause. A parent with its
children is a *family* (one level deep: a parent has no parent). Given the cause, families are
independent, so the exact posterior is

.. math::

    P(c \mid e) = \frac{P(c) \prod_{F} P(e_F \mid c)}{\sum_{c'} P(c') \prod_{F} P(e_F \mid c')},
    \qquad
    P(e_F \mid c) = \sum_{r} P(r \mid c)\,[r \sim e_r] \prod_{k \in F,\ k \ne r}
        P(e_k \mid r, c)

where the sum runs over the states of the family's parent that agree with the evidence, and
findings that were not observed sum out to one. A finding without parent or children is a
family of one, for which this is the plain naive-Bayes product.

:func:`~calfdx._likelihood.evidence_likelihood` computes P(e | c) for any tables (also a batch
of tables, and for a score tier such as the Wells score). The :class:`Engine` compiles the
shipped tables once: each family becomes one table with a row for every combination of its
members' states and "unknown", so a patient is a list of row numbers and the posterior a
product of rows (in log space when it underflows). pgmpy's ``VariableElimination`` on the
same network is the reference the tests compare against.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from itertools import product
from types import MappingProxyType
from typing import Final, cast

import numpy as np
import numpy.typing as npt

from ._evidence import Soft
from ._exceptions import (
    ImpossibleEvidenceError,
)
from ._jit import compiled_if_loaded
from ._likelihood import evidence_likelihood, families, finding_weights
from ._schema import Finding, Tables

__all__ = ["Engine", "descending", "posterior_product"]

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# The compiled engine

#: Posterior sums below this are recomputed in log space (the linear product may have
#: lost precision to underflow).
_TINY: Final = 1e-280


class Engine:
    """Exact inference from tables compiled once into numpy arrays.

    Each family of findings (see the module docstring) is compiled into one block of rows, a
    row for every combination of its members' states and "unknown" (the last digit of each
    member), holding P(that evidence | cause). A family of one has a row per state and one
    row of ones for unknown. Evidence is then a sorted list of row numbers, one per family it
    touches, and the posterior the prior (row 0) times the product of those rows,
    normalised; when that product underflows, it is recomputed in log space. The engine holds
    only read-only arrays, so one engine may serve many threads.

    Parameters
    ----------
    tables : Tables
        Validated tables.
    """

    __slots__ = (
        "__weakref__",
        "_code",
        "_family_of",
        "_label",
        "_likelihood",
        "_log_likelihood",
        "_order",
        "_position",
        "_start",
        "_tables",
        "_unknown_row",
        "causes",
        "families",
        "findings",
        "parents",
        "states",
    )

    def __init__(self, tables: Tables) -> None:
        self.causes: tuple[str, ...] = tuple(cause.id for cause in tables.causes)
        self.findings: tuple[Finding, ...] = tables.findings
        self.parents: Mapping[str, str] = MappingProxyType(tables.parents)
        self.states: Mapping[str, tuple[str, ...]] = MappingProxyType(
            {f.id: f.states for f in tables.findings}
        )
        self._tables: Mapping[str, FloatArray] = tables.likelihood
        grouped = families([f.id for f in tables.findings], self.parents)
        self.families: tuple[tuple[str, ...], ...] = tuple(grouped.values())
        self._family_of: Mapping[str, int] = MappingProxyType(
            {name: i for i, members in enumerate(self.families) for name in members}
        )
        self._order: Mapping[str, int] = MappingProxyType(
            {f.id: i for i, f in enumerate(tables.findings)}
        )
        # Row 0 is the prior. A family's rows enumerate its members' digits (state index, or
        # the number of states for unknown), the last member varying fastest.
        blocks: list[FloatArray] = [tables.prior.reshape(1, -1)]
        label: list[tuple[tuple[str, str], ...]] = [()]
        code: dict[str, dict[str, tuple[int, int]]] = {}
        unknown_row: list[int] = []
        starts: list[int] = []
        for slot, members in enumerate(self.families):
            start = len(label)
            starts.append(start)
            widths = [len(self.states[m]) + 1 for m in members]
            strides = [math.prod(widths[i + 1 :]) for i in range(len(members))]
            rows = []
            for digits in product(*(range(w) for w in widths)):
                hard = {
                    m: self.states[m][d]
                    for m, d in zip(members, digits, strict=True)
                    if d < len(self.states[m])
                }
                label.append(tuple(hard.items()))
                if not hard:
                    rows.append(np.ones(len(self.causes)))
                else:
                    rows.append(
                        evidence_likelihood(self._tables, self.states, hard, parents=self.parents)
                    )
            blocks.append(np.array(rows))
            everything_unknown = start + sum(
                (w - 1) * s for w, s in zip(widths, strides, strict=True)
            )
            unknown_row.append(everything_unknown)
            for m, w, stride in zip(members, widths, strides, strict=True):
                if len(members) == 1:
                    code[m] = {state: (-1, start + j) for j, state in enumerate(self.states[m])}
                else:
                    code[m] = {
                        state: (slot, (j - (w - 1)) * stride)
                        for j, state in enumerate(self.states[m])
                    }
        likelihood = np.vstack(blocks)
        with np.errstate(divide="ignore"):
            log_likelihood = np.log(likelihood)
        for array in (likelihood, log_likelihood):
            array.flags.writeable = False
        self._likelihood: FloatArray = likelihood
        self._log_likelihood: FloatArray = log_likelihood
        self._code: Mapping[str, Mapping[str, tuple[int, int]]] = code
        self._unknown_row: tuple[int, ...] = tuple(unknown_row)
        self._start: tuple[int, ...] = tuple(starts)
        self._label: tuple[tuple[tuple[str, str], ...], ...] = tuple(label)
        #: (finding, state) → the finding's position in the vocabulary (to order evidence).
        self._position: Mapping[tuple[str, str], int] = MappingProxyType(
            {pair: self._order[pair[0]] for pairs in label for pair in pairs}
        )

    # ---------------------------------------------------------------- evidence as rows
    def fast_posterior(
        self, findings: Mapping[str, object] | None, more_findings: Mapping[str, object]
    ) -> tuple[dict[str, str], list[float], list[int]] | None:
        """Return diagnose's evidence, posterior and order, or None to take the checked path.

        The path of every plainly valid patient, in one call: the evidence (finding → state,
        in vocabulary order), :meth:`posterior_list` and its descending order. Only states
        of known findings, each finding given once, are accepted here: anything else
        (booleans, unknowns, soft evidence, mistakes) is not a key of the compiled codes, so
        the lookup fails (KeyError, or TypeError when unhashable) and None is returned.
        """
        try:
            if findings is not None and type(findings) is not dict:
                return None
            given = cast("dict[str, str]", findings or {})
            if not more_findings:
                rows = self._rows(given.items())
            else:
                for name in more_findings:
                    if name in given:
                        return None
                more = cast("Mapping[str, str]", more_findings)
                rows = self._rows([*given.items(), *more.items()])
        except (KeyError, TypeError):  # an unknown finding or state
            return None
        evidence = self.evidence(rows)
        kernel = compiled_if_loaded(posterior_product)  # posterior_list's, without a call
        if kernel is not None:
            probabilities, order = kernel(self._likelihood, np.array(rows, dtype=np.intp))
            if order:
                return evidence, probabilities, order
        return evidence, *self.posterior_list(rows)

    def rows(self, evidence: Mapping[str, str]) -> list[int]:
        """Return the sorted rows of checked evidence (finding → state)."""
        return self._rows(evidence.items())

    def _rows(self, evidence: Iterable[tuple[str, str]]) -> list[int]:
        """Return the sorted rows of (finding, state) pairs: one per family they touch."""
        rows: list[int] = []
        touched: dict[int, int] = {}
        code, unknown_row = self._code, self._unknown_row
        for finding, state in evidence:
            slot, row = code[finding][state]
            if slot < 0:
                rows.append(row)
            else:
                touched[slot] = touched.get(slot, unknown_row[slot]) + row
        rows.extend(touched.values())
        rows.sort()
        return rows

    def evidence_weights(
        self, hard: Mapping[str, str], soft: Mapping[str, Soft]
    ) -> list[tuple[str, str, FloatArray]]:
        """Return (finding, state or "soft", weight per state) for each observed finding.

        A hard state is a one-hot weight vector, in the order of the finding's states.
        """
        observed = []
        for finding in self.findings:
            weights = finding_weights(finding.id, self.states, hard, soft)
            if weights is not None:
                observed.append((finding.id, hard.get(finding.id, "soft"), weights))
        return observed

    def evidence(self, rows: list[int]) -> dict[str, str]:
        """Return finding → state for sorted rows, in vocabulary order."""
        label = self._label
        pairs = [pair for r in rows for pair in label[r]]
        # Rows follow the families, whose members need not be neighbours in the vocabulary.
        pairs.sort(key=self._position.__getitem__)
        return dict(pairs)

    # ---------------------------------------------------------------- structure
    def family(self, finding: str) -> tuple[str, ...]:
        """Return the family of ``finding``: its parent (or itself) first, then the children."""
        return self.families[self._family_of[finding]]

    def family_table(self, slot: int) -> FloatArray:
        """Return family ``slot``'s compiled rows: P(evidence | cause) for every combination.

        Rows enumerate the members' digits (a state's index, or the number of states for
        unknown), the last member varying fastest; read-only.
        """
        return self._likelihood[self._start[slot] : self._unknown_row[slot] + 1]

    def family_rows(self, slot: int) -> range:
        """Return the rows of family ``slot`` in the compiled table (see :meth:`log_table`)."""
        return range(self._start[slot], self._unknown_row[slot] + 1)

    def log_table(self) -> FloatArray:
        """Return log P(evidence | cause) of every compiled row; row 0 is the log prior."""
        return self._log_likelihood

    def log_family_table(self, slot: int) -> FloatArray:
        """Return the natural log of :meth:`family_table` (read-only, computed once)."""
        return self._log_likelihood[self._start[slot] : self._unknown_row[slot] + 1]

    def family_row(
        self, slot: int, digits: Mapping[str, npt.NDArray[np.intp] | int]
    ) -> npt.NDArray[np.intp] | int:
        """Return the row of :meth:`family_table` for members' state indices.

        ``digits`` maps a member to its state's index (or an array of them, for many
        patients at once); a member not given is unknown.
        """
        row: npt.NDArray[np.intp] | int = 0
        stride = 1
        for member in reversed(self.families[slot]):  # the last member varies fastest
            width = len(self.states[member]) + 1
            row = row + digits.get(member, width - 1) * stride
            stride *= width
        return row

    def depends_on(
        self, hard: Mapping[str, str], soft: Mapping[str, Soft] | None = None
    ) -> list[str]:
        """Return the findings whose tables P(evidence | cause) depends on, in family order.

        An observed finding's, and the parent of every observed child (summed over); an
        unobserved child sums out to one and is left out.
        """
        soft = soft or {}
        found: list[str] = []
        for members in self.families:
            observed = [m for m in members if m in hard or m in soft]
            if observed:
                found.extend(m for m in members if m == members[0] or m in observed)
        return found

    def draw(
        self,
        rng: np.random.Generator,
        causes: npt.NDArray[np.intp],
        findings: Iterable[str] | None = None,
    ) -> dict[str, npt.NDArray[np.intp]]:
        """Draw the findings of patients with the given causes, a parent before its children.

        Parameters
        ----------
        rng : numpy.random.Generator
            The source of randomness (the draws are reproducible from its seed).
        causes : ndarray of int
            One cause index per patient.
        findings : iterable of str, optional
            The findings to draw (all by default); the parent of a chosen child is drawn
            too.

        Returns
        -------
        dict
            Finding → one state index per patient, for the findings drawn, in family order.
        """
        wanted = None if findings is None else set(findings)
        drawn: dict[str, npt.NDArray[np.intp]] = {}
        for members in self.families:
            chosen = [m for m in members if wanted is None or m in wanted]
            if not chosen:
                continue
            for name in dict.fromkeys((members[0], *chosen)):  # the parent first
                table = self._tables[name]
                if name in self.parents:
                    probabilities = table[:, drawn[self.parents[name]], causes]
                else:
                    probabilities = table[:, causes]  # (states, patients)
                cumulative = np.cumsum(probabilities, axis=0)
                codes = (rng.random(len(causes)) * cumulative[-1] >= cumulative).sum(axis=0)
                drawn[name] = np.minimum(codes, len(table) - 1).astype(np.intp)
        return drawn

    def likelihood(
        self, hard: Mapping[str, str], soft: Mapping[str, Soft] | None = None
    ) -> FloatArray:
        """Return P(evidence | cause) for every cause (ones without evidence)."""
        return evidence_likelihood(
            self._tables, self.states, hard, parents=self.parents, soft=soft
        )

    def conditional(
        self,
        finding: str,
        hard: Mapping[str, str] | None = None,
        soft: Mapping[str, Soft] | None = None,
    ) -> FloatArray:
        """Return P(finding = state | cause, evidence) as a (states, causes) matrix.

        Only the evidence on the finding's own family matters (families are independent given
        the cause); the finding's own evidence is ignored. Where the evidence is impossible
        under a cause, that cause's column is the finding's marginal.
        """
        members = set(self.family(finding)) - {finding}
        given = {f: s for f, s in (hard or {}).items() if f in members}
        given_soft = {f: w for f, w in (soft or {}).items() if f in members}
        if len(members) == 0 or (not given and not given_soft):
            return self.block(finding)
        base = self.likelihood(given, given_soft)
        joint = np.array(
            [
                self.likelihood({**given, finding: state}, given_soft)
                for state in self.states[finding]
            ]
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            out: FloatArray = np.where(
                base > 0, joint / np.where(base > 0, base, 1.0), self.block(finding)
            )
        return out

    def block(self, finding: str) -> FloatArray:
        """Return P(finding = state | cause) as a (states, causes) matrix (read-only).

        For a finding with a parent, this is the marginal over the parent's states.
        """
        slot = self._family_of[finding]
        members = self.families[slot]
        if len(members) == 1:
            start = self._unknown_row[slot] - len(self.states[finding])
            return self._likelihood[start : self._unknown_row[slot]]
        unknown = self._unknown_row[slot]
        rows = [unknown + self._code[finding][state][1] for state in self.states[finding]]
        return self._likelihood[rows]

    # ---------------------------------------------------------------- inference
    def soft_factor(self, finding: str, weights: Soft) -> FloatArray:
        """Return P(soft evidence | cause) for a finding alone (its family unobserved)."""
        factor: FloatArray = np.asarray(weights) @ self.block(finding)
        return factor

    def _factors(
        self, rows: list[int], soft: Mapping[str, Soft] | None
    ) -> tuple[list[int], list[FloatArray]]:
        """Split evidence into compiled rows and the factors of families with soft evidence."""
        if not soft:
            return rows, []
        slots = {self._family_of[f] for f in soft}
        kept: list[int] = []
        hard: dict[str, str] = {}
        for r in rows:
            pairs = self._label[r]
            if pairs and self._family_of[pairs[0][0]] in slots:
                hard.update(pairs)
            else:
                kept.append(r)
        factors = []
        for slot in sorted(slots):
            members = self.families[slot]
            factors.append(
                self.likelihood(
                    {f: s for f, s in hard.items() if f in members},
                    {f: w for f, w in soft.items() if f in members},
                )
            )
        return kept, factors

    def posterior_rows(
        self, rows: list[int], soft: Mapping[str, Soft] | None = None
    ) -> FloatArray:
        """Return P(cause | evidence rows and soft evidence) for every cause, in table order.

        Raises
        ------
        ImpossibleEvidenceError
            When the evidence has probability zero under every cause.
        """
        kept, factors = self._factors(rows, soft)
        joint = self._joint(kept)
        for factor in factors:
            joint *= factor
        total = joint.sum()
        if not total > _TINY:
            return self._log_posterior(rows, soft)
        joint /= total
        return joint

    def _joint(self, rows: list[int]) -> FloatArray:
        """Return P(cause) times the rows' P(evidence | cause), multiplied row after row."""
        likelihood = self._likelihood
        joint: FloatArray = likelihood[0] * likelihood[rows[0]] if rows else likelihood[0].copy()
        for row in rows[1:]:
            joint *= likelihood[row]
        return joint

    def posterior_list(self, rows: list[int]) -> tuple[list[float], list[int]]:
        """Return :meth:`posterior_rows` of hard evidence as a list, and the descending order.

        The path of diagnose: the same product (:meth:`_joint`), with an exactly rounded sum
        (``math.fsum``), and the causes' positions by descending probability (equal
        probabilities in table order). Once numba is loaded (by the conflict check or a
        cohort), one compiled call (:func:`posterior_product`) gives the same numbers, bit
        for bit, in less time; a one-off diagnosis does not import numba for it.
        """
        kernel = compiled_if_loaded(posterior_product)
        if kernel is not None:
            probabilities, order = kernel(self._likelihood, np.array(rows, dtype=np.intp))
            if order:
                return probabilities, order
            values: list[float] = self._log_posterior(rows).tolist()
        else:
            values = self._joint(rows).tolist()
            total = math.fsum(values)
            if total > _TINY:
                values = [value / total for value in values]
            else:
                values = self._log_posterior(rows).tolist()
        return values, descending(values)

    def log_rows(self, rows: list[int]) -> FloatArray:
        """Return log P(evidence | cause) for each of the rows, as a (rows, causes) array."""
        found: FloatArray = self._log_likelihood[rows]
        return found

    def log_joint_rows(
        self, rows: list[int], soft: Mapping[str, Soft] | None = None
    ) -> FloatArray:
        """Return log P(cause, evidence) for every cause (a new array)."""
        kept, factors = self._factors(rows, soft)
        log_joint: FloatArray = self._log_likelihood[[0, *kept]].sum(axis=0)
        with np.errstate(divide="ignore"):
            for factor in factors:
                log_joint += np.log(factor)
        return log_joint

    def _log_posterior(
        self, rows: list[int], soft: Mapping[str, Soft] | None = None
    ) -> FloatArray:
        log_joint = self.log_joint_rows(rows, soft)
        peak = log_joint.max()
        if not np.isfinite(peak):
            raise ImpossibleEvidenceError(self._impossible_message(rows, soft))
        weights: FloatArray = np.exp(log_joint - peak)
        weights /= weights.sum()
        return weights

    def _impossible_message(self, rows: list[int], soft: Mapping[str, Soft] | None) -> str:
        zeros = []
        for r in rows:
            causes = [
                cause
                for cause, value in zip(self.causes, self._likelihood[r], strict=True)
                if value == 0.0
            ]
            if causes:
                given = " and ".join(f"{f}={s!r}" for f, s in self._label[r])
                zeros.append(f"{given} (zero under {', '.join(causes)})")
        for finding, weights in (soft or {}).items():
            factor = self.soft_factor(finding, weights)
            causes = [
                cause for cause, value in zip(self.causes, factor, strict=True) if value == 0
            ]
            if causes:
                zeros.append(f"{finding}~{weights} (zero under {', '.join(causes)})")
        given = ", ".join(
            [f"{f}={s!r}" for r in rows for f, s in self._label[r]]
            + [f"{f}~{w}" for f, w in (soft or {}).items()]
        )
        detail = "; ".join(zeros) if zeros else "the prior is zero where the findings are not"
        return (
            f"Impossible evidence: no cause of the model gives the findings {given} a non-zero "
            f"probability. Findings with a zero likelihood: {detail}. Check the findings, or "
            "give the tables a small non-zero probability for these states."
        )


# --------------------------------------------------------------------------------------------
# The posterior of hard evidence in one compiled call (diagnose's path)


def posterior_product(
    likelihood: FloatArray, rows: npt.NDArray[np.intp]
) -> tuple[list[float], list[int]]:
    """Return P(cause | rows) and the causes' positions by descending probability.

    P(cause | rows) is row 0 (the prior) times the rows, over their exact sum.
    The product runs row after row, as :meth:`Engine._joint` does, and the sum is exactly
    rounded, as ``math.fsum`` rounds it (Shewchuk's algorithm, the one CPython uses), so the
    numbers equal the numpy path's bit for bit. The order is a stable sort, as
    :func:`descending`'s. The order is empty when the sum is not above ``1e-280`` (the
    caller recomputes in log space). Written for numba (see :mod:`calfdx._jit`); it
    also runs as plain Python.
    """
    n_causes = likelihood.shape[1]
    joint = likelihood[0].copy()
    for row in rows:
        for c in range(n_causes):
            joint[c] *= likelihood[row, c]
    # math.fsum: keep exact non-overlapping partial sums, then round their total once.
    partials = np.empty(n_causes + 1)
    used = 0
    for c in range(n_causes):
        x = joint[c]
        kept = 0
        for k in range(used):
            y = partials[k]
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low != 0.0:
                partials[kept] = low
                kept += 1
            x = high
        used = kept
        if x != 0.0:
            partials[used] = x
            used += 1
    total = 0.0
    if used > 0:
        n = used - 1
        total = partials[n]
        low = 0.0
        while n > 0:
            x = total
            y = partials[n - 1]
            n -= 1
            total = x + y
            low = y - (total - x)
            if low != 0.0:
                break
        # Round half to even, as the partials below the break say (CPython's fsum).
        below = partials[n - 1] if n > 0 else 0.0
        if (low < 0.0 and below < 0.0) or (low > 0.0 and below > 0.0):
            y = low * 2.0
            x = total + y
            if y == x - total:
                total = x
    if not total > _TINY:
        return [float(value) for value in joint], [int(c) for c in range(0)]
    for c in range(n_causes):
        joint[c] /= total
    # Lists: numba builds them faster than Python converts two arrays.
    order = np.argsort(-joint, kind="mergesort")
    return [float(value) for value in joint], [int(c) for c in order]


def descending(probabilities: list[float]) -> list[int]:
    """Return the positions of ``probabilities`` by descending value, ties in table order."""
    return sorted(range(len(probabilities)), key=probabilities.__getitem__, reverse=True)
