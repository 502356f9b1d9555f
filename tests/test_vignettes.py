"""Clinical vignettes, and a golden snapshot of diagnose() on them.

The snapshot (tests/snapshots/vignettes.json) makes any change to a number in priors/ show
up as a reviewed diff. After an intended change to the tables, regenerate it with::

    CALFDX_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_vignettes.py

and commit the new snapshot with the tables and a CHANGELOG entry.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import calfdx

from .vignettes import VIGNETTES, Vignette

SNAPSHOT = Path(__file__).parent / "snapshots" / "vignettes.json"


@pytest.mark.parametrize("vignette", VIGNETTES, ids=lambda v: v.id)
def test_vignette(vignette: Vignette) -> None:
    """Check the expected cause ranks where it must and the DVT alert is right."""
    result = calfdx.load_model(setting=vignette.setting).diagnose(vignette.findings)
    top = [cause for cause, _ in result.top(vignette.within)]
    assert vignette.expected in top, f"{vignette.story}\n{result}"
    if vignette.alert is not None:
        assert result.dvt_alert is vignette.alert, f"{vignette.story}\n{result}"


def _snapshot() -> dict[str, dict[str, object]]:
    return {
        v.id: {
            "findings": v.findings,
            "setting": v.setting,
            "posterior": dict(calfdx.load_model(setting=v.setting).diagnose(v.findings).posterior),
            "dvt_alert": calfdx.load_model(setting=v.setting).diagnose(v.findings).dvt_alert,
        }
        for v in VIGNETTES
    }


def test_golden_snapshot() -> None:
    """Check diagnose() on every vignette equals the reviewed snapshot to 1e-12."""
    current = _snapshot()
    if os.environ.get("CALFDX_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=1) + "\n", encoding="utf-8")
    assert SNAPSHOT.exists(), "No snapshot: run with CALFDX_UPDATE_SNAPSHOTS=1 and review it."
    golden = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert set(golden) == set(current)
    for name, case in current.items():
        assert golden[name]["findings"] == case["findings"], name
        assert golden[name]["dvt_alert"] == case["dvt_alert"], name
        expected = golden[name]["posterior"]
        posterior = case["posterior"]
        assert isinstance(posterior, dict)
        assert list(expected) == list(posterior), f"{name}: the ranking changed"
        for cause, p in expected.items():
            assert posterior[cause] == pytest.approx(p, abs=1e-12), (name, cause)
