"""Figures for the ELBO and beta-objective chapters (tractable linear-Gaussian model).

Every function takes arrays computed by :mod:`vaelib.maths.linear_gaussian` and returns the figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from vaelib._runtime.validation import check_int

__all__ = [
    "plot_elbo_decomposition",
    "plot_elbo_landscape",
    "plot_q_against_beta",
    "plot_q_densities",
    "plot_rate_distortion",
]


def _vector(name, values, length=None):
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or (length is not None and len(array) != length):
        expected = f"({length},)" if length is not None else "1-D"
        raise ValueError(f"{name} must have shape {expected}, got {array.shape}")
    return array


def plot_elbo_decomposition(log_evidence, elbos, kls, labels=None):
    """ELBO(q) of several q as points, with KL(q || p(z|x)) as the bar that closes the gap to log p(x) (eq. 1)."""
    elbos = _vector("elbos", elbos)
    kls = _vector("kls", kls, len(elbos))
    labels = [f"q{i + 1}" for i in range(len(elbos))] if labels is None else list(labels)
    if len(labels) != len(elbos):
        raise ValueError(f"labels must have {len(elbos)} entries, got {len(labels)}")
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    positions = np.arange(len(elbos))
    ax.bar(positions, kls, bottom=elbos, width=0.5, color="tab:orange", alpha=0.6,
           label=r"KL$(q\,\|\,p(z|x))$ (the gap)")
    ax.scatter(positions, elbos, color="tab:blue", zorder=3, label="ELBO$(q)$")
    ax.axhline(float(log_evidence), color="black", linestyle="--", label=r"$\log p(x)$")
    low = float(np.min(elbos))
    ax.set_ylim(low - 0.08 * (float(log_evidence) - low + 1e-9), float(log_evidence) + 0.12 * (float(log_evidence) - low + 1e-9))
    ax.set_xticks(positions, labels)
    ax.set_xlabel("variational distribution $q$")
    ax.set_ylabel("nats")
    ax.set_title(r"$\log p(x) = \mathrm{ELBO}(q) + \mathrm{KL}(q\,\|\,p(z|x))$ for every $q$")
    ax.legend(loc="best", fontsize=8)
    return fig


def plot_elbo_landscape(mean_values, log_var_values, elbo_grid, posterior_point, log_evidence,
                        extra_points=None, axis=0):
    """The ELBO over q's mean and log-variance of one latent coordinate, drawn as the gap to log p(x).

    ``elbo_grid`` has shape (len(log_var_values), len(mean_values)) (see
    :func:`vaelib.maths.linear_gaussian.elbo_slice`). The colours show log p(x) - ELBO(q) = KL(q || p(z|x))
    (eq. 1) on a log scale, so the contours stay readable over many orders of magnitude;
    ``posterior_point`` = (mean, log-variance) of the exact posterior is marked with a star;
    ``extra_points`` is an optional (n, 2) array of other q's.
    """
    mean_values = _vector("mean_values", mean_values)
    log_var_values = _vector("log_var_values", log_var_values)
    elbo_grid = np.asarray(elbo_grid, dtype=np.float64)
    if elbo_grid.shape != (len(log_var_values), len(mean_values)):
        raise ValueError(f"elbo_grid must have shape {(len(log_var_values), len(mean_values))}, got {elbo_grid.shape}")
    axis = check_int("axis", axis, minimum=0)
    gap = np.maximum(float(log_evidence) - elbo_grid, 1e-12)
    top = max(float(gap.max()), 1e-2)
    levels = np.geomspace(1e-3, top, 16)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    filled = ax.contourf(mean_values, log_var_values, gap, levels=levels, norm=LogNorm(levels[0], top),
                         cmap="viridis_r", extend="min")
    ax.contour(mean_values, log_var_values, gap, levels=levels, colors="white", linewidths=0.4, alpha=0.6)
    fig.colorbar(filled, ax=ax, label=r"gap $\log p(x) - \mathrm{ELBO}(q)$ (nats, log scale)",
                 ticks=[t for t in (1e-3, 1e-2, 1e-1, 1, 10, 100, 1000) if t <= top])
    if extra_points is not None:
        extra = np.asarray(extra_points, dtype=np.float64).reshape(-1, 2)
        ax.scatter(extra[:, 0], extra[:, 1], marker="o", facecolor="none", edgecolor="black", label="other $q$")
    ax.scatter([posterior_point[0]], [posterior_point[1]], marker="*", s=220, color="tab:red",
               edgecolor="black", zorder=4, label=r"posterior $p(z|x)$: gap $=0$")
    ax.set_xlabel(f"mean of $z_{axis + 1}$ under $q$")
    ax.set_ylabel(f"log-variance of $z_{axis + 1}$ under $q$")
    ax.set_title("ELBO landscape: the bound is tight only at the posterior")
    ax.legend(loc="upper right", framealpha=0.8)
    return fig


def _beta_axis(ax, betas, marked_betas):
    positive = betas[betas > 0]
    linthresh = float(np.min(positive)) if len(positive) else 1e-2
    ax.set_xscale("symlog", linthresh=linthresh, linscale=0.5)
    ax.set_xlim(0.0, float(np.max(betas)) * 1.3)
    for value in marked_betas:
        ax.axvline(value, color="grey", linewidth=0.7, linestyle=":")
    ax.set_xlabel(r"$\beta$ (symmetric-log scale, linear below %g)" % linthresh)


def plot_q_against_beta(betas, means, stds, *, posterior_mean=None, posterior_std=None, ml_mean=None,
                        marked_betas=()):
    """The beta-optimal q's mean (left) and standard deviation (right) per latent coordinate against beta.

    ``means`` and ``stds`` have shape (len(betas), k). Horizontal references: the prior (mean 0,
    std 1), the exact posterior (beta = 1) and the maximum-likelihood latent (beta = 0).
    """
    betas = _vector("betas", betas)
    means = np.asarray(means, dtype=np.float64)
    stds = np.asarray(stds, dtype=np.float64)
    if means.ndim != 2 or means.shape[0] != len(betas) or stds.shape != means.shape:
        raise ValueError(f"means and stds must have shape ({len(betas)}, k), got {means.shape} and {stds.shape}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.8), sharex=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j in range(means.shape[1]):
        colour = colours[j % len(colours)]
        left.plot(betas, means[:, j], color=colour, label=f"$z_{j + 1}$")
        right.plot(betas, stds[:, j], color=colour, label=f"$z_{j + 1}$")
        if posterior_mean is not None:
            left.plot([1.0], [posterior_mean[j]], "*", color=colour, markersize=12, markeredgecolor="black")
        if posterior_std is not None:
            right.plot([1.0], [posterior_std[j]], "*", color=colour, markersize=12, markeredgecolor="black")
        if ml_mean is not None:
            left.plot([0.0], [ml_mean[j]], "s", color=colour, markeredgecolor="black")
    left.axhline(0.0, color="black", linestyle="--", linewidth=1, label="prior")
    right.axhline(1.0, color="black", linestyle="--", linewidth=1, label="prior")
    left.plot([], [], "*", color="grey", markeredgecolor="black", label=r"posterior ($\beta=1$)")
    left.plot([], [], "s", color="grey", markeredgecolor="black", label=r"max-likelihood $z$ ($\beta=0$)")
    for ax in (left, right):
        _beta_axis(ax, betas, marked_betas)
    left.set_ylabel(r"mean of $q_\beta$")
    right.set_ylabel(r"standard deviation of $q_\beta$")
    left.set_title(r"means shrink to the prior mean 0")
    right.set_title(r"std grows from 0 to the prior's 1")
    left.legend(fontsize=8, loc="upper right")
    right.legend(fontsize=8, loc="lower right")
    return fig


def plot_q_densities(z_grid, betas, means, stds, *, prior=True, coordinate=0):
    """Marginal densities of one latent coordinate under q_beta for a few betas (a std of 0 is drawn as a spike)."""
    z_grid = _vector("z_grid", z_grid)
    betas = _vector("betas", betas)
    means = _vector("means", means, len(betas))
    stds = _vector("stds", stds, len(betas))
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    colours = plt.get_cmap("plasma")(np.linspace(0.0, 0.85, len(betas)))
    peak = 0.0
    for beta, mean, std, colour in zip(betas, means, stds, colours):
        if std > 0:
            density = np.exp(-0.5 * ((z_grid - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))
            peak = max(peak, float(density.max()))
            ax.plot(z_grid, density, color=colour, label=rf"$\beta={beta:g}$")
    for beta, mean, std, colour in zip(betas, means, stds, colours):
        if std == 0:
            ax.axvline(mean, color=colour, linewidth=2, label=rf"$\beta={beta:g}$ (point mass)")
    if prior:
        ax.plot(z_grid, np.exp(-0.5 * z_grid**2) / np.sqrt(2 * np.pi), color="black", linestyle="--",
                label=r"prior $\mathcal{N}(0,1)$")
    ax.set_ylim(0, 1.08 * peak if peak > 0 else None)
    ax.set_xlabel(f"$z_{coordinate + 1}$")
    ax.set_ylabel("density")
    ax.set_title(rf"Marginal of $z_{coordinate + 1}$ under the $\beta$-optimal $q$")
    ax.legend(fontsize=8)
    return fig


def plot_rate_distortion(betas, rate, reconstruction, *, marked_betas=()):
    """Rate KL(q_beta || p(z)) and expected reconstruction log-likelihood against beta, and one against the other."""
    betas = _vector("betas", betas)
    rate = _vector("rate", rate, len(betas))
    reconstruction = _vector("reconstruction", reconstruction, len(betas))
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(11.0, 3.6))
    left.plot(betas, rate, color="tab:orange")
    left.set_yscale("log")
    left.set_ylabel(r"rate KL$(q_\beta\,\|\,p(z))$ (nats, log scale)")
    left.set_title(r"the rate falls with $\beta$ ...")
    middle.plot(betas, reconstruction, color="tab:blue")
    middle.set_ylabel(r"$E_{q_\beta}[\log p(x|z)]$ (nats)")
    middle.set_title("... and so does the reconstruction term")
    for ax in (left, middle):
        _beta_axis(ax, betas, marked_betas)
    right.plot(rate, reconstruction, color="tab:purple")
    for value in marked_betas:
        index = int(np.argmin(np.abs(betas - value)))
        right.plot(rate[index], reconstruction[index], "o", color="tab:purple")
        right.annotate(rf"$\beta={betas[index]:g}$", (rate[index], reconstruction[index]),
                       textcoords="offset points", xytext=(6, -10), fontsize=8)
    right.set_xscale("log")
    right.set_xlabel(r"rate KL$(q_\beta\,\|\,p(z))$ (nats, log scale)")
    right.set_ylabel(r"$E_{q_\beta}[\log p(x|z)]$ (nats)")
    right.set_title("the rate/reconstruction trade-off")
    return fig
