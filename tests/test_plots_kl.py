"""vaelib.plots.kl: each figure function draws what it is given and refuses malformed input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from vaelib.maths.gaussian import gaussian_kl_numpy
from vaelib.plots import kl as kl_plots


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_kl_surface_draws_the_closed_form():
    mu, sigma = np.linspace(-2, 2, 41), np.geomspace(0.2, 3, 31)
    fig = kl_plots.kl_surface(mu, sigma, points=[[0.5, 1.2], [-1.0, 0.4]])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() and ax.get_title()
    assert len(fig.axes) == 2  # the surface and its colour bar
    star = [line for line in ax.get_lines() if line.get_marker() == "*"][0]
    assert tuple(star.get_xydata()[0]) == (0.0, 1.0)  # the prior, where the KL is zero


def test_kl_slice_and_scaling_and_variance_figures_draw_into_given_axes():
    fig, axes = plt.subplots(1, 3)
    sigma = np.geomspace(0.2, 3, 5)
    exact = gaussian_kl_numpy(np.ones((5, 1)), np.log(sigma**2)[:, None])
    assert kl_plots.kl_monte_carlo_slice(sigma, exact, exact + 0.01, np.full(5, 0.02), mu=1.0, n_samples=100,
                                         ax=axes[0]) is fig
    n = np.array([10, 100, 1000])
    assert kl_plots.monte_carlo_error_scaling(n, 1 / np.sqrt(n), predicted=1 / np.sqrt(n), ax=axes[1]) is fig
    L = np.array([1, 2, 4, 8])
    variances = {"a": 4.0 / L, "b": np.array([1.0, 0.5, 0.0, 0.1])}  # a zero is drawn at the axis floor
    assert kl_plots.estimator_variance(L, variances, predicted={"a": 4.0 / L}, x_label="L", title="t", ax=axes[2]) is fig
    assert axes[2].get_xscale() == "log" and axes[2].get_yscale() == "log"
    assert all(np.all(line.get_ydata() > 0) for line in axes[2].get_lines())


def test_invalid_grids_are_refused():
    with pytest.raises(ValueError, match="sigma_values must be > 0"):
        kl_plots.kl_surface(np.linspace(-1, 1, 5), np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="at least 2 entries"):
        kl_plots.kl_surface(np.array([0.0]), np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="1-D numeric array"):
        kl_plots.kl_surface("abc", np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="points must be"):
        kl_plots.kl_surface(np.linspace(-1, 1, 5), np.array([0.5, 1.0]), points=[[0.0, -1.0]])


def test_invalid_lengths_and_values_are_refused():
    sigma = np.array([0.5, 1.0])
    with pytest.raises(ValueError, match="exact has 3 entries but sigma_values has 2"):
        kl_plots.kl_monte_carlo_slice(sigma, np.zeros(3), np.zeros(2), np.zeros(2), mu=0.0, n_samples=10)
    with pytest.raises(ValueError, match="standard_errors must be >= 0"):
        kl_plots.kl_monte_carlo_slice(sigma, np.zeros(2), np.zeros(2), -np.ones(2), mu=0.0, n_samples=10)
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        kl_plots.kl_monte_carlo_slice(sigma, np.zeros(2), np.zeros(2), np.zeros(2), mu=0.0, n_samples=0)
    with pytest.raises(TypeError, match="n_samples must be an integer"):
        kl_plots.kl_monte_carlo_slice(sigma, np.zeros(2), np.zeros(2), np.zeros(2), mu=0.0, n_samples=1.5)
    with pytest.raises(ValueError, match="spread must be > 0"):
        kl_plots.monte_carlo_error_scaling([10, 100], [0.1, 0.0])
    with pytest.raises(ValueError, match="must be finite"):
        kl_plots.monte_carlo_error_scaling([10, 100], [0.1, np.nan])


def test_invalid_variance_mappings_are_refused():
    L = np.array([1, 2])
    with pytest.raises(TypeError, match="non-empty mapping"):
        kl_plots.estimator_variance(L, {}, x_label="L", title="t")
    with pytest.raises(ValueError, match="must be >= 0"):
        kl_plots.estimator_variance(L, {"a": [1.0, -1.0]}, x_label="L", title="t")
    with pytest.raises(ValueError, match="labels that variances lacks"):
        kl_plots.estimator_variance(L, {"a": [1.0, 0.5]}, predicted={"b": [1.0, 0.5]}, x_label="L", title="t")
    with pytest.raises(ValueError, match="x_values must be > 0"):
        kl_plots.estimator_variance([0, 1], {"a": [1.0, 0.5]}, x_label="L", title="t")
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        kl_plots.estimator_variance(L, {"a": [1.0, 0.5]}, x_label="L", title="t", ax="not an axes")
