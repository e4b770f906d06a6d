"""The density of one image's q(z|x) drawn as a raster over the latent plane, with draws marked.

Mirrors the right panel of the report's figure 4: the Gaussian the encoder outputs for one input
(eq. 2's q_phi(z|x)) and the draw(s) z that the decoder actually receives.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from vaelib._runtime.validation import check_int, check_real
from vaelib.measures.latent_space import check_codes, gaussian_density_grid

__all__ = ["posterior_density"]


def posterior_density(mu, log_var, draw=None, *, ax=None, limit: float | None = None, center=None, resolution: int = 200,
                      codes=None, title: str | None = "density of q(z|x) for one input",
                      cmap: str = "viridis") -> Figure:
    """Raster of the 2-D density N(mu, diag(exp(log_var))) with ``draw`` (2,) or (k, 2) marked in black.

    Parameters
    ----------
    mu, log_var : length-2 mean and log-variance of q(z|x) for one image
    draw : optional point(s) sampled from it, marked with black dots
    ax : draw into this Axes instead of a new figure
    limit : the raster spans center +- limit on both axes; default: 4 standard deviations beyond |mu|
        (centre 0) or 4 standard deviations (when ``center`` is given)
    center : length-2 centre of the raster (e.g. ``mu`` to zoom in on q(z|x)); default the origin
    resolution : grid points per axis
    codes : optional other codes (n, 2), drawn as faint grey dots for context (e.g. the test set's means)
    """
    mu = np.asarray(mu, dtype=np.float64).reshape(-1)
    log_var = np.asarray(log_var, dtype=np.float64).reshape(-1)
    resolution = check_int("resolution", resolution, minimum=10, maximum=2000)
    if mu.shape != (2,) or log_var.shape != (2,):
        raise ValueError(f"mu and log_var must each hold 2 values, got shapes {mu.shape} and {log_var.shape}")
    centre = np.zeros(2) if center is None else np.asarray(center, dtype=np.float64).reshape(-1)
    if centre.shape != (2,) or not np.all(np.isfinite(centre)):
        raise ValueError(f"center must hold 2 finite values, got {center!r}")
    if limit is None:
        half = 4.0 * float(np.max(np.exp(0.5 * log_var))) + (float(np.max(np.abs(mu))) if center is None else 0.0)
        limit = max(half, 1e-3)
    limit = check_real("limit", limit, minimum=0.0, inclusive_minimum=False)
    g1 = np.linspace(centre[0] - limit, centre[0] + limit, resolution)
    g2 = np.linspace(centre[1] - limit, centre[1] + limit, resolution)
    density = gaussian_density_grid(mu, log_var, g1, g2)
    extent = (g1[0], g1[-1], g2[0], g2[-1])
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.0, 4.4))
    else:
        fig = ax.figure
    image = ax.imshow(density, origin="lower", extent=extent, cmap=cmap,
                      interpolation="bilinear", aspect="equal")
    fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02, label="density of q(z|x)")
    if codes is not None:
        codes = check_codes(codes, name="codes", dim=2)
        ax.scatter(codes[:, 0], codes[:, 1], s=1, c="lightgrey", alpha=0.3, linewidths=0, rasterized=True,
                   label="other test images' means")
    ax.plot(mu[0], mu[1], "+", color="white", markersize=12, markeredgewidth=2, label="mean of q(z|x)")
    if draw is not None:
        draw = check_codes(np.atleast_2d(draw), name="draw", dim=2)
        ax.scatter(draw[:, 0], draw[:, 1], s=30 if len(draw) == 1 else 8, c="black", edgecolors="white",
                   linewidths=0.5, zorder=3, label="draw z ~ q(z|x)" if len(draw) == 1 else f"{len(draw)} draws z ~ q(z|x)")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.grid(False)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    if title:
        ax.set_title(title)
    return fig
