"""Figures for the gradient-estimator chapter: variance against L and sigma, single-sample histograms.

Each function takes results computed by :mod:`vaelib.maths.estimators` and returns the Matplotlib figure.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from vaelib._runtime.validation import check_choice, check_int
from vaelib.maths.estimators import VarianceCurve

__all__ = ["curve_label", "plot_variance_vs_samples", "plot_variance_vs_sigma", "plot_gradient_histogram"]

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
