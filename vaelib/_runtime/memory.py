"""Hand the memory that a finished training or measurement freed back to the operating system.

TensorFlow's runtime and XLA's compiler allocate and free many small blocks through the C
library's ``malloc``. glibc keeps freed blocks that sit between live ones inside the process
instead of returning them, so a chapter kernel's resident memory keeps the high-water mark of
every step it has run (after the first training in a kernel, 0.13 GB of the 1.18 GB resident
were such free blocks: benchmarks/LEVERS.md). ``malloc_trim(0)`` returns those pages; the
next training then starts from a lower floor and peaks lower.

:func:`release_free_memory` runs after each model is trained (:func:`vaelib.models.report_settings.trained`)
and after the measures that allocate most (:func:`releases_free_memory`), and in a notebook kernel after
each cell that drew a figure (:func:`release_after_figure_cells`). It changes no result, only where
freed memory lives, and does nothing where the C library has no ``malloc_trim`` (macOS, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import sys


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


_FIGURE_HOOK = f"{__name__}:_note_new_figure"
_made_figures = False


def release_after_figure_cells() -> None:
    """In an IPython kernel, after each cell that made Matplotlib figures: collect them and hand their
    memory back (nothing outside a kernel, nothing if already installed).

    A closed Matplotlib figure is a cycle of objects that only the garbage collector's oldest
    generation frees, and in a kernel holding TensorFlow's hundreds of thousands of objects that
    collection comes rarely: chapter 07's kernel grew 0.015-0.02 GB with every panel figure until
    it did. One collection (about 0.1-0.5 s) after each cell that drew, then :func:`release_free_memory`,
    keeps the figures' memory from piling up (benchmarks/LEVERS.md). ``import vaelib`` calls this.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or _free_closed_figures in shell.events.callbacks["post_run_cell"]:
        return
    import matplotlib as mpl

    if _FIGURE_HOOK not in mpl.rcParams["figure.hooks"]:
        mpl.rcParams["figure.hooks"] = [*mpl.rcParams["figure.hooks"], _FIGURE_HOOK]
    shell.events.register("post_run_cell", _free_closed_figures)


def _note_new_figure(figure) -> None:
    """Matplotlib's ``figure.hooks`` entry: remember that this cell made a figure."""
    global _made_figures
    _made_figures = True


def _free_closed_figures(*_) -> None:
    """After a cell that made figures: collect them and release the freed memory."""
    global _made_figures
    if _made_figures:
        _made_figures = False
        gc.collect()
        release_free_memory()
