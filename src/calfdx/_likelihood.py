r"""The likelihood of evidence, for any tables: P(e | c) summed over the parents' states.

The network's root is ``cause``; a finding may also have one *parent* finding, and a parent
with its children is a *family*. Given the cause, families are independent, and

.. math::

    P(e_F \mid c) = \sum_{r} P(r \mid c)\,[r \sim e_r] \prod_{k \in F,\ k \ne r}
        P(e_k \mid r, c)

where the sum runs over the states of the family's parent that agree with the evidence, and
findings that were not observed sum out to one. :func:`evidence_likelihood` computes this
for any tables (also a batch of tables, and for a score tier such as the Wells score); the
compiled :class:`~calfdx._inference.Engine` uses it to build its rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

from ._evidence import Soft

__all__ = [
    "ScoreTier",
    "evidence_likelihood",
    "families",
    "finding_weights",
    "in_tier",
    "score_totals",
]

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Likelihood of evidence, for any tables (also with leading batch axes)

#: An additive clinical score and a range of it: (points of each finding state, lowest and
#: highest total). ``({"active_cancer": {"yes": 1}, ...}, 3, None)`` is "score >= 3".
ScoreTier = tuple[Mapping[str, Mapping[str, int]], int | None, int | None]


def families(findings: Iterable[str], parents: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Return parent → (parent, its children...) for every finding that is not a child.

    A finding without parent or children is a family of one. Families come in the order of
    their parents in ``findings``; children in the order of ``findings``.

    Examples
    --------
    >>> families(["a", "b", "c"], {"c": "a"})
    {'a': ('a', 'c'), 'b': ('b',)}
    """
    found: dict[str, list[str]] = {}
    names = list(findings)
    for name in names:
        if name not in parents:
            found[name] = [name]
    for name in names:
        if name in parents:
            found[parents[name]].append(name)
    return {root: tuple(members) for root, members in found.items()}


def finding_weights(
    finding: str,
    states: Mapping[str, tuple[str, ...]],
    hard: Mapping[str, str],
    soft: Mapping[str, Soft],
) -> FloatArray | None:
    """Return the evidence on one finding as a weight per state, or None when unobserved."""
    if finding in hard:
        return np.array([1.0 if s == hard[finding] else 0.0 for s in states[finding]])
    if finding in soft:
        return np.asarray(soft[finding], dtype=np.float64)
    return None


#: A distribution of a score's total: (lowest total, array (totals, ..., causes)) where entry t
#: is P(total = lowest + t, evidence | cause).
_Totals = tuple[int, "FloatArray"]


def _lift(mass: FloatArray, ndim: int) -> FloatArray:
    """Give totals (totals, ..., causes) the batch axes of an array of ``ndim`` axes."""
    missing = ndim + 1 - mass.ndim
    return mass.reshape(mass.shape[:1] + (1,) * missing + mass.shape[1:]) if missing > 0 else mass


def _times(totals: _Totals, factor: FloatArray) -> _Totals:
    """Multiply every total's mass by a factor (..., causes)."""
    offset, mass = totals
    lifted = _lift(mass, factor.ndim)
    return offset, lifted * factor


def _add_points(totals: _Totals, options: list[tuple[int, FloatArray]]) -> _Totals:
    """Convolve a score's totals with one finding: options are (points, P(state, e | c))."""
    offset, mass = totals
    low = min(gain for gain, _ in options)
    high = max(gain for gain, _ in options)
    shape = np.broadcast_shapes(mass.shape[1:], *(p.shape for _, p in options))
    mass = _lift(mass, len(shape))
    out = np.zeros((len(mass) + high - low, *shape))
    for gain, probability in options:
        out[gain - low : gain - low + len(mass)] += mass * probability
    return offset + low, out


