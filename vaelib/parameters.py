"""A chapter's parameters: refuse a name its ``parameters`` cell does not define, and check each value.

Papermill sets a chapter's parameters in a cell it adds after the ``parameters`` cell, and a
misspelled name (``-p n_trian 2048``) only earns a printed notice there while the chapter runs at
its defaults. Each chapter therefore opens by calling :func:`refuse_unknown_parameters` with the
names it accepts, before any work; its own checks of each value follow, with the checks below (the
library's own, :mod:`vaelib._runtime.validation`: each names the bad value and what is accepted).
"""

from __future__ import annotations

import types
from collections.abc import MutableMapping

from vaelib._runtime.validation import (  # noqa: F401  (the checks a chapter applies to its parameters)
    check_beta, check_int, check_int_sequence, check_real, check_real_sequence, check_seed,
)

# What IPython itself puts in a kernel's namespace.
KERNEL_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})
_CHECKED = "_vaelib_parameters_checked"


def refuse_unknown_parameters(namespace: MutableMapping, *accepted: str) -> None:
    """Raise NameError naming every variable in ``namespace`` (a chapter's ``globals()``) that is not
    one of the ``accepted`` parameter names, a module or the kernel's own.

    Only the first call in a namespace checks: when the chapter runs again in the same kernel, the
    names its own cells defined are present too, and papermill sets parameters once.
    """
    if not isinstance(namespace, MutableMapping):
        raise TypeError(f"namespace must be the chapter's globals(), got {type(namespace).__name__}")
    if _CHECKED in namespace:
        return
    present = {name for name, value in namespace.items()   # parameters are plain values, never modules or functions
               if not name.startswith("_") and name not in KERNEL_NAMES
               and not isinstance(value, types.ModuleType) and not callable(value)}
    unknown = sorted(present - set(accepted))
    if unknown:
        raise NameError(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: "
                        f"this chapter accepts {', '.join(sorted(accepted))}")
    namespace[_CHECKED] = True
