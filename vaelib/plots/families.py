"""Figures of chapter 11: the three priors, and latent spaces and prior samples per family."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from vaelib._runtime.validation import check_choice, check_real
from vaelib.maths.latent_families import FAMILIES, LAPLACE_PRIOR_SCALE, UNIFORM_PRIOR_HALF_WIDTH
from vaelib.plots.images import image_grid
from vaelib.plots.latent import latent_scatter

__all__ = ["prior_distribution", "prior_densities", "latent_panels", "sample_panels"]

FAMILY_COLOURS = {"gaussian": "tab:blue", "laplace": "tab:orange", "uniform": "tab:green"}


def prior_distribution(family: str):
    """The 1-D prior of ``family`` (mean 0, variance 1) as a scipy.stats distribution."""
    family = check_choice("family", family, FAMILIES)
    return {"gaussian": stats.norm(0.0, 1.0), "laplace": stats.laplace(0.0, LAPLACE_PRIOR_SCALE),
            "uniform": stats.uniform(-UNIFORM_PRIOR_HALF_WIDTH, 2 * UNIFORM_PRIOR_HALF_WIDTH)}[family]


def prior_densities(*, limit: float = 4.0):
    """The three priors' densities on one axis: same mean and variance, different shapes."""
    limit = check_real("limit", limit, minimum=0.0, inclusive_minimum=False)
    z = np.linspace(-limit, limit, 801)
    fig, ax = plt.subplots(figsize=(6.0, 3.2))
    for family in FAMILIES:
        ax.plot(z, prior_distribution(family).pdf(z), color=FAMILY_COLOURS[family], label=family)
    ax.set_xlabel("$z_j$ (one latent axis)")
    ax.set_ylabel("prior density $p(z_j)$")
    ax.set_title("Three priors with mean 0 and variance 1")
    ax.legend()
    return fig


def _prior_region(ax, family: str, level: float, limit: float) -> None:
    """Outline the smallest region holding ``level`` of the 2-D prior's mass (uniform: its support)."""
    colour = "black"
    if family == "uniform":
        c = UNIFORM_PRIOR_HALF_WIDTH
        ax.plot([-c, c, c, -c, -c], [-c, -c, c, c, -c], color=colour, lw=1.2, ls="--", label="prior support")
        return
    prior = prior_distribution(family)
    draws = prior.rvs(size=(200_000, 2), random_state=np.random.default_rng(0))
    threshold = np.quantile(prior.pdf(draws).prod(axis=1), 1.0 - level)  # density level enclosing `level` mass
    grid = np.linspace(-limit, limit, 401)
    z1, z2 = np.meshgrid(grid, grid)
    density = prior.pdf(z1) * prior.pdf(z2)
    ax.contour(z1, z2, density, levels=[threshold], colors=colour, linewidths=1.2, linestyles="--")
    ax.plot([], [], color=colour, lw=1.2, ls="--", label=f"{level:.0%} of the prior")  # legend entry for the contour


def latent_panels(panels, labels, *, limit: float = 4.0, level: float = 0.95, suptitle: str | None = None):
    """One latent scatter per model; ``panels`` maps a title to (codes (n, 2), family)."""
    panels = dict(panels)
    if not panels:
        raise ValueError("panels is empty: give at least one (codes, family) pair")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels) + 0.8, 3.9), squeeze=False)
    for i, (ax, (title, (codes, family))) in enumerate(zip(axes[0], panels.items())):
        latent_scatter(codes, labels, ax=ax, title=title, limit=limit, legend=i == len(panels) - 1)
        _prior_region(ax, check_choice("family", family, FAMILIES), level, limit)
        ax.legend(loc="lower left", fontsize=7)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def sample_panels(panels, *, n_cols: int = 8, suptitle: str | None = None):
    """Decoded prior samples per model, side by side; ``panels`` maps a title to images (n, 784)."""
    panels = dict(panels)
    if not panels:
        raise ValueError("panels is empty: give at least one set of images")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 2.6), squeeze=False)
    for ax, (title, images) in zip(axes[0], panels.items()):
        image_grid(images, n_cols, title, ax=ax)
    if suptitle:
        fig.suptitle(suptitle)
    return fig
