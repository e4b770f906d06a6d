"""Hand the memory that a finished training or measurement freed back to the operating system.

TensorFlow's runtime and XLA's compiler allocate and free many small blocks through the C
library's ``malloc``. glibc keeps freed blocks that sit between live ones inside the process
instead of returning them, so a chapter kernel's resident memory keeps the high-water mark of
every step it has run (after the first training in a kernel, 0.13 GB of the 1.18 GB resident
were such free blocks: benchmarks/LEVERS.md). ``malloc_trim(0)`` returns those pages; the
next training then starts from a lower floor and peaks lower.

:func:`release_free_memory` is called by :func:`vaelib.experiments.trained` after each model and
by the other steps of the chapters that allocate most. It changes no result, only where freed
memory lives, and does nothing where the C library has no ``malloc_trim`` (macOS, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return the C heap's free pages to the operating system (glibc ``malloc_trim(0)``).

    Returns True if the C library offers it (whether or not any page was free), False where it
    does not (then nothing happens).
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def releases_free_memory(function):
    """Decorator: call :func:`release_free_memory` after ``function`` returns (or raises)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            release_free_memory()

    return wrapper
