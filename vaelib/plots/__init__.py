"""One function per kind of figure, reused by every chapter.

Submodules group figures by topic; every function takes data (arrays, histories,
models) and returns the Matplotlib figure it drew, so chapters stay short and the
same figure looks the same everywhere.
"""

from __future__ import annotations

import matplotlib as mpl

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


def use_book_style() -> None:
    """Apply the book's Matplotlib defaults (readable on light and dark themes)."""
    mpl.rcParams.update(BOOK_STYLE)
    mpl.rcParams["figure.facecolor"] = "white"
