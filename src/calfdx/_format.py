"""Format numbers for reading: one percent formatter for every text calfdx shows.

A leaf module (standard library only). Results keep raw numbers; only their text views
(``__str__``, HTML, plot labels, explanations) round, through these helpers.
"""

from __future__ import annotations

__all__ = ["percent"]


def percent(p: float, *, whole: float = 0.1) -> str:
    """Return a probability as a percentage for reading: ``41%``, ``4.2%`` or ``<0.1%``.

    Probabilities of at least ``whole`` show no decimals, smaller ones one decimal; below
    0.1% the text is ``<0.1%``.

    Examples
    --------
    >>> percent(0.4149), percent(0.0423), percent(0.0004)
    ('41%', '4.2%', '<0.1%')
    >>> percent(0.4149, whole=float("inf"))
    '41.5%'
    """
    if p >= whole:
        return f"{100 * p:.0f}%"
    if p >= 0.001:
        return f"{100 * p:.1f}%"
    return "<0.1%"
