"""Figures for the Gaussian KL divergence (eq. 10) and the ELBO estimator of eq. (11).

Every function draws into ``ax`` when one is given (so a chapter can put two figures side by
side) or into a new figure otherwise, and returns the Matplotlib figure it drew on.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FixedLocator, MaxNLocator, NullFormatter, ScalarFormatter

from vaelib._runtime.validation import check_real_vector, check_int, check_real
from vaelib.maths.gaussian import gaussian_kl_numpy

__all__ = [
    "kl_surface",
    "kl_monte_carlo_slice",
    "monte_carlo_error_scaling",
    "estimator_variance",
]


def _vector(name: str, values, *, positive: bool = False, min_length: int = 1) -> np.ndarray:
    """A finite 1-D float array (optionally > 0) with at least ``min_length`` entries."""
    return check_real_vector(name, values, positive=positive, min_length=min_length,
                             positive_because=" (it is drawn on a log axis)")


def _same_length(reference_name: str, reference: np.ndarray, **arrays: np.ndarray) -> None:
    for name, array in arrays.items():
        if len(array) != len(reference):
            raise ValueError(f"{name} has {len(array)} entries but {reference_name} has {len(reference)}")


def _plain_log_ticks(axis, low: float, high: float) -> None:
    """Label a logarithmic axis with plain numbers (0.2, 0.5, 1, 2, ...) rather than powers of ten."""
    candidates = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5, 10, 20, 30, 50, 100])
    ticks = candidates[(candidates >= low * (1 - 1e-9)) & (candidates <= high * (1 + 1e-9))]
    if len(ticks) >= 2:
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(NullFormatter())


def _axes(ax, figsize=None):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    if not isinstance(ax, plt.Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax.figure, ax


def kl_surface(mu_values, sigma_values, *, points=None, points_label: str = "checked $(\\mu_j, \\sigma_j)$",
               max_level: float = 6.0, ax=None):
    """Filled contours of the one-dimensional KL( N(mu, sigma^2) || N(0, 1) ) (eq. 10, J = 1).

    Parameters
    ----------
    mu_values : 1-D array
        Grid of means (horizontal axis).
    sigma_values : 1-D array, > 0
        Grid of standard deviations (vertical axis, logarithmic).
    points : array of shape (m, 2), optional
        ``(mu, sigma)`` pairs to mark on the surface (e.g. the coordinates of the q's a chapter checked).
    points_label : str
        Legend entry for ``points``.
    max_level : float > 0
        Top of the colour scale; larger values share the top colour.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    mu_values = _vector("mu_values", mu_values, min_length=2)
    sigma_values = _vector("sigma_values", sigma_values, positive=True, min_length=2)
    if points is not None:
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2 or not np.all(np.isfinite(points)) or np.any(points[:, 1] <= 0):
            raise ValueError(f"points must be finite (mu, sigma > 0) pairs of shape (m, 2), got {points!r}")
    if not isinstance(points_label, str):
        raise TypeError(f"points_label must be a string, got {points_label!r}")
    max_level = check_real("max_level", max_level, minimum=0.0, inclusive_minimum=False)
    fig, ax = _axes(ax)
    mu_grid, sigma_grid = np.meshgrid(mu_values, sigma_values)
    kl = gaussian_kl_numpy(mu_grid[..., None], np.log(sigma_grid**2)[..., None])
    levels = MaxNLocator(nbins=12).tick_values(0.0, max_level)
    filled = ax.contourf(mu_grid, sigma_grid, kl, levels=levels, cmap="viridis", extend="max")
    lines = ax.contour(mu_grid, sigma_grid, kl, levels=[0.1, 0.5, 1.0, 2.0], colors="white", linewidths=0.8)
    ax.clabel(lines, fontsize=7, fmt="%g")
    fig.colorbar(filled, ax=ax, label=r"$D_{KL}(\mathcal{N}(\mu,\sigma^2)\,\|\,\mathcal{N}(0,1))$")
    ax.plot([0.0], [1.0], marker="*", color="red", markersize=12, linestyle="none", label="minimum: the prior (KL = 0)")
    if points is not None:
        ax.plot(points[:, 0], points[:, 1], "o", color="white", markeredgecolor="black", label=points_label)
    ax.set_yscale("log")
    _plain_log_ticks(ax.yaxis, sigma_values.min(), sigma_values.max())
    ax.set_xlabel(r"mean $\mu$")
    ax.set_ylabel(r"standard deviation $\sigma$ (log scale)")
    ax.set_title("Closed-form KL to the prior, one latent dimension")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(False)
    return fig


def kl_monte_carlo_slice(sigma_values, exact, estimates, standard_errors, *, mu: float, n_samples: int, ax=None):
    """Closed-form KL along a slice ``mu = const`` with Monte Carlo estimates and +-2 standard-error bars.

    Parameters
    ----------
    sigma_values : 1-D array, > 0
        Standard deviations along the slice (logarithmic horizontal axis).
    exact : 1-D array
        Closed-form KL (eq. 10) at each sigma.
    estimates, standard_errors : 1-D arrays
        Monte Carlo estimates of E_q[log q - log p] and their standard errors.
    mu : float
        The fixed mean (for the title).
    n_samples : int
        Samples per estimate (for the legend).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    sigma_values = _vector("sigma_values", sigma_values, positive=True)
    exact = _vector("exact", exact)
    estimates = _vector("estimates", estimates)
    standard_errors = _vector("standard_errors", standard_errors)
    _same_length("sigma_values", sigma_values, exact=exact, estimates=estimates, standard_errors=standard_errors)
    if np.any(standard_errors < 0):
        raise ValueError(f"standard_errors must be >= 0, got {standard_errors!r}")
    mu = check_real("mu", mu)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    fig, ax = _axes(ax)
    fine = np.geomspace(sigma_values.min(), sigma_values.max(), 200)
    ax.plot(fine, gaussian_kl_numpy(np.full((200, 1), mu), np.log(fine**2)[:, None]), color="black",
            label="closed form, eq. (10)")
    ax.errorbar(sigma_values, estimates, yerr=2 * standard_errors, fmt="o", color="tab:orange", capsize=3,
                label=f"Monte Carlo, n = {n_samples:,} ($\\pm$2 s.e.)")
    ax.set_xscale("log")
    _plain_log_ticks(ax.xaxis, sigma_values.min(), sigma_values.max())
    ax.set_xlabel(r"standard deviation $\sigma$ (log scale)")
    ax.set_ylabel("KL divergence")
    ax.set_title(f"Slice at $\\mu$ = {mu:g}: closed form vs Monte Carlo")
    ax.legend(fontsize=8)
    return fig


def _log_log_axes(ax, x_label, y_label, title):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title(title)
    ax.legend(fontsize=8)


def monte_carlo_error_scaling(n_values, spread, *, predicted=None, ax=None):
    """Spread of a Monte Carlo estimate against its number of samples, on log-log axes.

    Parameters
    ----------
    n_values : 1-D array, > 0
        Numbers of samples n.
    spread : 1-D array, > 0
        Measured standard deviation of the estimate at each n (over independent repeats).
    predicted : 1-D array, > 0, optional
        The predicted standard error sqrt(Var f / n), drawn as a line of slope -1/2.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    n_values = _vector("n_values", n_values, positive=True)
    spread = _vector("spread", spread, positive=True)
    _same_length("n_values", n_values, spread=spread)
    fig, ax = _axes(ax)
    ax.plot(n_values, spread, "o", color="tab:orange", label="measured spread over repeats")
    if predicted is not None:
        predicted = _vector("predicted", predicted, positive=True)
        _same_length("n_values", n_values, predicted=predicted)
        ax.plot(n_values, predicted, color="black", label=r"predicted $\sqrt{\mathrm{Var}\,f / n}$ (slope $-1/2$)")
    _log_log_axes(ax, "number of samples n", "standard deviation of the estimate",
                  "Monte Carlo error of the KL estimate")
    return fig


def estimator_variance(x_values, variances: Mapping[str, object], *, x_label: str, title: str,
                       predicted: Mapping[str, object] | None = None, log_x: bool = True, ax=None):
    """Measured (markers) and predicted (lines) variance of one or more estimators against a setting.

    Parameters
    ----------
    x_values : 1-D array
        The setting on the horizontal axis, e.g. the number of samples L (> 0 when ``log_x``).
    variances : mapping of label -> 1-D array (>= 0)
        Measured variance of each estimator at ``x_values``.
    x_label, title : str
    predicted : mapping of label -> 1-D array (>= 0), optional
        Exact variances at ``x_values``, drawn as lines in the colour of the same label.
    log_x : bool
        Logarithmic horizontal axis (the vertical axis is always logarithmic; values that are 0
        are drawn at the bottom of the axis).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    x_values = _vector("x_values", x_values, positive=log_x)
    if not isinstance(x_label, str) or not isinstance(title, str):
        raise TypeError("x_label and title must be strings")

    def curves_of(argument, mapping):
        if not isinstance(mapping, Mapping) or not mapping:
            raise TypeError(f"{argument} must be a non-empty mapping of label -> array, got {mapping!r}")
        curves = {}
        for label, values in mapping.items():
            name = f"{argument}[{label!r}]"
            values = _vector(name, values)
            _same_length("x_values", x_values, **{name: values})
            if np.any(values < 0):
                raise ValueError(f"{name} must be >= 0, got {values!r}")
            curves[str(label)] = values
        return curves

    measured = curves_of("variances", variances)
    exact = curves_of("predicted", predicted) if predicted is not None else {}
    unknown = set(exact) - set(measured)
    if unknown:
        raise ValueError(f"predicted has labels that variances lacks: {sorted(unknown)}")
    fig, ax = _axes(ax)
    everything = np.concatenate(list(measured.values()) + list(exact.values()))
    positive = everything[everything > 0]
    floor = positive.min() / 2 if positive.size else 1e-12
    for (label, values), marker, colour in zip(measured.items(), "osd^v<>", plt.rcParams["axes.prop_cycle"].by_key()["color"]):
        ax.plot(x_values, np.maximum(values, floor), marker=marker, linestyle="none", color=colour,
                label=f"{label} (measured)")
        if label in exact:
            ax.plot(x_values, np.maximum(exact[label], floor), color=colour, label=f"{label} (exact)")
    _log_log_axes(ax, x_label, "variance of the estimate", title)
    if log_x and len(x_values) <= 8:  # few settings (e.g. L = 1, 2, 4, ...): label each one
        ax.xaxis.set_major_locator(FixedLocator(x_values))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    elif log_x:
        _plain_log_ticks(ax.xaxis, x_values.min(), x_values.max())
    else:
        ax.set_xscale("linear")
    return fig
