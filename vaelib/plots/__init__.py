"""One function per kind of figure, reused by every chapter.

Submodules group figures by topic; every function takes data (arrays, histories,
models) and returns the Matplotlib figure it drew, so chapters stay short and the
same figure looks the same everywhere.
"""

from __future__ import annotations

import io

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.text import Text

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


COLUMN_PX = 688
"""Width in CSS pixels that the HTML book gives a figure in a 1,280-px window (the text column);
a wider image is shrunk to it."""
MIN_TEXT_PX = 9.0
"""The smallest text a reader meets in a figure, in CSS pixels, once the page has shrunk it."""
MIN_TEXT_KEY = "vaelib-min-text-px"
"""PNG text chunk holding the height of a figure's smallest text in the image's own pixels
(the browser check multiplies it by the scale the page shows the image at)."""

def use_book_style() -> None:
    """Apply the book's Matplotlib defaults (readable on light and dark themes).

    In a notebook kernel a figure is then shown as :func:`figure_png` draws it (every text legible at
    the page's width).
    """
    mpl.rcParams.update(BOOK_STYLE)
    mpl.rcParams["figure.facecolor"] = "white"
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    # Loading the inline backend registers IPython's own PNG formatter for figures (lazily, at the
    # first figure): load it now, so that the book's formatter registered next is the one that stays.
    import matplotlib.pyplot as plt

    plt.switch_backend(mpl.get_backend())
    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)


def legible(fig: Figure, *, column_px: float = COLUMN_PX, min_text_px: float = MIN_TEXT_PX) -> float:
    """Enlarge every text of ``fig`` that would be under ``min_text_px`` tall once a page ``column_px``
    wide shrinks the figure to fit; return the smallest text height in the image's own pixels.

    A figure ``w`` pixels wide (its tight bounding box at ``fig.dpi``) is shown at ``min(1, column_px / w)``
    of its size, so a text of ``f`` points appears ``f * dpi / 72 * scale`` pixels tall. Enlarging texts
    can widen the figure, so the layout is redone until no text is under the floor (three rounds at most).
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    dpi = fig.dpi
    texts = []
    for _ in range(3):
        fig.canvas.draw()
        # the saved image: the tight bounding box plus savefig's padding on both sides
        width_px = (fig.get_tightbbox(fig.canvas.get_renderer()).width + 2 * mpl.rcParams["savefig.pad_inches"]) * dpi
        floor_pt = 1.01 * min_text_px * 72.0 / (dpi * min(1.0, column_px / width_px))  # 1 %: pixel rounding
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        small = [t for t in texts if t.get_fontsize() < floor_pt - 1e-9]
        for t in small:
            t.set_fontsize(floor_pt)
        if not small:
            break
    return min((t.get_fontsize() for t in texts), default=float("inf")) * dpi / 72.0


def figure_png(fig: Figure) -> bytes:
    """The PNG a chapter shows for ``fig``: texts made :func:`legible`, tight bounding box, and the
    smallest text's height recorded under :data:`MIN_TEXT_KEY`."""
    smallest = legible(fig)
    buffer = io.BytesIO()
    fig.canvas.print_figure(buffer, format="png", dpi=fig.dpi, bbox_inches="tight", facecolor=fig.get_facecolor(),
                            edgecolor=fig.get_edgecolor(), metadata={MIN_TEXT_KEY: f"{smallest:.3f}"})
    return buffer.getvalue()
