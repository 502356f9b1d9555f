"""Exceptions and warnings raised by calfdx.

Every error calfdx raises on purpose derives from :class:`CalfdxError`. Errors about the
tables or about the caller's input also derive from :class:`ValueError`, so generic
``except ValueError`` handlers keep working::

    CalfdxError
    ├── TableError(CalfdxError, ValueError)         broken prior/likelihood tables
    ├── EvidenceError(CalfdxError, ValueError)      findings the model cannot use
    │   ├── UnknownFindingError                     a finding name not in the vocabulary
    │   ├── UnknownStateError                       a state not allowed for that finding
    │   ├── DuplicateFindingError                   the same finding given twice
    │   └── ImpossibleEvidenceError                 evidence with probability zero
    └── InvalidOptionError(CalfdxError, ValueError) an option outside its allowed values

    CalfdxWarning(UserWarning)                      deprecated: never raised (removed in 0.3)

Messages say where the problem is, what was given and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "CalfdxError",
    "CalfdxWarning",
    "DuplicateFindingError",
    "EvidenceError",
    "ImpossibleEvidenceError",
    "InvalidOptionError",
    "TableError",
    "TableProblem",
    "UnknownFindingError",
    "UnknownStateError",
]


#: How many problems a TableError's message lists (all are in ``problems``, up to 1000).
SHOWN_PROBLEMS: Final = 50


class CalfdxError(Exception):
    """Base class of every error calfdx raises on purpose."""


class CalfdxWarning(UserWarning):
    """Deprecated: calfdx never raises it; ``calfdx.CalfdxWarning`` goes in calfdx 0.3."""


@dataclass(frozen=True, slots=True)
class TableProblem:
    """One problem found in a folder of tables.

    Attributes
    ----------
    file : str
        The file name, e.g. ``"likelihoods.csv"``.
    line : int or None
        The line as an editor shows it (the header is line 1); ``None`` when the problem
        concerns the whole file.
    column : str or None
        The column the problem is in, when there is one.
    message : str
        What is wrong, what was found and what is allowed.
    """

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column is not None:
            where += f", column {self.column!r}"
        return f"{where}: {self.message}"


class TableError(CalfdxError, ValueError):
    """The tables in a folder are broken; ``problems`` lists every problem found.

    Parameters
    ----------
    source : str
        The folder the tables were read from.
    problems : sequence of TableProblem
        Every problem found, in file and line order (at most the first 1000 of them).
    total : int, optional
        How many problems were found, when more were found than ``problems`` holds.

    The message lists the first :data:`SHOWN_PROBLEMS` problems and says how many more
    there are, so that a file with a million broken rows gives a short message.
    """

    def __init__(
        self,
        source: str,
        problems: list[TableProblem] | tuple[TableProblem, ...],
        total: int | None = None,
    ):
        self.source = source
        self.problems: tuple[TableProblem, ...] = tuple(problems)
        self.total: int = max(total or 0, len(self.problems))
        count = self.total
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(f"  - {problem}" for problem in self.problems[:SHOWN_PROBLEMS])
        if count > SHOWN_PROBLEMS:
            lines += f"\n  ... and {count - SHOWN_PROBLEMS} more (first {SHOWN_PROBLEMS} shown)"
        super().__init__(f"The tables in {source} have {count} {noun}:\n{lines}")


class EvidenceError(CalfdxError, ValueError):
    """The findings given cannot be used by the model.

    ``problems`` holds one message per problem when several were found at once.
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()):
        self.problems: tuple[str, ...] = problems or (message,)
        super().__init__(message)


class UnknownFindingError(EvidenceError):
    """A finding name is not in the model's vocabulary."""


class UnknownStateError(EvidenceError):
    """A finding was given a state (or value) that it does not allow."""


class DuplicateFindingError(EvidenceError):
    """The same finding was given twice (in the mapping and as a keyword)."""


class ImpossibleEvidenceError(EvidenceError):
    """The findings have probability zero under every cause of the model."""


class InvalidOptionError(CalfdxError, ValueError):
    """An option (such as a threshold or a setting) is outside its allowed values."""
