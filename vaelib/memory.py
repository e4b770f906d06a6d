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

A model called eagerly on n images keeps memory in proportion to the largest n it has seen
(an encoder on 16,384 images: 0.27 GB for good; on 2,048: 0.02 GB; benchmarks/LEVERS.md), so
the measures call models through :func:`in_blocks`, at most :data:`EAGER_ROWS` rows at a time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import numpy as np

from vaelib.checks import check_int

# Rows per eager model call in :func:`in_blocks`: small enough that what a call keeps stays small,
# large enough that the per-call overhead does not matter.
EAGER_ROWS = 2048


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


def in_blocks(function, inputs, *, rows: int = EAGER_ROWS):
    """``function(inputs)`` computed ``rows`` input rows at a time and stacked as NumPy arrays.

    ``function`` maps an array of n rows to an array of n rows, or to a tuple of such arrays (a
    VAE's ``encode``); the result has the same structure: the block calls' outputs stacked, bit for
    bit. Against one call over all rows, a float32 network may differ in the last bits, as the CPU
    can pick another matrix-multiply kernel for another row count (tests/test_memory.py).
    """
    rows = check_int("rows", rows, minimum=1)
    if len(inputs) == 0:
        raise ValueError("inputs must have at least one row")
    blocks = [function(inputs[start:start + rows]) for start in range(0, len(inputs), rows)]
    if isinstance(blocks[0], (tuple, list)):
        return tuple(np.concatenate([np.asarray(block[i]) for block in blocks]) for i in range(len(blocks[0])))
    return np.concatenate([np.asarray(block) for block in blocks])
