"""vaelib.plots.use_book_style: the book's Matplotlib defaults and PNG formatter."""

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
    yield stub


def test_style_is_applied_and_the_book_formatter_registered(shell):
    plots.use_book_style()
    plots.use_book_style()
    assert matplotlib.rcParams["figure.dpi"] == plots.BOOK_STYLE["figure.dpi"]
    png = shell.display_formatter.formatters["image/png"]
    assert png.lookup(plt.figure()) is plots.figure_png
    assert shell.events.callbacks["post_run_cell"] == []  # freeing figures' memory is vaelib._runtime.memory's job


def test_outside_a_kernel_only_the_style_is_applied(monkeypatch):
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    plots.use_book_style()
    assert matplotlib.rcParams["figure.facecolor"] == "white"


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
