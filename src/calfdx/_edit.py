r"""Edit a model's numbers without breaking its tables, and write the tables back out.

An edit changes one number and renormalises the other entries of the same distribution
**proportionally**, so they keep their ratios to each other:

.. math::

    p'_j = p_j \, \frac{1 - v}{1 - p_i} \quad (j \ne i), \qquad p'_i = v .

The edited row keeps its source but becomes an ``expert_estimate`` whose reasoning says what
the number was and where it came from; every renormalised row says it was rescaled. The
edited tables go through the same checks as files on disk.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Final

from ._checks import describe, text, unit_probability
from ._exceptions import InvalidOptionError
from ._schema import Tables, cause_index

__all__ = ["check_parent_state", "edit_likelihood", "edit_prior", "write_tables"]

#: Significant digits kept for a rescaled number (the edited number itself is kept exactly).
_DIGITS: Final = 15

Rows = list[dict[str, str]]


def _plain(text: str) -> str:
    """Return a number written by Python (maybe ``1e-13``) as a plain decimal, exactly."""
    if "e" not in text and "E" not in text:
        return text
    plain = format(Decimal(text), "f")
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def exact_number(value: float) -> str:
    """Return ``value`` as the shortest plain decimal that reads back as the same float."""
    return _plain(repr(float(value)))


def _number(value: float) -> str:
    """Return a computed number rounded to 15 significant digits, as a plain decimal.

    Relative rounding: 1e-13 stays 1e-13 (written ``0.0000000000001``), never 0.
    """
    return _plain(format(value, f".{_DIGITS}g"))


def _rewrite(data: bytes, change: Callable[[Rows], object]) -> bytes:
    """Parse a CSV file, let ``change`` edit its rows, and write it back (same dialect)."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = list(reader.fieldnames or [])
    rows: Rows = list(reader)
    change(rows)
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _check_probability(value: object, name: str) -> float:
    # Strictly between 0 and 1: the tables refuse 0 and 1 (rule 2 of priors/README.md).
    return unit_probability(value, name, open_interval=True)


def _renormalise(rows: Rows, target: int, value: float, what: str) -> None:
    """Set rows[target] to value; rescale the other rows so the group still sums to 1."""
    old = float(rows[target]["probability"])
    others = [row for i, row in enumerate(rows) if i != target]
    rest = sum(float(row["probability"]) for row in others)
    if value < 1.0 and rest <= 0.0:
        msg = (
            f"Cannot set {what} to {value}: every other entry of its distribution is 0, so "
            "there is nothing to rescale. Edit another entry first."
        )
        raise InvalidOptionError(msg)
    factor = (1.0 - value) / rest if rest > 0 else 0.0
    edited = rows[target]
    original = (
        f"{edited['source_type']}"
        + (f" {edited['source_id']}" if edited["source_id"] else "")
        + (f": {edited['reasoning']}" if edited["reasoning"] else "")
    )
    edited["probability"] = exact_number(value)
    edited["reasoning"] = f"Edited in calfdx from {old:g} to {value:g} (was {original})"
    edited["source_type"] = "expert_estimate"
    for row in others:
        row["probability"] = _number(float(row["probability"]) * factor)
        if factor != 1.0:
            note = f"[rescaled by {factor:.6g} after {what} was edited]"
            row["reasoning"] = f"{row['reasoning']} {note}".strip()
    if others:
        # Rounding to _DIGITS digits leaves a residual; the largest rescaled entry absorbs it.
        largest = max(others, key=lambda row: float(row["probability"]))
        residual = 1.0 - value - sum(float(row["probability"]) for row in others)
        largest["probability"] = _number(float(largest["probability"]) + residual)
    vanished = [row for row in others if not float(row["probability"]) > 0.0]
    if vanished:
        msg = (
            f"Cannot set {what} to {value!r}: rescaling the other entries of its distribution "
            f"would make {len(vanished)} of them 0, which the tables refuse (rule 2 of "
            "priors/README.md). Choose a value further from 1."
        )
        raise InvalidOptionError(msg)


