r"""Check the tables against published statistics: the statistics, and the report.

``priors/targets.csv`` lists published figures (likelihood ratios, prevalences in a subgroup,
sensitivities and specificities) with their 95% CIs. :func:`check_targets` computes each
figure exactly from the model, in the target's setting:

.. math::

    \mathrm{LR}_k(e) = \frac{P(e \mid k)}{\sum_{c \ne k} \pi_c P(e \mid c) / \sum_{c \ne k} \pi_c},
    \qquad P(k \mid e) = \frac{\pi_k P(e \mid k)}{\sum_c \pi_c P(e \mid c)},

where :math:`\pi` is the setting's prior (restricted to the causes the target keeps) and
:math:`P(e \mid c)` the exact likelihood of the evidence, a Wells tier included.

The calibration that moves the estimate numbers to meet the targets is in
``_calibrate.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from ._exceptions import InvalidOptionError
from ._likelihood import ScoreTier, evidence_likelihood, in_tier, score_totals
from ._schema import Tables, Target
from ._tables import parse_targets
from ._wells import WELLS_ITEMS

if TYPE_CHECKING:
    import pandas as pd

    from ._core import Compiled

__all__ = ["TargetCheck", "TargetReport", "check_targets", "target_values"]

FloatArray = npt.NDArray[np.float64]

#: Points of each Wells finding state (Wells 2003 as in NICE NG158).
WELLS_POINTS: Final[Mapping[str, Mapping[str, int]]] = {
    item.finding: {item.state: item.points} for item in WELLS_ITEMS
}
#: Score tiers a target may condition on: (points, lowest total, highest total).
SCORES: Final[Mapping[tuple[str, str], ScoreTier]] = {
    ("wells", "low"): (WELLS_POINTS, None, 0),
    ("wells", "moderate"): (WELLS_POINTS, 1, 2),
    ("wells", "high"): (WELLS_POINTS, 3, None),
    ("wells_two", "unlikely"): (WELLS_POINTS, None, 1),
    ("wells_two", "likely"): (WELLS_POINTS, 2, None),
}


# --------------------------------------------------------------------------------------------
# Statistics


def _findings_of(target: Target, parents: Mapping[str, str]) -> set[str]:
    """Return the findings whose numbers a target's statistic depends on.

    These are the findings of its evidence and score, and their parents (a child's
    probability is a sum over its parent's states).
    """
    found = {finding for finding, _ in target.evidence}
    if target.score is not None:
        found |= set(SCORES[target.score][0])
    return found | {parents[f] for f in found if f in parents}


def target_values(
    targets: Sequence[Target],
    causes: Sequence[str],
    priors: Mapping[str, FloatArray],
    likelihood: Mapping[str, FloatArray],
    states: Mapping[str, tuple[str, ...]],
    parents: Mapping[str, str],
) -> FloatArray:
    """Return each target's statistic computed from the tables (axis -1: targets).

    ``priors`` maps setting → (..., causes) and ``likelihood`` finding → (..., states,
    causes), or (..., states, parent states, causes) for a finding with a parent; leading
    axes (a batch of tables) broadcast.
    """
    values = []
    # A score's distribution given the same evidence serves all its tiers: computed once.
    distributions: dict[tuple[object, ...], tuple[int, FloatArray]] = {}
    for target in targets:
        keep = np.array([cause not in target.excluded for cause in causes], dtype=np.float64)
        prior = priors[target.setting] * keep
        prior = prior / prior.sum(axis=-1, keepdims=True)
        if target.score is not None:
            points, low, high = SCORES[target.score]
            key: tuple[object, ...] = (target.evidence, id(points))
            if key not in distributions:
                distributions[key] = score_totals(
                    likelihood, states, dict(target.evidence), points, parents=parents
                )
            like = in_tier(distributions[key], low, high)
        elif target.evidence:
            key = (target.evidence, -1)
            if key not in distributions:  # targets on one subgroup share its likelihood
                found = evidence_likelihood(
                    likelihood, states, dict(target.evidence), parents=parents
                )
                distributions[key] = (0, found[None])
            like = distributions[key][1][0]
        else:
            like = np.ones_like(prior)
        k = causes.index(target.cause)
        rest = prior.copy()
        rest[..., k] = 0.0
        rest_like = (rest * like).sum(axis=-1) / rest.sum(axis=-1)
        if target.statistic == "likelihood_ratio":
            value = like[..., k] / rest_like
        elif target.statistic == "probability":
            value = prior[..., k] * like[..., k] / (prior * like).sum(axis=-1)
        elif target.statistic == "sensitivity":
            value = like[..., k]
        else:  # specificity
            value = 1.0 - rest_like
        values.append(value)
    shape = np.broadcast_shapes(*(np.shape(value) for value in values))
    return np.stack([np.broadcast_to(value, shape) for value in values], axis=-1)


def _setting_priors(tables: Tables) -> dict[str, FloatArray]:
    return {setting: np.asarray(prior) for setting, prior in tables.setting_priors.items()}


# --------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True, slots=True)
class TargetCheck:
    """One target against the model: the published value and interval, and the model's.

    Attributes
    ----------
    target : Target
        The published statistic.
    model_value : float
        The same statistic computed from the model, in the target's setting.
    met : bool
        Whether ``model_value`` lies in the target's interval.
    miss : float
        0 when met; otherwise the model value minus the nearest bound (negative: too low).
    """

    target: Target
    model_value: float
    met: bool
    miss: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary (numbers unrounded)."""
        t = self.target
        return {
            "target_id": t.id,
            "setting": t.setting,
            "statistic": t.statistic,
            "cause": t.cause,
            "evidence": t.evidence_text,
            "value": t.value,
            "ci_low": t.low,
            "ci_high": t.high,
            "model_value": self.model_value,
            "met": self.met,
            "miss": self.miss,
            "source_id": t.source_id,
        }


@dataclass(frozen=True, slots=True)
class TargetReport:
    """Every target of a model, checked: see :func:`check_targets`.

    Attributes
    ----------
    checks : tuple of TargetCheck
        One per target, in ``targets.csv`` order.
    content_hash : str
        The SHA-256 of the tables checked.
    """

    checks: tuple[TargetCheck, ...]
    content_hash: str = field(repr=False)

    @property
    def all_met(self) -> bool:
        """Whether every target is met."""
        return all(check.met for check in self.checks)

    @property
    def unmet(self) -> tuple[TargetCheck, ...]:
        """The targets the model misses."""
        return tuple(check for check in self.checks if not check.met)

    def __getitem__(self, target_id: str) -> TargetCheck:
        for check in self.checks:
            if check.target.id == target_id:
                return check
        msg = f"Unknown target {target_id!r}. Targets: {', '.join(self.ids())}."
        raise InvalidOptionError(msg)

    def ids(self) -> tuple[str, ...]:
        """Return the target ids, in order."""
        return tuple(check.target.id for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary (numbers unrounded)."""
        return {
            "all_met": self.all_met,
            "content_hash": self.content_hash,
            "targets": [check.to_dict() for check in self.checks],
        }

    def to_frame(self) -> pd.DataFrame:
        """Return one row per target: ids, published value and CI, model value, met, miss."""
        import pandas as pd

        return pd.DataFrame([check.to_dict() for check in self.checks])

    def lines(self) -> list[str]:
        """Return the report as lines of text (rounded for reading)."""
        met = sum(check.met for check in self.checks)
        out = [f"Targets met: {met} of {len(self.checks)}"]
        for check in self.checks:
            t = check.target
            mark = "ok  " if check.met else "MISS"
            out.append(
                f"  {mark} {t.id}: model {check.model_value:.4g}, published {t.value:.4g} "
                f"({t.low:.4g}-{t.high:.4g}) [{t.statistic}, {t.setting}]"
            )
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        met = sum(check.met for check in self.checks)
        return f"<TargetReport targets={len(self.checks)} met={met}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{c.target.id}</td><td>{c.target.statistic}</td>"
            f"<td>{c.target.value:.3g} ({c.target.low:.3g}-{c.target.high:.3g})</td>"
            f"<td>{c.model_value:.3g}</td><td>{'yes' if c.met else '<b>no</b>'}</td></tr>"
            for c in self.checks
        )
        return (
            "<table><tr><th>target</th><th>statistic</th><th>published (CI)</th>"
            f"<th>model</th><th>met</th></tr>{rows}</table>"
        )


def _resolve_targets(tables: Tables, targets: object) -> tuple[Target, ...]:
    if targets is None:
        return tables.targets
    if isinstance(targets, str | Path):
        path = Path(targets)
        if path.is_dir():
            path = path / "targets.csv"
        try:
            data = path.read_bytes()
        except OSError as error:
            msg = f"Cannot read the targets file {str(path)!r}: {error.strerror or error}."
            raise InvalidOptionError(msg) from error
        return parse_targets(data, str(path), tables)
    if isinstance(targets, Iterable):
        chosen = tuple(targets)
        if all(isinstance(t, Target) for t in chosen):
            return tuple(t for t in chosen if isinstance(t, Target))
    msg = (
        "targets must be None (the model's own targets.csv), a path to a targets.csv file, "
        f"or Target records. Got {targets!r} (of type {type(targets).__name__}) instead."
    )
    raise InvalidOptionError(msg)


def check_targets(compiled: Compiled, targets: object = None) -> TargetReport:
    """Compute every published target from ``model`` and say whether it is met.

    See :meth:`calfdx.Model.check_targets`.
    """
    tables = compiled.tables
    chosen = _resolve_targets(tables, targets)
    causes = [cause.id for cause in tables.causes]
    states = {f.id: f.states for f in tables.findings}
    checks = []
    if chosen:
        values = target_values(
            chosen, causes, _setting_priors(tables), tables.likelihood, states, tables.parents
        )
        for target, value in zip(chosen, values.tolist(), strict=True):
            met = target.low <= value <= target.high
            miss = 0.0 if met else value - (target.low if value < target.low else target.high)
            checks.append(TargetCheck(target, value, met, miss))
    return TargetReport(tuple(checks), tables.content_hash)