def _merge(first: _Totals | None, second: _Totals) -> _Totals:
    """Add two distributions of totals (for the parent's states of a family)."""
    if first is None:
        return second
    (a, x), (b, y) = first, second
    low = min(a, b)
    size = max(a + len(x), b + len(y)) - low
    ndim = max(x.ndim, y.ndim) - 1
    x, y = _lift(x, ndim), _lift(y, ndim)
    out = np.zeros((size, *np.broadcast_shapes(x.shape[1:], y.shape[1:])))
    out[a - low : a - low + len(x)] += x
    out[b - low : b - low + len(y)] += y
    return low, out


def _family_likelihood(
    members: tuple[str, ...],
    likelihood: Mapping[str, FloatArray],
    states: Mapping[str, tuple[str, ...]],
    hard: Mapping[str, str],
    soft: Mapping[str, Soft],
    points: Mapping[str, Mapping[str, int]],
) -> _Totals:
    """Return P(score of the family, family evidence | cause), by the total of its points.

    Without scored members the only total is 0: the plain P(e_F | c).
    """
    root, children = members[0], members[1:]
    root_table = likelihood[root]  # (..., root states, causes)
    root_weights = finding_weights(root, states, hard, soft)
    out: _Totals | None = None
    for k, root_state in enumerate(states[root]):
        if root_weights is not None and root_weights[k] == 0.0:
            continue
        mass = root_table[..., k, :]
        if root_weights is not None:
            mass = mass * root_weights[k]
        totals: _Totals = (points.get(root, {}).get(root_state, 0), mass[None])
        for child in children:
            table = likelihood[child][..., :, k, :]  # (..., child states, causes)
            weights = finding_weights(child, states, hard, soft)
            scored = points.get(child)
            if scored is None:
                if weights is not None:
                    totals = _times(totals, np.einsum("s,...sc->...c", weights, table))
                continue
            options = [
                (
                    scored.get(state, 0),
                    table[..., j, :] if weights is None else table[..., j, :] * weights[j],
                )
                for j, state in enumerate(states[child])
                if weights is None or weights[j] != 0.0
            ]
            totals = _add_points(totals, options)
        out = _merge(out, totals)
    if out is None:  # the evidence rules out every state of the parent
        return 0, np.zeros((1, *root_table.shape[:-2], root_table.shape[-1]))
    return out


def score_totals(
    likelihood: Mapping[str, FloatArray],
    states: Mapping[str, tuple[str, ...]],
    hard: Mapping[str, str],
    points: Mapping[str, Mapping[str, int]],
    *,
    parents: Mapping[str, str] | None = None,
    soft: Mapping[str, Soft] | None = None,
) -> tuple[int, FloatArray]:
    """Return P(score = total, evidence | cause) for every total of an additive score.

    Parameters are those of :func:`evidence_likelihood`; ``points`` gives the points of each
    scored finding's states (a finding not listed scores nothing).

    Returns
    -------
    lowest : int
        The lowest total with an entry.
    mass : ndarray (totals, ..., causes)
        ``mass[t]`` is P(score = lowest + t, evidence | cause). Summed over the totals it is
        P(evidence | cause).

    Examples
    --------
    >>> import numpy as np
    >>> table = {"a": np.array([[0.9, 0.2], [0.1, 0.8]]), "b": np.array([[0.5, 0.1], [0.5, 0.9]])}
    >>> states = {"a": ("yes", "no"), "b": ("yes", "no")}
    >>> lowest, mass = score_totals(table, states, {}, {"a": {"yes": 1}, "b": {"yes": 1}})
    >>> lowest, mass[:, 0].round(3).tolist()  # P(score = 0, 1, 2 | first cause)
    (0, [0.05, 0.5, 0.45])
    """
    parents = parents or {}
    soft = soft or {}
    involved = [*hard, *soft, *points]
    roots = dict.fromkeys(parents.get(f, f) for f in involved)
    # The batch shape of the tables, with the causes: (..., causes).
    batch = np.broadcast_shapes(
        *(
            table.shape[: -3 if name in parents else -2] + table.shape[-1:]
            for name, table in ((name, likelihood[name]) for name in (roots or likelihood))
        )
    )
    children: dict[str, list[str]] = {}
    for child, parent in parents.items():
        if parent in roots and (child in hard or child in soft or child in points):
            children.setdefault(parent, []).append(child)
    factor: FloatArray | None = None
    totals: _Totals = (0, np.ones((1,) + (1,) * len(batch)))
    for root in roots:
        members = (root, *children.get(root, ()))
        lowest, mass = _family_likelihood(members, likelihood, states, hard, soft, points)
        if len(mass) == 1 and not any(m in points for m in members):
            factor = mass[0] if factor is None else factor * mass[0]
        else:
            options = [(lowest + t, mass[t]) for t in range(len(mass))]
            totals = _add_points(totals, options)
    if factor is not None:
        totals = _times(totals, factor)
    lowest, mass = totals
    mass = _lift(mass, len(batch))
    return lowest, np.broadcast_to(mass, (len(mass), *np.broadcast_shapes(mass.shape[1:], batch)))


