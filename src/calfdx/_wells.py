"""The Wells DVT score beside the network, in one pinned, cited version.

Version: the modified rule of Wells PS et al., *Evaluation of D-dimer in the diagnosis of
suspected deep-vein thrombosis*, N Engl J Med 2003;349:1227-35, as tabulated by NICE
(NG158, 2020): nine items of +1 and "alternative diagnosis at least as likely as DVT" -2.
Every item is a finding of the calfdx vocabulary, given like any other; nothing is inferred.

Tiers and their DVT prevalence: low (≤0) 4.9% (95% CI 4.2-5.7), moderate (1-2) 17.4%
(16.2-18.8), high (≥3) 53.6% (51.1-56.2), from the meta-analysis of 14 prospective
management studies (>8000 outpatients) reported in Blood 2004;104(11):1052 (ASH abstract;
the preliminary report of Wells et al., JAMA 2006;295:199-207). Caveat: those studies used
the original rule and excluded patients with previous DVT; the 2003 rule adds the
previous-DVT item. The two-level rule (likely ≥2 / unlikely ≤1) is reported without a
prevalence: its figures could not be verified against the 2003 paper.

Missing items are never taken as absent: the score reports the points of the items given,
the range the missing items could add, and a tier only when every completion lands in the
same tier.

Discordance with the network: the odds ratio between the network's P(DVT) and the tier's
prevalence. One Wells tier step multiplies the odds of DVT by about 4 (low→moderate 4.1,
moderate→high 5.5, from the prevalences above), so an odds ratio of 4 or more (or 1/4 or
less) means the network and the Wells rule place the patient about a tier apart: marked
discordance, which (as Dr Wells notes of pre-test/test discordance) should prompt a second
look rather than trust in either.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, Literal

from ._checks import strict_json
from ._evidence import FindingValue, normalize_evidence
from ._exceptions import InvalidOptionError

if TYPE_CHECKING:
    from ._core import Compiled

__all__ = ["WELLS_ITEMS", "WellsItem", "WellsScore"]

Tier = Literal["low", "moderate", "high"]


@dataclass(frozen=True, slots=True)
class WellsItem:
    """One item of the Wells rule: the finding that answers it, and its points."""

    id: str
    finding: str
    state: str
    points: int
    text: str


#: The items of Wells 2003 (N Engl J Med 2003;349:1227-35), as tabulated in NICE NG158.
WELLS_ITEMS: Final = (
    WellsItem("active_cancer", "active_cancer", "yes", 1,
              "Active cancer (treatment ongoing, within 6 months, or palliative)"),
    WellsItem("paralysis_or_cast", "paralysis_or_cast", "yes", 1,
              "Paralysis, paresis or recent plaster immobilisation of the leg"),
    WellsItem("bedridden_or_major_surgery", "bedridden_or_major_surgery", "yes", 1,
              "Bedridden 3 days or more, or major surgery within 12 weeks"),
    WellsItem("deep_vein_tenderness", "calf_tenderness", "yes", 1,
              "Localised tenderness along the deep venous system (calfdx: calf_tenderness)"),
    WellsItem("whole_leg_swollen", "whole_leg_swollen", "yes", 1, "Entire leg swollen"),
    WellsItem("calf_difference_3cm", "calf_difference_3cm", "yes", 1,
              "Calf swelling at least 3 cm larger than the other side"),
    WellsItem("pitting_oedema", "pitting_oedema", "yes", 1,
              "Pitting oedema confined to the symptomatic leg"),
    WellsItem("collateral_veins", "collateral_veins", "yes", 1,
              "Collateral superficial veins (non-varicose)"),
    WellsItem("previous_dvt", "previous_dvt", "yes", 1, "Previously documented DVT"),
    WellsItem("alternative_diagnosis", "alternative_diagnosis_likely", "yes", -2,
              "An alternative diagnosis at least as likely as DVT"),
)  # fmt: skip

#: Tier → (DVT prevalence, 95% CI low, 95% CI high), Blood 2004;104(11):1052.
TIER_PREVALENCE: Final[Mapping[str, tuple[float, float, float]]] = {
    "low": (0.049, 0.042, 0.057),
    "moderate": (0.174, 0.162, 0.188),
    "high": (0.536, 0.511, 0.562),
}
PREVALENCE_SOURCE: Final = (
    "Meta-analysis of 14 prospective management studies (>8000 outpatients with suspected "
    "DVT), Blood 2004;104(11):1052 (ASH abstract); original Wells rule"
)
VERSION: Final = "Wells PS et al. N Engl J Med 2003;349:1227-35 (modified rule, NICE NG158)"
#: Odds ratio between the network's P(DVT) and the tier prevalence called discordant.
DISCORDANCE_ODDS_RATIO: Final = 4.0


def _tier(points: int) -> Tier:
    return "low" if points <= 0 else "moderate" if points <= 2 else "high"


@dataclass(frozen=True, slots=True)
class WellsScore:
    """The Wells DVT score of a patient, with what was counted and what is missing.

    Attributes
    ----------
    points : int
        Points of the items given.
    points_range : tuple of int
        The lowest and highest total the missing items could give.
    counted : tuple of (finding, points)
        Each item given, by the finding that answers it, and the points it scored (0 when
        absent).
    missing : tuple of str
        The findings of the items not given (unknown, or given only as soft evidence):
        never taken as absent. These are the names :func:`wells_score` takes.
    tier : {"low", "moderate", "high"} or None
        The three-level tier, when every completion of the missing items gives the same.
    prevalence, prevalence_ci : float, tuple of float, or None
        The tier's published DVT prevalence and 95% CI.
    two_level : {"likely", "unlikely"} or None
        The two-level category (≥2 likely), when determined.
    network_dvt_probability : float or None
        P(DVT) from the calfdx network for the same findings (when computed with a model).
    odds_ratio : float or None
        Odds of the network's P(DVT) over the odds of the tier prevalence.
    discordant : bool or None
        ``odds_ratio >= 4`` or ``<= 1/4``: the two place the patient about a tier apart.
    not_counted : tuple of str
        Findings of Wells items given only as soft evidence: the rule needs a yes or a no,
        so they were not counted (they are also in ``missing``).
    """

    points: int
    points_range: tuple[int, int]
    counted: tuple[tuple[str, int], ...]
    missing: tuple[str, ...]
    tier: Tier | None
    prevalence: float | None
    prevalence_ci: tuple[float, float] | None
    two_level: Literal["likely", "unlikely"] | None
    network_dvt_probability: float | None
    odds_ratio: float | None
    discordant: bool | None
    version: str = VERSION
    prevalence_source: str = PREVALENCE_SOURCE
    not_counted: tuple[str, ...] = ()

    def compared_with(self, dvt_probability: float) -> WellsScore:
        """Return this score with the discordance against a network P(DVT) filled in."""
        odds_ratio = discordant = None
        if self.prevalence is not None:
            odds_ratio = _odds(dvt_probability) / _odds(self.prevalence)
            discordant = not 1 / DISCORDANCE_ODDS_RATIO < odds_ratio < DISCORDANCE_ODDS_RATIO
        return replace(
            self,
            network_dvt_probability=dvt_probability,
            odds_ratio=odds_ratio,
            discordant=discordant,
        )

    @property
    def complete(self) -> bool:
        """Whether every item was given."""
        return not self.missing

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary (non-finite numbers as None)."""
        return strict_json(
            {
                "points": self.points,
                "points_range": list(self.points_range),
                "counted": [{"item": item, "points": p} for item, p in self.counted],
                "missing": list(self.missing),
                "complete": self.complete,
                "tier": self.tier,
                "prevalence": self.prevalence,
                "prevalence_ci": None if self.prevalence_ci is None else list(self.prevalence_ci),
                "two_level": self.two_level,
                "network_dvt_probability": self.network_dvt_probability,
                "odds_ratio": self.odds_ratio,
                "discordant": self.discordant,
                "version": self.version,
                "prevalence_source": self.prevalence_source,
                "not_counted": list(self.not_counted),
            }
        )

    def __str__(self) -> str:
        low, high = self.points_range
        score = f"{self.points}" if low == high else f"{self.points} (could be {low} to {high})"
        text = f"Wells score {score}"
        if self.tier is not None and self.prevalence is not None and self.prevalence_ci:
            a, b = self.prevalence_ci
            text += f": {self.tier} ({self.prevalence:.1%} DVT, 95% CI {a:.1%}-{b:.1%})"
        else:
            text += ": tier undetermined"
        if self.missing:
            text += f"; missing {', '.join(self.missing)}"
        if self.not_counted:
            text += (
                f" ({', '.join(self.not_counted)} given as soft evidence: not counted, the "
                "rule needs a yes or a no)"
            )
        if self.discordant:
            text += (
                f". DISCORDANT with the network (P(DVT) {self.network_dvt_probability:.1%}): "
                "take a second look"
            )
        return text


