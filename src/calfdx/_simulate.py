"""Draw patients from a model: the cause from the prior, then every finding given it.

A family's parent is drawn before its children (the engine's ``Engine.draw``), and values
are hidden only afterwards, so a child always follows its parent's true state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import numpy as np

from ._checks import positive_count
from ._checks import seed as check_seed
from ._evidence import check_threshold
from ._exceptions import InvalidOptionError

if TYPE_CHECKING:
    import pandas as pd

    from ._core import Compiled

__all__ = ["MAX_SIMULATED", "simulate"]

#: The column of the true cause.
CAUSE_COLUMN: Final = "cause"
#: The most patients one call of simulate() draws (about 400 MB of findings).
MAX_SIMULATED: Final = 10_000_000


def simulate(
    compiled: Compiled, n: int, *, seed: int | None = None, missing: float = 0.0
) -> pd.DataFrame:
    """Draw ``n`` patients from ``model``; see :meth:`Model.simulate`."""
    import pandas as pd

    n = positive_count(n, "n", allow_zero=True)
    if n > MAX_SIMULATED:
        msg = (
            f"n must be at most {MAX_SIMULATED:,} patients per call (memory). Got {n:,}; "
            "simulate in several calls with different seeds instead."
        )
        raise InvalidOptionError(msg)
    missing = check_threshold(missing, "missing")
    rng = np.random.default_rng(check_seed(seed))
    tables = compiled.tables
    causes = [c.id for c in tables.causes]
    cause_index = rng.choice(len(causes), size=n, p=tables.prior / tables.prior.sum())
    columns: dict[str, Any] = {
        CAUSE_COLUMN: pd.Categorical.from_codes(cause_index, categories=pd.Index(causes))
    }
    drawn = compiled.engine.draw(rng, cause_index)  # a parent before its children
    for finding in tables.findings:  # hide values only now: a child follows the true parent
        codes = drawn[finding.id].astype(np.int8)
        if missing > 0:
            codes[rng.random(n) < missing] = -1
        columns[finding.id] = pd.Categorical.from_codes(codes, categories=pd.Index(finding.states))
    return pd.DataFrame(columns)
