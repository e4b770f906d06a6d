"""Figures of a 2-D latent space: codes coloured by digit, and the digits a decoder makes over a grid of it.

Used by every results chapter (autoencoder vs VAE, the effects of beta, latent travel), so the
latent space of every model is drawn the same way: same colours per digit, same axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from vaelib._runtime.batching import EAGER_ROWS, in_blocks
from vaelib._runtime.validation import check_images, check_int, check_labels
from vaelib.measures import latent_space
from vaelib.plots.images import SIDE, tile_images

__all__ = ["DIGIT_COLOURS", "latent_scatter", "latent_scatter_grid", "decoded_grid"]

DIGIT_COLOURS = plt.get_cmap("tab10")


def _codes(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"z must have shape (n, 2) (a 2-D latent space), got {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("z contains NaN or infinite values")
    return z


def latent_scatter(z, labels, *, ax=None, title: str | None = None, limit: float | None = None,
                   legend: bool = True, point_size: float = 2.0) -> Figure:
    """Scatter latent codes ``z`` (n, 2) coloured by digit label, with a legend of the ten digits.

    ``limit`` fixes both axes to [-limit, limit] so panels of different models compare directly.
    """
    z = _codes(z)
    labels = check_labels(labels, len(z))
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 4.6))
    else:
        fig = ax.figure
    scatter = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap=DIGIT_COLOURS, vmin=-0.5, vmax=9.5,
                         s=point_size, alpha=0.6, linewidths=0, rasterized=True)
    if legend:
        colourbar = fig.colorbar(scatter, ax=ax, ticks=range(10), fraction=0.05, pad=0.02)
        colourbar.set_label("digit")
        colourbar.solids.set_alpha(1.0)
    if limit is not None:
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_aspect("equal", adjustable="box")
    if title:
        ax.set_title(title)
    return fig


def latent_scatter_grid(panels, labels, *, n_cols: int | None = None, limit: float | None = None,
                        suptitle: str | None = None, panel_size: float = 3.2) -> Figure:
    """Several latent scatters side by side; ``panels`` maps a panel title to its codes (n, 2)."""
    panels = dict(panels)
    if not panels:
        raise ValueError("panels must hold at least one (title, z) pair")
    n_cols = len(panels) if n_cols is None else n_cols
    n_rows = -(-len(panels) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(panel_size * n_cols + 0.8, panel_size * n_rows),
                             squeeze=False)
    for ax, (title, z) in zip(axes.ravel(), panels.items()):
        latent_scatter(z, labels, ax=ax, title=title, limit=limit, legend=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    mappable = plt.cm.ScalarMappable(cmap=DIGIT_COLOURS, norm=plt.Normalize(-0.5, 9.5))
    fig.colorbar(mappable, ax=axes.ravel().tolist(), ticks=range(10), fraction=0.02, pad=0.01, label="digit")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def decoded_grid(decode, extent, n: int = 15, *, codes=None, ax=None, title: str | None = None, cmap: str = "gray_r",
                 rows: int = EAGER_ROWS) -> Figure:
    """Decode a regular ``n`` x ``n`` grid of latent points over ``extent`` and tile the digits, as on the plane.

    Parameters
    ----------
    decode : the model's decoder, mapping latent points (m, 2) float32 to pixel means (m, 784) in [0, 1]
        (a vaelib VAE's or autoencoder's ``decode``); called on at most ``rows`` points at a time
    extent : the rectangle covered, see :func:`vaelib.measures.latent_space.check_extent`: ``k`` for [-k, k]², a (low, high)
        pair, or one pair per axis; e.g. :func:`vaelib.measures.latent_space.prior_extent` or
        :func:`vaelib.measures.latent_space.percentile_extent` of the model's codes
    n : grid points per side (the picture is ``28 n`` pixels square)
    codes : optional codes (m, 2) of test images; each digit whose grid point lies farther from every code than
        :func:`vaelib.measures.latent_space.typical_spacing` of the codes (a gap wider than 99 % of the codes' gaps to their
        nearest neighbour) is framed in red: no test image is encoded near it
    ax : draw into this Axes instead of a new figure
    title : title of the Axes
    cmap : Matplotlib colour map ("gray_r": dark digits on white)

    The digit decoded at ``(z1, z2)`` is centred on that point of the axes: the top left digit is the
    decoding of (lowest z1, highest z2), and the ticks read in latent units.
    """
    if not callable(decode):
        raise TypeError(f"decode must be a function of latent points (a model's decode), got {type(decode).__name__}")
    n = check_int("n", n, minimum=2, maximum=100)
    rows = check_int("rows", rows, minimum=1)
    z1, z2, points = latent_space.latent_grid(extent, n)
    if ax is not None and not isinstance(ax, plt.Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    far = np.zeros(len(points), dtype=bool)
    if codes is not None:  # grid points in a gap wider than almost all gaps between the codes
        codes = latent_space.check_codes(codes, name="codes", dim=2, min_rows=2)
        far = latent_space.nearest_code_distances(points, codes) > latent_space.typical_spacing(codes)
    images = in_blocks(decode, points.astype(np.float32), rows=rows)
    if images.shape != (n * n, SIDE * SIDE):
        raise ValueError(f"decode must map {n * n} points to {n * n} images of {SIDE * SIDE} pixels, "
                         f"got shape {images.shape}")
    canvas = tile_images(check_images(images, name="decoded images"), n, padding=0)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.6, 4.6))
    else:
        fig = ax.figure
    half1, half2 = (z1[1] - z1[0]) / 2, (z2[0] - z2[1]) / 2
    ax.imshow(canvas, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest", aspect="auto",
              extent=(z1[0] - half1, z1[-1] + half1, z2[-1] - half2, z2[0] + half2))
    ax.set_box_aspect(1)  # square digits whatever the two axes' ranges
    for p1, p2 in points[far]:
        ax.add_patch(Rectangle((p1 - 0.92 * half1, p2 - 0.92 * half2), 1.84 * half1, 1.84 * half2, fill=False,
                               edgecolor="tab:red", linewidth=1.0, gid="far"))
    ax.grid(False)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if title:
        ax.set_title(title)
    return fig
