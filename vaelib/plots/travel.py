"""Figures of travel in a 2-D latent space: off-centre draws on the codes, interpolation strips, path profiles.

Used by the chapter "Latent travel" (the report's figure 14). Codes are drawn with
:func:`vaelib.plots.latent.latent_scatter`, so the digit colours match every other chapter.
Every function returns the Matplotlib figure it drew.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from vaelib._runtime.validation import check_images, check_real
from vaelib.measures import travel
from vaelib.measures.latent_space import check_codes
from vaelib.plots.images import SIDE, tile_images
from vaelib.plots.latent import latent_scatter

__all__ = ["draws_on_codes", "interpolation_strips", "path_profiles"]

ELLIPSE_STYLES = {1.0: "-", 2.0: "--", 3.0: ":"}


def draws_on_codes(codes, labels, draws, *, mean=1.0, std=0.5, levels=(1.0, 2.0), ax=None, title: str | None = None,
                   window: float | None = None, show_window=None, colourbar: bool = True, legend: bool = True,
                   point_size: float = 2.0) -> Figure:
    """Latent codes coloured by digit, with draws from N(mean, diag(std^2)) and its sigma ellipses on top.

    Parameters
    ----------
    codes, labels : codes (n, 2) of test images and their digits
    draws : points (p, 2) drawn from the off-centre distribution (black crosses)
    mean, std : the distribution whose ``levels``-sigma ellipses are drawn (black lines)
    window : if given, zoom to the square of half-width ``window`` around ``mean``
    show_window : if given (a half-width), outline that square around ``mean`` (where a zoomed panel looks)
    colourbar : draw the colour bar of the digits
    legend : draw a legend of the ellipses and draws, below the axes
    point_size : marker size of the codes (larger for zoomed panels)
    """
    points = check_codes(draws, name="draws", dim=2)
    travel.standardised_radius(points, mean, std)  # validates mean and std against the 2-D draws
    fig = latent_scatter(codes, labels, ax=ax, title=title, legend=colourbar, point_size=point_size)
    ax = fig.axes[0] if ax is None else ax
    ax.scatter(points[:, 0], points[:, 1], marker="x", s=9, linewidths=0.6, color="black", alpha=0.45,
               label=f"draws from N({_fmt(mean)}, {_fmt(std)}²I)", zorder=3)
    for level in levels:
        level = check_real("level", level, minimum=0.0, inclusive_minimum=False)
        ellipse = travel.sigma_ellipse(mean, std, level)
        mass = travel.sigma_region_mass(level, 2)
        ax.plot(ellipse[:, 0], ellipse[:, 1], color="black", linewidth=1.4, linestyle=ELLIPSE_STYLES.get(level, "-."),
                label=f"{level:g}σ ellipse ({mass:.0%} of the draws' distribution)", zorder=4)
    centre = np.broadcast_to(np.asarray(mean, dtype=np.float64), (2,))
    if window is not None:
        window = check_real("window", window, minimum=0.0, inclusive_minimum=False)
        ax.set_xlim(centre[0] - window, centre[0] + window)
        ax.set_ylim(centre[1] - window, centre[1] + window)
    if show_window is not None:
        half = check_real("show_window", show_window, minimum=0.0, inclusive_minimum=False)
        ax.add_patch(Rectangle(centre - half, 2 * half, 2 * half, fill=False, edgecolor="red", linewidth=1.2,
                               label="zoomed region", zorder=5))
    if legend:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8, frameon=False)
    return fig


def _fmt(value) -> str:
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    return f"{array[0]:g}" if np.all(array == array[0]) else "(" + ", ".join(f"{v:g}" for v in array) + ")"


def interpolation_strips(rows: Mapping, fractions, *, title: str | None = None, scale: float = 0.55) -> Figure:
    """One row of images per path, all with the same steps t; the x axis is labelled with t.

    Parameters
    ----------
    rows : mapping row label -> images (n_steps, 784) along one path (e.g. "pixel space", "latent, β = 5")
    fractions : the n_steps values of t in [0, 1] (0 = start image, 1 = end image)
    title : figure title
    scale : inches per image
    """
    if not isinstance(rows, Mapping) or not rows:
        raise TypeError(f"rows must be a non-empty mapping from a row label to images, got {type(rows).__name__}")
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.ndim != 1 or len(fractions) < 2 or not np.all(np.isfinite(fractions)):
        raise ValueError(f"fractions must be a 1-D array of at least two finite values of t, got {fractions!r}")
    checked = {}
    for label, images in rows.items():
        images = check_images(images, name=f"rows[{label!r}]")
        if len(images) != len(fractions):
            raise ValueError(f"rows[{label!r}] has {len(images)} images, fractions has {len(fractions)} values of t")
        checked[str(label)] = images
    n = len(fractions)
    fig, axes = plt.subplots(len(checked), 1, figsize=(max(3.0, scale * n + 1.6), scale * len(checked) + 0.9),
                             squeeze=False)
    padding = 2
    step = SIDE + padding
    every = max(1, (n - 1) // 10)
    for i, (ax, (label, images)) in enumerate(zip(axes[:, 0], checked.items())):
        ax.imshow(tile_images(images, n, padding=padding), cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
        ticks = list(range(0, n, every)) + ([n - 1] if (n - 1) % every else [])
        ax.set_xticks([k * step + SIDE / 2 for k in ticks])
        ax.set_xticklabels([f"{fractions[k]:.2g}" for k in ticks] if i == len(checked) - 1 else [])
        ax.tick_params(length=0)
    axes[-1, 0].set_xlabel("t (0 = first digit, 1 = second digit)")
    if title:
        fig.suptitle(title)
    return fig


def path_profiles(fractions, panels: Mapping, *, title: str | None = None, n_se: float = 2.0) -> Figure:
    """Averages over many paths of measures along them, against t, with +- ``n_se`` standard-error bands.

    Parameters
    ----------
    fractions : the n_steps values of t
    panels : mapping y-axis label -> mapping series name -> values (n_paths, n_steps); one panel each
    title : figure title
    n_se : half-width of the bands in standard errors of the mean over paths
    """
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.ndim != 1 or len(fractions) < 2:
        raise ValueError(f"fractions must be a 1-D array of at least two values of t, got shape {fractions.shape}")
    if not isinstance(panels, Mapping) or not panels:
        raise TypeError(f"panels must be a non-empty mapping from a y label to series, got {type(panels).__name__}")
    n_se = check_real("n_se", n_se, minimum=0.0)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), squeeze=False)
    for ax, (ylabel, series) in zip(axes[0], panels.items()):
        if not isinstance(series, Mapping) or not series:
            raise TypeError(f"panels[{ylabel!r}] must be a non-empty mapping from a series name to values")
        for name, values in series.items():
            values = np.asarray(values, dtype=np.float64)
            if values.ndim != 2 or values.shape[1] != len(fractions) or len(values) < 2:
                raise ValueError(f"panels[{ylabel!r}][{name!r}] must have shape (n_paths >= 2, {len(fractions)}), "
                                 f"got {values.shape}")
            mean = values.mean(axis=0)
            se = values.std(axis=0, ddof=1) / np.sqrt(len(values))
            (line,) = ax.plot(fractions, mean, marker="o", markersize=3, label=name)
            ax.fill_between(fractions, mean - n_se * se, mean + n_se * se, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_xlabel("t along the path")
        ax.set_ylabel(ylabel)
        ax.set_xlim(fractions[0], fractions[-1])
    axes[0, 0].legend(fontsize=8)
    note = f"lines: mean over paths; bands: ±{n_se:g} standard errors"
    fig.suptitle(f"{title}\n({note})" if title else note, fontsize=10)
    return fig