def _odds(p: float) -> float:
    return p / (1 - p) if p < 1 else float("inf")


def lacking_items(vocabulary: Collection[str]) -> list[str]:
    """Return the Wells items' findings that the vocabulary lacks, in item order."""
    return [item.finding for item in WELLS_ITEMS if item.finding not in vocabulary]


def points_range(hard: Mapping[str, str]) -> tuple[int, int]:
    """Return the lowest and highest Wells total that hard evidence allows.

    A missing item could be answered either way: it adds its points to one end only.
    """
    low = high = 0
    for item in WELLS_ITEMS:
        state = hard.get(item.finding)
        if state is None:  # missing: either answer is possible
            if item.points < 0:
                low += item.points
            else:
                high += item.points
        elif state == item.state:
            low += item.points
            high += item.points
    return low, high


def tier_of(hard: Mapping[str, str]) -> Tier | None:
    """Return the tier of hard evidence, or None when missing items could change it.

    The same tier as :func:`score_checked`'s, without the record: a result asks this first,
    since with few findings the tier is usually open.
    """
    return _range_tier(*points_range(hard))


def _range_tier(low: int, high: int) -> Tier | None:
    """Return the tier of every total from ``low`` to ``high``, or None if they differ."""
    tier = _tier(low)
    return tier if tier == _tier(high) else None


