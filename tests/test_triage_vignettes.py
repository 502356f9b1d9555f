"""Triage accuracy on textbook vignettes, per level, beside the symptom-checker benchmark.

Run ``.venv/bin/pytest tests/test_triage_vignettes.py -s`` to print the per-level table that
``priors/README.md`` shows next to Semigran et al. (BMJ 2015): symptom checkers gave
appropriate triage advice in 80% of emergent, 55% of non-emergent and 33% of self-care
vignettes.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

import calfdx

from .triage_vignettes import TRIAGE_VIGNETTES, TriageVignette

LEVELS = ("emergency", "same_day", "routine", "self_care")


def _models() -> dict[str, calfdx.Model]:
    settings = calfdx.load_model().settings
    return {setting: calfdx.load_model(setting=setting) for setting in settings}


def triage_of(vignette: TriageVignette, models: dict[str, calfdx.Model]) -> str:
    """Return calfdx's triage level for a vignette, in the vignette's setting."""
    triage = models[vignette.setting].diagnose(vignette.findings).triage
    assert triage is not None
    return triage.level


def accuracy_table() -> list[tuple[str, int, int]]:
    """Return (expected level, right, total) per level, then ("overall", right, total)."""
    models = _models()
    rows = []
    for level in LEVELS:
        cases = [v for v in TRIAGE_VIGNETTES if v.level == level]
        right = sum(triage_of(v, models) == level for v in cases)
        rows.append((level, right, len(cases)))
    rows.append(("overall", sum(r for _, r, _ in rows), sum(n for _, _, n in rows)))
    return rows


def test_the_vignette_set_covers_every_level_and_setting() -> None:
    """Check there are at least 40 vignettes, covering all four levels and every setting."""
    assert len(TRIAGE_VIGNETTES) >= 40
    assert len({v.id for v in TRIAGE_VIGNETTES}) == len(TRIAGE_VIGNETTES)
    assert {v.level for v in TRIAGE_VIGNETTES} == set(LEVELS)
    settings = set(calfdx.load_model().settings)
    assert {v.setting for v in TRIAGE_VIGNETTES} == settings
    for vignette in TRIAGE_VIGNETTES:
        assert vignette.reason, vignette.id
        assert vignette.story, vignette.id
        calfdx.diagnose(vignette.findings)  # every finding and state exists


def test_triage_accuracy_per_level() -> None:
    """Report accuracy per level; every emergency must be right and 90% overall."""
    rows = accuracy_table()
    print("\n| Expected level | Right | Vignettes | Accuracy |")
    print("|---|---|---|---|")
    for level, right, total in rows:
        print(f"| {level} | {right} | {total} | {right / total:.0%} |")
    by_level = {level: (right, total) for level, right, total in rows}
    right, total = by_level["emergency"]
    assert right == total, "every textbook emergency must be triaged emergency"
    right, total = by_level["overall"]
    assert right / total >= 0.9


@pytest.mark.parametrize(
    "vignette", [v for v in TRIAGE_VIGNETTES if v.level == "emergency"], ids=lambda v: v.id
)
def test_every_textbook_emergency_is_an_emergency(vignette: TriageVignette) -> None:
    """Check each emergency vignette, with the reason in the failure message."""
    assert triage_of(vignette, _models()) == "emergency", f"{vignette.story} ({vignette.reason})"


@pytest.mark.parametrize(
    "vignette", [v for v in TRIAGE_VIGNETTES if v.level != "emergency"], ids=lambda v: v.id
)
def test_no_other_vignette_is_an_emergency(vignette: TriageVignette) -> None:
    """Check no same-day, routine or self-care vignette is escalated to emergency."""
    assert triage_of(vignette, _models()) != "emergency", vignette.story


def _perturbed(folder: Path, seed: int, factor: float) -> Path:
    """Rewrite the likelihoods and priors with every number's odds scaled at random.

    Each probability is multiplied by a log-uniform factor in [1/factor, factor], then each
    (finding, cause) and each setting's prior is renormalised (rounded to 6 decimals, the
    last state the complement). This stands in for the parallel retuning of the numbers.
    """
    rng = np.random.default_rng(seed)

    def rewrite(name: str, key: tuple[str, ...]) -> None:
        with (folder / name).open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields = list(reader.fieldnames or [])
            rows = list(reader)
        groups: dict[tuple[str, ...], list[dict[str, str]]] = {}
        for row in rows:
            groups.setdefault(tuple(row[k] for k in key), []).append(row)
        for group in groups.values():
            scaled = [
                float(r["probability"]) * math.exp(rng.uniform(-1, 1) * math.log(factor))
                for r in group
            ]
            total = sum(scaled)
            values = [max(round(v / total, 6), 1e-6) for v in scaled]
            values[-1] = round(1.0 - sum(values[:-1]), 6)
            for row, value in zip(group, values, strict=True):
                row["probability"] = repr(value)
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    rewrite("likelihoods.csv", ("finding", "cause", "parent_state"))
    rewrite("priors.csv", ("setting",))
    return folder


@pytest.mark.parametrize("seed", range(5))
def test_the_emergency_line_holds_when_the_numbers_are_retuned(tmp_path: Path, seed: int) -> None:
    """Check emergencies stay emergencies, and nothing else becomes one, on perturbed numbers.

    Every likelihood and prior is scaled by a random factor between 1/1.5 and 1.5 (then
    renormalised), as a retuning of the clinical numbers might do.
    """
    folder = _perturbed(calfdx.load_model().to_csv(tmp_path / "tables"), seed, 1.5)
    models = {s: calfdx.load_model(folder, setting=s) for s in calfdx.load_model().settings}
    for vignette in TRIAGE_VIGNETTES:
        level = triage_of(vignette, models)
        assert (level == "emergency") == (vignette.level == "emergency"), (vignette.id, level)
    for setting, model in models.items():
        triage = model.diagnose().triage
        assert triage is not None
        assert triage.level != "emergency", setting
