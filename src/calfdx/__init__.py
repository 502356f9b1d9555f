"""calfdx: Bayesian differential diagnosis of calf pain, with a DVT alert.

calfdx supports clinical decisions; it does not make them.

The knowledge base is a set of CSV tables (``priors/``): the prior prevalence of each cause
of calf pain, and the probability of each finding given each cause, every number with its
source. calfdx builds a Bayesian network from them and answers exactly.

Examples
--------
>>> import calfdx
>>> result = calfdx.diagnose(onset="sudden", pop_sensation="yes", thompson_test="positive")
>>> result.top_cause
'achilles_rupture'
"""

from __future__ import annotations

import contextlib as _contextlib
import typing as _typing
import warnings as _warnings

from ._api import (
    diagnose,
    diagnose_batch,
    evaluate,
    findings,
    load_model,
    sensitivity,
    threshold_for_sensitivity,
    vocabulary,
    wells_score,
)
from ._calibrate import CalibrationError
from ._conflict import Conflict
from ._core import DEFAULT_DVT_THRESHOLD, DISCLAIMER
from ._evaluate import Evaluation
from ._exceptions import (
    CalfdxError,
    DuplicateFindingError,
    EvidenceError,
    ImpossibleEvidenceError,
    InvalidOptionError,
    TableError,
    TableProblem,
    UnknownFindingError,
    UnknownStateError,
)
from ._explain import Contribution, Explanation, QuestionRanking, Suggestion
from ._model import Model
from ._plots import plot_targets
from ._results import Diagnosis
from ._schema import DEFAULT_SETTING, Cause, Finding, RedFlag, Source, Target
from ._tables import table_problems
from ._targets import TargetCheck, TargetReport
from ._triage import Triage
from ._uncertainty import PosteriorInterval, plot_tornado
from ._version import __version__
from ._wells import WELLS_ITEMS, WellsItem, WellsScore

__all__ = [
    "DEFAULT_DVT_THRESHOLD",
    "DEFAULT_SETTING",
    "DISCLAIMER",
    "WELLS_ITEMS",
    "CalfdxError",
    "CalibrationError",
    "Cause",
    "Conflict",
    "Contribution",
    "Diagnosis",
    "DuplicateFindingError",
    "Evaluation",
    "EvidenceError",
    "Explanation",
    "Finding",
    "ImpossibleEvidenceError",
    "InvalidOptionError",
    "Model",
    "PosteriorInterval",
    "QuestionRanking",
    "RedFlag",
    "Source",
    "Suggestion",
    "TableError",
    "TableProblem",
    "Target",
    "TargetCheck",
    "TargetReport",
    "Triage",
    "UnknownFindingError",
    "UnknownStateError",
    "WellsItem",
    "WellsScore",
    "__version__",
    "diagnose",
    "diagnose_batch",
    "evaluate",
    "findings",
    "load_model",
    "plot_targets",
    "plot_tornado",
    "sensitivity",
    "table_problems",
    "threshold_for_sensitivity",
    "vocabulary",
    "wells_score",
]

# Show public objects as calfdx.X rather than calfdx._module.X in reprs and docs.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("calfdx._"):
        with _contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = __name__
del _name, _obj


if _typing.TYPE_CHECKING:
    # Deprecated, reached through __getattr__ below; type checkers still know the class.
    from ._exceptions import CalfdxWarning as CalfdxWarning
else:

    def __getattr__(name: str) -> object:
        # Deprecated names: still importable, with a DeprecationWarning, until calfdx 0.3.
        if name == "CalfdxWarning":
            from ._exceptions import CalfdxWarning

            _warnings.warn(
                "calfdx.CalfdxWarning is deprecated: calfdx never raised it; it will be "
                "removed in calfdx 0.3.",
                DeprecationWarning,
                stacklevel=2,
            )
            return CalfdxWarning
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
