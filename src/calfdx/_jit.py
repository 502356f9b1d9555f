"""numba, when it is installed: compile a function once per process, its code cached on disk.

Kernels are plain module-level Python functions written for numba. :func:`compiled` returns
one compiled (at its first use in a process, then loaded from numba's disk cache), or None
when numba is not installed, so that callers keep a numpy path giving the same numbers.
:func:`compiled_if_loaded` does the same only once numba is imported: for a kernel that is
worth a few microseconds a call but not numba's import (about 0.3 s) on a one-off call.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

__all__ = ["compiled", "compiled_if_loaded", "jit"]

F = TypeVar("F", bound=Callable[..., Any])

_LOCK = threading.Lock()
#: Function → its compiled version, or None without numba (filled at first use).
_COMPILED: dict[Callable[..., Any], Callable[..., Any] | None] = {}
_NOT_YET: Final = object()


def jit(function: Callable[..., object]) -> Callable[..., object]:
    """Return ``function`` compiled by numba, its machine code cached on disk when possible.

    numba keeps the cache beside the module (``__pycache__``) or, when that is read-only, in
    the user's cache folder; with neither writable (a locked-down container), it compiles in
    memory once per process instead. ImportError without numba.
    """
    import numba

    try:
        return cast("Callable[..., object]", numba.njit(nogil=True, cache=True)(function))
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return cast("Callable[..., object]", numba.njit(nogil=True)(function))


def compiled(function: F) -> F | None:
    """Return ``function`` compiled by numba (once per process), or None without numba."""
    try:
        return cast("F | None", _COMPILED[function])
    except KeyError:
        with _LOCK:
            if function not in _COMPILED:
                try:
                    _COMPILED[function] = jit(function)
                except ImportError:
                    _COMPILED[function] = None
            return cast("F | None", _COMPILED[function])


def compiled_if_loaded(function: F) -> F | None:
    """Return :func:`compiled` ``function`` once numba is imported in this process, else None.

    Never imports numba itself: the caller's numpy path must give the same numbers.
    """
    found = _COMPILED.get(function, _NOT_YET)
    if found is not _NOT_YET:
        return cast("F | None", found)
    if "numba" not in sys.modules:
        return None
    return compiled(function)
