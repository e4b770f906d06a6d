"""vaelib.plots.use_book_style: the book's Matplotlib defaults, and figures freed after each cell."""

import matplotlib

matplotlib.use("Agg")

import IPython  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from IPython.core.events import EventManager, available_events  # noqa: E402
from IPython.core.formatters import DisplayFormatter  # noqa: E402

import vaelib.plots as plots  # noqa: E402


class _Shell:
    def __init__(self):
        self.events = EventManager(self, available_events)
        self.display_formatter = DisplayFormatter()


@pytest.fixture
def shell(monkeypatch):
    stub = _Shell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: stub)
    monkeypatch.setattr(plots, "_made_figures", False)
    yield stub
    matplotlib.rcParams["figure.hooks"] = [h for h in matplotlib.rcParams["figure.hooks"] if h != plots._FIGURE_HOOK]


def test_style_is_applied_and_the_cell_hook_registered_once(shell):
    plots.use_book_style()
    plots.use_book_style()
    assert matplotlib.rcParams["figure.dpi"] == plots.BOOK_STYLE["figure.dpi"]
    assert matplotlib.rcParams["figure.hooks"].count(plots._FIGURE_HOOK) == 1
    assert shell.events.callbacks["post_run_cell"].count(plots._free_closed_figures) == 1


def test_a_cell_that_drew_is_followed_by_one_collection(shell, monkeypatch):
    collections, releases = [], []
    monkeypatch.setattr(plots.gc, "collect", lambda *a: collections.append(a) or 0)
    monkeypatch.setattr(plots, "release_free_memory", lambda: releases.append(1) or True)
    plots.use_book_style()
    shell.events.trigger("post_run_cell", None)  # a cell without figures: nothing to free
    assert collections == [] and releases == []
    plt.close(plt.figure())
    assert plots._made_figures
    shell.events.trigger("post_run_cell", None)
    assert len(collections) == 1 and releases == [1] and not plots._made_figures
    shell.events.trigger("post_run_cell", None)  # the next cell drew nothing
    assert len(collections) == 1


def test_outside_a_kernel_only_the_style_is_applied(monkeypatch):
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    plots.use_book_style()
    assert matplotlib.rcParams["figure.facecolor"] == "white"
    matplotlib.rcParams["figure.hooks"] = [h for h in matplotlib.rcParams["figure.hooks"] if h != plots._FIGURE_HOOK]


def test_figures_are_shown_with_every_text_legible_at_the_page_width(shell):
    import io

    from matplotlib.figure import Figure
    from PIL import Image

    plots.use_book_style()
    assert shell.display_formatter.formatters["image/png"].lookup_by_type(Figure) is plots.figure_png
    for width in (5.0, 13.0, 20.0):  # narrower than the column, and two figures the page shrinks
        fig, axes = plt.subplots(1, 4, figsize=(width, 3))
        for ax in axes:
            ax.plot([1, 2], [3, 4], label="line")
            ax.set_title("a title")
            ax.legend(fontsize="x-small")
        with Image.open(io.BytesIO(plots.figure_png(fig))) as png:
            smallest, image_width = float(png.info[plots.MIN_TEXT_KEY]), png.size[0]
        plt.close(fig)
        shown = smallest * min(1.0, plots.COLUMN_PX / image_width)
        assert plots.MIN_TEXT_PX <= shown < 1.2 * max(plots.MIN_TEXT_PX, 10 * plots.BOOK_STYLE["figure.dpi"] / 72), width


def test_legible_refuses_what_is_not_a_figure():
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure, got list"):
        plots.legible([])