def score_checked(hard: Mapping[str, str], soft: Collection[str]) -> WellsScore:
    """Return the Wells score of checked evidence: hard states, and the soft findings' names.

    Missing items (and soft ones, which the rule does not count) give a range of points; the
    tier is given only when the whole range falls in one.
    """
    counted: list[tuple[str, int]] = []
    missing: list[str] = []
    for item in WELLS_ITEMS:
        state = hard.get(item.finding)
        if state is None:
            missing.append(item.finding)
        else:
            counted.append((item.finding, item.points if state == item.state else 0))
    points = sum(p for _, p in counted)
    total_range = points_range(hard)
    tier = _range_tier(*total_range)
    prevalence = prevalence_ci = None
    if tier is not None:
        prevalence, a, b = TIER_PREVALENCE[tier]
        prevalence_ci = (a, b)
    two_level: Literal["likely", "unlikely"] | None = None
    if total_range[0] >= 2:
        two_level = "likely"
    elif total_range[1] <= 1:
        two_level = "unlikely"
    return WellsScore(
        points=points,
        points_range=total_range,
        counted=tuple(counted),
        missing=tuple(missing),
        tier=tier,
        prevalence=prevalence,
        prevalence_ci=prevalence_ci,
        two_level=two_level,
        network_dvt_probability=None,
        odds_ratio=None,
        discordant=None,
        not_counted=tuple(item.finding for item in WELLS_ITEMS if item.finding in soft),
    )


def _wells_score(
    compiled: Compiled,
    findings: Mapping[str, FindingValue] | None,
    more_findings: Mapping[str, FindingValue],
) -> tuple[WellsScore, dict[str, FindingValue]]:
    """Return the Wells score, and the findings for the network's P(DVT) beside it."""
    evidence = normalize_evidence(compiled.findings, findings, more_findings)
    names = lacking_items(compiled.findings)
    if names:
        msg = f"These tables lack the findings the Wells rule needs: {names}."
        raise InvalidOptionError(msg)
    score = score_checked(evidence.hard, evidence.soft)
    merged: dict[str, FindingValue] = dict(evidence.hard)
    for name, weights in evidence.soft.items():
        merged[name] = dict(zip(compiled.findings[name].states, weights, strict=True))
    return score, merged
