"""Checks of the caller's options: one small checker per idea, each raising a CalfdxError.

A leaf module (it imports only the exceptions), so that every other module can use it. Each
checker returns the value in the form the code needs (a Python ``float``, ``int`` or
``Path``) or raises :class:`~calfdx.InvalidOptionError` with the option's name, what was
given and what is allowed. None of them lets a Python exception through: a huge integer
(``10**400``), NaN, an unhashable value or a string where a number belongs all get the same
kind of message.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Hashable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, Final

import numpy as np

from ._exceptions import InvalidOptionError

__all__ = [
    "ESS_RANGE",
    "describe",
    "finite_number",
    "hashable_names",
    "output_path",
    "positive_count",
    "pseudo_count",
    "record_dict",
    "seed",
    "strict_json",
    "text",
    "unit_probability",
]

#: The smallest and largest effective sample size (or pseudo-count) calfdx accepts: at least
#: one patient's worth of evidence, at most a billion patients (beyond that, Dirichlet draws
#: and Beta quantiles lose their precision).
ESS_RANGE: Final = (1.0, 1e9)


def describe(value: object) -> str:
    """Return ``value`` as an error message shows it: its repr (shortened) and its type."""
    try:
        shown = repr(value)
    except Exception:
        shown = "<unprintable>"
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"{shown} (of type {type(value).__name__})"


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def as_float(value: object) -> float | None:
    """Return a real number as a Python float, or None (not real, or too large for a float)."""
    if not _is_real(value):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except OverflowError:  # an int beyond the float range, e.g. 10**400
        return None


def finite_number(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a finite real number; raise otherwise."""
    number = as_float(value)
    if number is None or not math.isfinite(number):
        msg = f"{name} must be a finite number. Got {describe(value)} instead."
        raise InvalidOptionError(msg)
    return number


def unit_probability(value: object, name: str, *, open_interval: bool = False) -> float:
    """Return ``value`` as a float if it is a number in [0, 1] (or (0, 1)); raise otherwise."""
    number = as_float(value)
    inside = (
        number is not None
        and math.isfinite(number)
        and ((0.0 < number < 1.0) if open_interval else (0.0 <= number <= 1.0))
    )
    if not inside:
        interval = "(0, 1), strictly between 0 and 1" if open_interval else "[0, 1]"
        msg = f"{name} must be a number in {interval}. Got {describe(value)} instead."
        raise InvalidOptionError(msg)
    return number  # type: ignore[return-value]  # checked just above


def positive_count(value: object, name: str, *, allow_zero: bool = False) -> int:
    """Return ``value`` as an int if it is a positive (or non-negative) integer; else raise."""
    number = _integer(value)
    if number is None or number < (0 if allow_zero else 1):
        kind = "non-negative" if allow_zero else "positive"
        msg = f"{name} must be a {kind} integer. Got {describe(value)} instead."
        raise InvalidOptionError(msg)
    return number


def _integer(value: object) -> int | None:
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return int(value)
    return None


def seed(value: object, name: str = "seed") -> int | None:
    """Return a random seed: None, or a non-negative integer; raise otherwise."""
    if value is None:
        return None
    number = _integer(value)
    if number is None or number < 0:
        msg = f"{name} must be None or a non-negative integer. Got {describe(value)} instead."
        raise InvalidOptionError(msg)
    return number


def pseudo_count(value: object, name: str) -> float:
    """Return an effective sample size or pseudo-count, a number within :data:`ESS_RANGE`."""
    number = as_float(value)
    low, high = ESS_RANGE
    if number is None or not low <= number <= high:
        msg = (
            f"{name} must be a number from {low:g} to {high:g} (patients' worth of evidence). "
            f"Got {describe(value)} instead."
        )
        raise InvalidOptionError(msg)
    return number


def text(value: object, name: str) -> str:
    """Return ``value`` if it is a string; raise otherwise (e.g. for a list or None)."""
    if not isinstance(value, str):
        msg = f"{name} must be a string. Got {describe(value)} instead."
        raise InvalidOptionError(msg)
    return value


def hashable_names(values: Collection[object], name: str) -> frozenset[Hashable]:
    """Return the members of a collection of column names; raise for unhashable members."""
    bad = [value for value in values if not isinstance(value, Hashable)]
    if bad:
        shown = ", ".join(describe(value) for value in bad[:5])
        msg = f"{name} must hold column names (strings). Got {shown} instead."
        raise InvalidOptionError(msg)
    try:
        return frozenset(values)
    except TypeError as error:  # a tuple holding a list: Hashable, yet not hashable
        msg = f"{name} must hold column names (strings). {error}."
        raise InvalidOptionError(msg) from None


def output_path(value: object, name: str) -> Path:
    """Return ``value`` as a Path if it is a non-empty path (str or os.PathLike); else raise."""
    if isinstance(value, str | os.PathLike) and not isinstance(value, bytes):
        path = Path(value)
        if str(value) and "\0" not in str(path):
            return path
    msg = f"{name} must be a file or folder path (a str or pathlib.Path). Got {describe(value)}."
    raise InvalidOptionError(msg)


def record_dict(record: Any) -> dict[str, Any]:
    """Return a dataclass record's fields as a dictionary, in field order; mappings copied.

    A shallow :func:`dataclasses.asdict` for records whose fields hold no other records: each
    mapping becomes a new ``dict`` (a read-only ``MappingProxyType`` too, which ``asdict``
    cannot copy), every other value is returned as it is.
    """
    return {
        f.name: dict(value) if isinstance(value := getattr(record, f.name), Mapping) else value
        for f in fields(record)
    }


def strict_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """Return a record with plain Python types only, for ``json.dumps(allow_nan=False)``.

    numpy scalars become Python numbers, tuples and other sequences lists, mappings dicts
    with string keys, and non-finite floats (NaN, ±infinity) ``None``; objects with
    ``to_dict`` are converted, anything else becomes its ``str``.
    """
    return {str(key): _plain(item) for key, item in record.items()}


#: Types that are already plain JSON values (exact types: subclasses take the slow path).
_JSON_SCALARS: Final = frozenset({str, bool, int, type(None)})


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _JSON_SCALARS:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {str(key): _plain(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        return [_plain(item) for item in value]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return _plain(to_dict())
    return str(value)
