"""Figures for the gradient-estimator chapter: variance against L and sigma, single-sample histograms, and
the reparameterization trick as a computation graph.

The plotting functions take results computed by :mod:`vaelib.maths.estimators`; the graph needs no data. Each
returns the Matplotlib figure it drew.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from vaelib._runtime.validation import check_choice, check_int
from vaelib.maths.estimators import VarianceCurve

__all__ = ["curve_label", "plot_variance_vs_samples", "plot_variance_vs_sigma", "plot_gradient_histogram",
           "reparameterization_graph"]

_COLOURS = {"score": "tab:red", "score+baseline": "tab:orange", "reparameterization": "tab:blue", "naive": "tab:grey"}
_COMPONENTS = ("mu", "scale")


def curve_label(curve: VarianceCurve) -> str:
    """Legend text for an estimator: ``"score function"``, ``"score function, baseline"``, ``"reparameterization"``."""
    if curve.method == "score":
        return "score function" + (", baseline" if curve.baseline is not None else "")
    return curve.method


def _colour(curve: VarianceCurve) -> str:
    key = "score+baseline" if curve.method == "score" and curve.baseline is not None else curve.method
    return _COLOURS.get(key, "black")


def _component_name(curve: VarianceCurve, component: int) -> str:
    if component == 0:
        return r"\mu"
    return r"\log\sigma" if curve.parameterization == "log_sigma" else r"\sigma"


def _check_curves(curves, grid_name: str) -> list[VarianceCurve]:
    curves = list(curves)
    if not curves or not all(isinstance(c, VarianceCurve) for c in curves):
        raise TypeError("curves must be a non-empty sequence of vaelib.maths.estimators.VarianceCurve")
    wrong = {c.grid_name for c in curves} - {grid_name}
    if wrong:
        raise ValueError(f"curves must all be measured over {grid_name!r}, got grids {sorted(wrong)}")
    return curves


def _plot_curves(curves, grid_name, component, dim, reference_power, xlabel, title) -> Figure:
    component = _COMPONENTS.index(check_choice("component", component, _COMPONENTS))
    dim = check_int("dim", dim, minimum=0)
    curves = _check_curves(curves, grid_name)
    tests = list(dict.fromkeys(c.test_name for c in curves))
    fig, axes = plt.subplots(1, len(tests), figsize=(3.1 * len(tests) + 2.2, 3.4), squeeze=False)
    for ax, test in zip(axes[0], tests):
        group = [c for c in curves if c.test_name == test]
        for c in group:
            se = c.exact_variance_se if c.exact_variance_se is not None else c.variance_se  # exact when known
            y, err = c.variance[:, component, dim], se[:, component, dim]
            lower = np.minimum(2 * err, 0.9 * y)  # keep the bar above zero on the log axis
            ax.errorbar(c.grid, y, yerr=np.stack([lower, 2 * err]), fmt="o", ms=4, capsize=2, color=_colour(c),
                        label=curve_label(c))
            if c.exact_variance is not None:
                ax.plot(c.grid, c.exact_variance[:, component, dim], "-", lw=1, color=_colour(c), alpha=0.7)
        # reference slope through the first point of the first curve
        c0 = group[0]
        x = c0.grid
        y0 = c0.variance[0, component, dim]
        if y0 > 0:
            symbol = "L" if grid_name == "n_samples" else r"\sigma"
            ax.plot(x, y0 * (x / x[0]) ** reference_power, ":", color="black", lw=1,
                    label=rf"$\propto {symbol}^{{{reference_power:g}}}$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_title(group[0].test_label)
    axes[0, 0].set_ylabel(rf"Var of $\partial/\partial {_component_name(curves[0], component)}$ estimate")
    legend = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    fig.legend(list(legend.values()), list(legend.keys()), fontsize=8, loc="outside right center")
    fig.suptitle(title + "  (markers: replicates, ±2 s.e.; lines: exact)")
    return fig


def plot_variance_vs_samples(curves: Sequence[VarianceCurve], *, component: str = "mu", dim: int = 0) -> Figure:
    """Log-log variance of each estimator against the number of samples ``L``, one panel per test function.

    ``component`` picks the ``mu`` or the scale (``log sigma`` / ``sigma``) part of the gradient; the
    dotted line has slope -1 (variance proportional to ``1/L``).
    """
    return _plot_curves(curves, "n_samples", component, dim, -1.0, "number of samples $L$",
                        "Estimator variance vs $L$")


def plot_variance_vs_sigma(curves: Sequence[VarianceCurve], *, component: str = "mu", dim: int = 0) -> Figure:
    """Log-log variance of each estimator against ``sigma``, one panel per test function.

    The dotted line has slope -2 (variance proportional to ``1/sigma^2``, the score-function
    estimator's small-sigma behaviour for the ``mu`` gradient).
    """
    return _plot_curves(curves, "sigma", component, dim, -2.0, r"$\sigma$ of $q$", r"Estimator variance vs $\sigma$")


def plot_gradient_histogram(samples: Mapping[str, np.ndarray], *, exact: float | None = None, bins: int = 80,
                            xlabel: str = "single-sample gradient estimate", title: str = "") -> Figure:
    """Overlaid histograms (densities) of single-sample gradient estimates, one per estimator.

    ``samples`` maps a legend label to a 1-D array; ``exact`` draws the true gradient as a vertical line.
    The x-range is the central 99.5% of the pooled samples so one heavy tail does not hide the rest.
    """
    if not isinstance(samples, Mapping) or not samples:
        raise TypeError("samples must be a non-empty mapping from label to a 1-D array")
    bins = check_int("bins", bins, minimum=2)
    arrays = {k: np.asarray(v, dtype=np.float64).ravel() for k, v in samples.items()}
    for k, v in arrays.items():
        if v.size < 2 or not np.all(np.isfinite(v)):
            raise ValueError(f"samples[{k!r}] must hold at least 2 finite values")
    pooled = np.concatenate(list(arrays.values()))
    lo, hi = np.quantile(pooled, [0.0025, 0.9975])
    if exact is not None:
        lo, hi = min(lo, exact), max(hi, exact)
    edges = np.linspace(lo, hi, bins + 1)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for i, (label, v) in enumerate(arrays.items()):
        colour = _COLOURS.get({"score function": "score", "reparameterization": "reparameterization"}.get(label, ""),
                              f"C{i}")
        ax.hist(np.clip(v, lo, hi), bins=edges, density=True, alpha=0.55, color=colour,
                label=f"{label} (sd {v.std(ddof=1):.3g})")
    if exact is not None:
        ax.axvline(exact, color="black", lw=1.2, ls="--", label="exact gradient")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density (log scale)")
    ax.set_title(title or "Single-sample gradient estimates")
    ax.legend(fontsize=8)
    return fig


# --- the reparameterization trick as two computation graphs (the report's figure 1) -------------------------------

DETERMINISTIC_STYLE = {"boxstyle": "round,pad=0.02,rounding_size=0.03", "facecolor": "#dbe9f6", "edgecolor": "tab:blue",
                       "linewidth": 1.5}
"""A deterministic node: a rounded square, blue (its value follows from its inputs)."""
STOCHASTIC_STYLE = {"facecolor": "#fde3c8", "edgecolor": "tab:orange", "linewidth": 2.0}
"""A stochastic node: a circle, orange (its value is drawn from a distribution)."""
FORWARD_STYLE = {"color": "black", "linewidth": 1.3, "linestyle": "-"}
BACKWARD_STYLE = {"color": "tab:red", "linewidth": 1.6, "linestyle": "--"}

_NODE_RADIUS = 0.085
# One graph per panel: nodes (name -> symbol, kind, position, note beside it), forward edges (the computation)
# and backward edges (the gradient, from f towards phi: label, bend of the arc, and whether it is blocked, i.e.
# cannot be taken).
_GRAPHS = {
    "original form": {
        "nodes": {"phi": (r"$\phi$", "deterministic", (0.22, 0.14), ("parameters", "below")),
                  "x": (r"$x$", "deterministic", (0.78, 0.14), ("input", "below")),
                  "z": (r"$z$", "stochastic", (0.5, 0.52), (r"$z \sim q_\phi(z|x)$", "right")),
                  "f": (r"$f$", "deterministic", (0.5, 0.88), (r"$f(z)$", "right"))},
        "forward": [("phi", "z"), ("x", "z"), ("z", "f")],
        "backward": [("f", "z", r"$\partial f/\partial z$", -0.45, False),
                     ("z", "phi", r"$\partial f/\partial\phi$ ?", 0.45, True)],
    },
    "reparameterized form": {
        "nodes": {"phi": (r"$\phi$", "deterministic", (0.1, 0.14), ("parameters", "below")),
                  "x": (r"$x$", "deterministic", (0.5, 0.14), ("input", "below")),
                  "eps": (r"$\epsilon$", "stochastic", (0.9, 0.14), (r"$\epsilon \sim \mathcal{N}(0, I)$", "below")),
                  "z": (r"$z$", "deterministic", (0.5, 0.52),
                        ("$z = g(\\phi, x, \\epsilon)$\n$\\;\\;\\, = \\mu + \\sigma\\odot\\epsilon$", "right")),
                  "f": (r"$f$", "deterministic", (0.5, 0.88), (r"$f(z)$", "right"))},
        "forward": [("phi", "z"), ("x", "z"), ("eps", "z"), ("z", "f")],
        "backward": [("f", "z", r"$\partial f/\partial z$", -0.45, False),
                     ("z", "phi", r"$\partial f/\partial\phi$", 0.45, False)],
    },
}


def _node_patch(ax, name: str, kind: str, xy) -> None:
    if kind == "stochastic":
        patch = Circle(xy, _NODE_RADIUS, **STOCHASTIC_STYLE)
    else:
        side = 2 * _NODE_RADIUS * 0.9
        patch = FancyBboxPatch((xy[0] - side / 2, xy[1] - side / 2), side, side, **DETERMINISTIC_STYLE)
    patch.set_gid(f"node:{kind}:{name}")
    ax.add_patch(patch)


def _edge(ax, start, end, *, gid: str, style: dict, rad: float = 0.0) -> FancyArrowPatch:
    arrow = FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, shrinkA=17, shrinkB=17,
                            connectionstyle=f"arc3,rad={rad}", **style)
    arrow.set_gid(gid)
    ax.add_patch(arrow)
    return arrow


def reparameterization_graph(*, figsize=(7.0, 3.9)) -> Figure:
    """The reparameterization trick as two computation graphs, side by side (the report's figure 1,
    after Kingma and Welling 2019, fig. 2.3).

    Left, the original form: :math:`z \\sim q_\\phi(z|x)` is a stochastic node between the parameters
    :math:`\\phi` and :math:`f(z)`, so the gradient :math:`\\partial f/\\partial z` reaches :math:`z` and stops
    there. Right, the reparameterized form: :math:`z = g(\\phi, x, \\epsilon) = \\mu + \\sigma\\odot\\epsilon`
    is deterministic given the outside noise :math:`\\epsilon \\sim \\mathcal N(0, I)`, and the gradient
    flows through :math:`z` to :math:`\\phi`.

    Deterministic nodes are blue rounded squares, stochastic nodes orange circles; forward (computation)
    arrows are solid black, backward (gradient) arrows dashed red, and the one the draw blocks is faded and
    crossed out. Every node patch carries the gid
    ``"node:<kind>:<name>"``, every arrow ``"forward:<from>-><to>"``, ``"backward:<from>-><to>"`` or
    ``"blocked:<from>-><to>"`` (names ``phi``, ``x``, ``eps``, ``z``, ``f``), so the drawing can be checked.
    """
    fig, axes = plt.subplots(1, 2, figsize=figsize)
    for ax, (title, graph) in zip(axes, _GRAPHS.items()):
        ax.set_xlim(-0.1, 1.1)
        ax.set_ylim(-0.12, 1.0)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(title)
        nodes = graph["nodes"]
        for name, (symbol, kind, xy, (note, where)) in nodes.items():
            _node_patch(ax, name, kind, xy)
            ax.text(*xy, symbol, ha="center", va="center", fontsize="large")
            if where == "right":
                ax.text(xy[0] + 1.4 * _NODE_RADIUS, xy[1], note, ha="left", va="center")
            else:
                ax.text(xy[0], xy[1] - 1.35 * _NODE_RADIUS, note, ha="center", va="top")
        for a, b in graph["forward"]:
            _edge(ax, nodes[a][2], nodes[b][2], gid=f"forward:{a}->{b}", style=FORWARD_STYLE)
        for a, b, label, rad, blocked in graph["backward"]:
            start, end = np.array(nodes[a][2]), np.array(nodes[b][2])
            # the gradient runs beside its forward arrow; arc3 puts the control point rad * (dy, -dx) off the
            # chord's middle, so the arc's apex lies half of that off it
            _edge(ax, start, end, gid=f"{'blocked' if blocked else 'backward'}:{a}->{b}",
                  style={**BACKWARD_STYLE, "alpha": 0.45} if blocked else BACKWARD_STYLE, rad=rad)
            chord = end - start
            offset = rad * np.array([chord[1], -chord[0]])
            apex = (start + end) / 2 + offset / 2
            outward = offset / np.linalg.norm(offset)
            ax.text(*(apex + 0.05 * outward), label, ha="left" if outward[0] > 0 else "right", va="center",
                    color="tab:red")
            if blocked:
                ax.text(*apex, "✗", ha="center", va="center", color="tab:red", fontsize="xx-large", fontweight="bold",
                        gid="blocked-mark")
    node = {"linestyle": "none", "markersize": 13}
    handles = [Line2D([], [], marker="s", markerfacecolor=DETERMINISTIC_STYLE["facecolor"],
                      markeredgecolor=DETERMINISTIC_STYLE["edgecolor"], markeredgewidth=1.5, **node),
               Line2D([], [], marker="o", markerfacecolor=STOCHASTIC_STYLE["facecolor"],
                      markeredgecolor=STOCHASTIC_STYLE["edgecolor"], markeredgewidth=2.0, **node),
               Line2D([], [], **FORWARD_STYLE), Line2D([], [], **BACKWARD_STYLE),
               Line2D([], [], linestyle="none", marker="x", markersize=9, markeredgewidth=2.5, color="tab:red")]
    labels = ["deterministic node", "stochastic node", "forward: computation", "backward: gradient",
              "no gradient through a draw"]
    fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
    return fig
