"""Figures of a 2-D latent space: codes coloured by digit, and a density raster under them.

Used by every results chapter (autoencoder vs VAE, the effects of beta, latent travel), so the
latent space of every model is drawn the same way: same colours per digit, same axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from vaelib._runtime.validation import check_labels

__all__ = ["DIGIT_COLOURS", "latent_scatter", "latent_scatter_grid"]

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
