"""vaelib.plots.estimators.reparameterization_graph: the report's figure 1 says what the text says.

The drawing is read back from its artists (each node patch and arrow carries a gid, see the function's
docstring): which nodes are stochastic, where the arrows start and end, and along which arrows the
gradient can travel from f back to the parameters phi.
"""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402
from PIL import Image  # noqa: E402

from vaelib import plots  # noqa: E402
from vaelib.plots.estimators import reparameterization_graph  # noqa: E402


@pytest.fixture(scope="module")
def panels():
    with matplotlib.rc_context(plots.BOOK_STYLE):  # as the chapter draws it (use_book_style)
        fig = reparameterization_graph()
    yield fig, {ax.get_title(): ax for ax in fig.axes}
    plt.close(fig)


def nodes(ax) -> dict:
    """name -> (kind, centre) of the node patches of one panel."""
    found = {}
    for patch in ax.patches:
        gid = patch.get_gid() or ""
        if gid.startswith("node:"):
            _, kind, name = gid.split(":")
            if isinstance(patch, Circle):
                centre = np.array(patch.center)
            else:
                assert isinstance(patch, FancyBboxPatch), gid
                centre = np.array([patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2])
            found[name] = (kind, centre, patch)
    return found


def arrows(ax, kind: str) -> set:
    """(from, to) of the arrows of one kind (forward, backward, blocked) in one panel."""
    return {tuple(a.get_gid().split(":")[1].split("->")) for a in ax.patches
            if isinstance(a, FancyArrowPatch) and a.get_gid().startswith(kind + ":")}


def reachable(edges: set, start: str) -> set:
    seen, frontier = {start}, [start]
    while frontier:
        here = frontier.pop()
        for a, b in edges:
            if a == here and b not in seen:
                seen.add(b)
                frontier.append(b)
    return seen


def test_two_panels_original_then_reparameterized(panels):
    fig, by_title = panels
    assert list(by_title) == ["original form", "reparameterized form"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "deterministic node", "stochastic node", "forward: computation", "backward: gradient",
        "no gradient through a draw"]


def test_the_stochastic_nodes_are_z_before_and_epsilon_after(panels):
    _, by_title = panels
    original, reparameterized = nodes(by_title["original form"]), nodes(by_title["reparameterized form"])
    assert set(original) == {"phi", "x", "z", "f"} and set(reparameterized) == {"phi", "x", "eps", "z", "f"}
    assert {n for n, (kind, _, _) in original.items() if kind == "stochastic"} == {"z"}
    assert {n for n, (kind, _, _) in reparameterized.items() if kind == "stochastic"} == {"eps"}
    # the two kinds look different: circles vs rounded squares, in two colours
    for graph in (original, reparameterized):
        for kind, _, patch in graph.values():
            assert isinstance(patch, Circle if kind == "stochastic" else FancyBboxPatch)
    assert original["z"][2].get_facecolor() != original["f"][2].get_facecolor()
    # the symbols drawn in the nodes
    texts = {t.get_text() for t in by_title["reparameterized form"].texts}
    assert {r"$\phi$", r"$x$", r"$\epsilon$", r"$z$", r"$f$"} <= texts
    assert any(r"\mu + \sigma\odot\epsilon" in t for t in texts)


def test_forward_arrows_join_the_named_nodes(panels):
    _, by_title = panels
    for title, expected in (("original form", {("phi", "z"), ("x", "z"), ("z", "f")}),
                            ("reparameterized form", {("phi", "z"), ("x", "z"), ("eps", "z"), ("z", "f")})):
        ax = by_title[title]
        assert arrows(ax, "forward") == expected, title
        graph = nodes(ax)
        names, centres = list(graph), np.array([graph[n][1] for n in graph])
        for arrow in ax.patches:
            if not isinstance(arrow, FancyArrowPatch):
                continue
            a, b = arrow.get_gid().split(":")[1].split("->")
            path = arrow.get_path()  # data coordinates: the shaft, then the head (a second sub-path)
            shaft = path.vertices[:np.flatnonzero(path.codes == path.MOVETO)[1]]
            nearest = [names[np.argmin(np.linalg.norm(centres - point, axis=1))] for point in (shaft[0], shaft[-1])]
            assert nearest == [a, b], (title, arrow.get_gid(), nearest)
            assert max(np.linalg.norm(shaft[0] - graph[a][1]), np.linalg.norm(shaft[-1] - graph[b][1])) < 0.15


def test_the_gradient_reaches_phi_only_after_reparameterizing(panels):
    _, by_title = panels
    original, reparameterized = by_title["original form"], by_title["reparameterized form"]
    # before: the gradient reaches z and stops there; the step from z to phi is drawn blocked
    assert arrows(original, "backward") == {("f", "z")}
    assert arrows(original, "blocked") == {("z", "phi")}
    assert "phi" not in reachable(arrows(original, "backward"), "f")
    assert any(t.get_gid() == "blocked-mark" for t in original.texts)
    # after: it flows f -> z -> phi, and the noise epsilon is an outside input, off the gradient's path
    backward = arrows(reparameterized, "backward")
    assert "phi" in reachable(backward, "f")
    assert not any("eps" in edge for edge in backward)
    assert arrows(reparameterized, "blocked") == set()
    assert not any(t.get_gid() == "blocked-mark" for t in reparameterized.texts)
    # forward and backward arrows are drawn distinctly
    styles = {kind: {(a.get_linestyle(), matplotlib.colors.to_hex(a.get_edgecolor())) for a in ax.patches
                     if isinstance(a, FancyArrowPatch) and a.get_gid().startswith(kind)}
              for ax in (reparameterized,) for kind in ("forward", "backward")}
    assert len(styles["forward"]) == len(styles["backward"]) == 1 and not styles["forward"] & styles["backward"]


def test_every_text_is_legible_at_the_page_width(panels):
    fig, _ = panels
    with Image.open(io.BytesIO(plots.figure_png(fig))) as png:
        smallest, width = float(png.info[plots.MIN_TEXT_KEY]), png.size[0]
    # at the book's sizes already: figure_png had nothing to enlarge (10 pt at 110 dpi, shrunk to the column)
    assert smallest * min(1.0, plots.COLUMN_PX / width) >= plots.MIN_TEXT_PX
    assert smallest == pytest.approx(plots.BOOK_STYLE["font.size"] * plots.BOOK_STYLE["figure.dpi"] / 72, rel=1e-3)
