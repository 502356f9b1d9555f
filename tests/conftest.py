"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

import calfdx

from .tablewriter import TOY_LIKELIHOOD, TOY_PRIOR, write_tables

# CI runs the same examples every time (a red CI is then a reproducible one); local runs
# keep exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
#: make check's quick loop (CALFDX_QUICK=1) runs each property test on a tenth of the
#: examples its @settings asks for, at least 5; make test runs them all.
QUICK = os.environ.get("CALFDX_QUICK") == "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under CALFDX_QUICK=1, cut every hypothesis test's max_examples to a tenth."""
    if not QUICK:
        return
    done: set[int] = set()
    for item in items:
        test = getattr(item, "obj", None)
        # A test's own @settings win over a profile, so the cut is made on each test's.
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if own is None or id(test) in done:
            continue
        done.add(id(test))
        quick = settings(own, max_examples=max(5, own.max_examples // 10))
        test._hypothesis_internal_use_settings = quick  # type: ignore[union-attr]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


@pytest.fixture(scope="session")
def model() -> calfdx.Model:
    """The model on the tables shipped with calfdx."""
    return calfdx.load_model()


@pytest.fixture
def toy_dir(tmp_path: Path) -> Path:
    """A folder holding the two-cause toy network."""
    return write_tables(tmp_path / "toy", TOY_PRIOR, TOY_LIKELIHOOD)


@pytest.fixture(scope="session")
def shipped_dir() -> Path:
    """The top-level priors/ folder of this checkout."""
    return Path(__file__).resolve().parents[1] / "priors"