def edit_prior(tables: Tables, cause: str, value: float) -> dict[str, bytes]:
    """Return new table files with P(cause) = value in the tables' setting."""
    cause_index(tables.causes, cause)
    value = _check_probability(value, "p")

    def change(rows: Rows) -> None:
        group = [row for row in rows if row["setting"] == tables.setting]
        target = next(i for i, row in enumerate(group) if row["cause"] == cause)
        _renormalise(group, target, value, f"P({cause}) in {tables.setting}")

    files = dict(tables.files)
    files["priors.csv"] = _rewrite(files["priors.csv"], change)
    return files


def check_parent_state(
    tables: Tables, finding: str, parent_state: object, *, required: bool = True
) -> str:
    """Return the parent state that picks one of ``finding``'s distributions ("" for none).

    A finding with a parent finding has one distribution per state of its parent, so it
    needs ``parent_state`` (unless not ``required``: then None gives ""); a finding
    without one refuses it.

    Raises
    ------
    InvalidOptionError
        Naming the finding, the value given and the allowed parent states.
    """
    spec = next(f for f in tables.findings if f.id == finding)
    if not spec.parent:
        if parent_state is None:
            return ""
        msg = (
            f"Finding {finding!r} has no parent finding, so it takes no parent_state. "
            f"Got parent_state={_describe_value(parent_state)} instead; leave it out."
        )
        raise InvalidOptionError(msg)
    allowed = next(f for f in tables.findings if f.id == spec.parent).states
    if parent_state is None and not required:
        return ""
    if not isinstance(parent_state, str) or parent_state not in allowed:
        got = "none" if parent_state is None else _describe_value(parent_state)
        msg = (
            f"Finding {finding!r} has the parent finding {spec.parent!r}: its numbers are "
            f"P({finding} | {spec.parent}, cause), so give parent_state, one of the states of "
            f"{spec.parent!r}: {list(allowed)}. Got {got} instead."
        )
        raise InvalidOptionError(msg)
    return parent_state


def _describe_value(value: object) -> str:
    """Return a string value as its repr, anything else with its type."""
    return repr(value) if isinstance(value, str) else describe(value)


def edit_likelihood(
    tables: Tables,
    finding: str,
    state: str,
    cause: str,
    value: float,
    parent_state: str | None = None,
) -> dict[str, bytes]:
    """Return new table files with P(finding = state | [parent = parent_state,] cause) = value."""
    vocabulary = {f.id: f for f in tables.findings}
    text(finding, "finding")
    text(state, "state")
    if finding not in vocabulary:
        msg = f"Unknown finding {finding!r}. Known findings: {', '.join(vocabulary)}."
        raise InvalidOptionError(msg)
    if state not in vocabulary[finding].states:
        msg = (
            f"Unknown state {state!r} for finding {finding!r}. "
            f"Allowed states: {list(vocabulary[finding].states)}."
        )
        raise InvalidOptionError(msg)
    given = check_parent_state(tables, finding, parent_state)
    cause_index(tables.causes, cause)
    value = _check_probability(value, "p")
    condition = f"{vocabulary[finding].parent}={given}, " if given else ""

    def change(rows: Rows) -> None:
        group = [
            row
            for row in rows
            if row["finding"] == finding
            and row["cause"] == cause
            and (row.get("parent_state") or "") == given
        ]
        target = next(i for i, row in enumerate(group) if row["state"] == state)
        _renormalise(group, target, value, f"P({finding}={state} | {condition}{cause})")

    files = dict(tables.files)
    files["likelihoods.csv"] = _rewrite(files["likelihoods.csv"], change)
    return files


def write_tables(tables: Tables, folder: str | Path) -> Path:
    """Write every table file to ``folder`` (created if needed), byte for byte."""
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name, data in tables.files.items():
            (target / name).write_bytes(data)
    except OSError as error:  # no permission, a full disk, a name too long...
        reason = error.strerror or type(error).__name__
        msg = f"Cannot write the tables to the folder {str(target)[:200]!r}: {reason}."
        raise InvalidOptionError(msg) from None
    return target
