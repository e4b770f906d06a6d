"""One function per kind of figure, reused by every chapter.

Submodules group figures by topic; every function takes data (arrays, histories,
models) and returns the Matplotlib figure it drew, so chapters stay short and the
same figure looks the same everywhere.
"""

from __future__ import annotations

import gc

import matplotlib as mpl

from vaelib.memory import release_free_memory

BOOK_STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "figure.figsize": (6.4, 4.0),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "figure.constrained_layout.use": True,
}


_FIGURE_HOOK = f"{__name__}:_note_new_figure"
_made_figures = False


def use_book_style() -> None:
    """Apply the book's Matplotlib defaults (readable on light and dark themes).

    In a notebook kernel it also frees the figures a cell drew once the cell has run
    (:func:`_free_closed_figures`).
    """
    mpl.rcParams.update(BOOK_STYLE)
    mpl.rcParams["figure.facecolor"] = "white"
    if _FIGURE_HOOK not in mpl.rcParams["figure.hooks"]:
        mpl.rcParams["figure.hooks"] = [*mpl.rcParams["figure.hooks"], _FIGURE_HOOK]
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and _free_closed_figures not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", _free_closed_figures)


def _note_new_figure(figure) -> None:
    """Matplotlib's ``figure.hooks`` entry: remember that this cell made a figure."""
    global _made_figures
    _made_figures = True


def _free_closed_figures(*_) -> None:
    """After a cell that made figures: collect them and hand their memory back.

    A closed Matplotlib figure is a cycle of objects that only the garbage collector's oldest
    generation frees, and in a kernel holding TensorFlow's hundreds of thousands of objects that
    collection comes rarely: chapter 07's kernel grew 0.015-0.02 GB with every panel figure until
    it did. One collection (about 0.1-0.5 s) after each cell that drew, then ``malloc_trim``
    (:func:`vaelib.memory.release_free_memory`), keeps the figures' memory from piling up
    (benchmarks/LEVERS.md).
    """
    global _made_figures
    if _made_figures:
        _made_figures = False
        gc.collect()
        release_free_memory()