def in_tier(totals: tuple[int, FloatArray], low: int | None, high: int | None) -> FloatArray:
    """Sum P(total, evidence | cause) over the totals from ``low`` to ``high`` (inclusive)."""
    lowest, mass = totals
    start = 0 if low is None else max(low - lowest, 0)
    stop = len(mass) if high is None else max(high - lowest + 1, 0)
    tier: FloatArray = mass[start:stop].sum(axis=0)
    return tier


def evidence_likelihood(
    likelihood: Mapping[str, FloatArray],
    states: Mapping[str, tuple[str, ...]],
    hard: Mapping[str, str],
    score: ScoreTier | None = None,
    *,
    parents: Mapping[str, str] | None = None,
    soft: Mapping[str, Soft] | None = None,
) -> FloatArray:
    r"""Return P(evidence | cause) for every cause, exactly.

    Families (a parent finding with its children) are independent given the cause, so the
    likelihood is the product, over the families the evidence touches, of the family's
    likelihood: a sum over the parent's states (see the module docstring). The likelihood of
    a score tier is the sum, over every combination of the score's findings that lands in the
    tier, of the probability of that combination with the evidence (computed by convolving
    the point distributions family by family, not by enumeration). Scored findings given in
    ``hard`` or ``soft`` are held at their evidence.

    Parameters
    ----------
    likelihood : mapping of finding to array
        P(finding = state | cause) as (..., states, causes); for a finding with a parent,
        P(finding = state | parent state, cause) as (..., states, parent states, causes).
        Leading axes (a batch of tables) broadcast.
    states : mapping of finding to tuple of str
        The states of each finding, in the order of the arrays' state axis.
    hard : mapping of finding to state
        Observed findings.
    score : ScoreTier, optional
        A score tier the evidence also conditions on.
    parents : mapping of finding to finding, optional
        The parent of each finding that has one.
    soft : mapping of finding to weights, optional
        Soft (virtual) evidence: a likelihood weight per state.

    Returns
    -------
    ndarray (..., causes)
        P(evidence | cause). Without evidence, ones.

    Examples
    --------
    >>> import numpy as np
    >>> table = {"a": np.array([[0.9, 0.2], [0.1, 0.8]]), "b": np.array([[0.5, 0.1], [0.5, 0.9]])}
    >>> states = {"a": ("yes", "no"), "b": ("yes", "no")}
    >>> evidence_likelihood(table, states, {"a": "yes"}).tolist()
    [0.9, 0.2]
    >>> points = {"a": {"yes": 1}, "b": {"yes": 1}}
    >>> evidence_likelihood(table, states, {}, (points, 2, None)).round(3).tolist()  # both
    [0.45, 0.02]

    With ``b`` a child of ``a``, P(b | a, cause) has a column block per state of ``a``:

    >>> table["b"] = np.array([[[0.5, 0.1], [0.2, 0.0]], [[0.5, 0.9], [0.8, 1.0]]])
    >>> evidence_likelihood(table, states, {"b": "yes"}, parents={"b": "a"}).round(3).tolist()
    [0.47, 0.02]
    """
    points, low, high = score if score is not None else ({}, None, None)
    totals = score_totals(likelihood, states, hard, points, parents=parents, soft=soft)
    return in_tier(totals, low, high).copy()
