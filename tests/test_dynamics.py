"""Tests of vaelib.measures.dynamics (KL shares of a loss history) and the plots built on it."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vaelib.measures import dynamics  # noqa: E402
from vaelib.plots.posterior import posterior_density  # noqa: E402
from vaelib.plots.shares import kl_share_curves  # noqa: E402


def history(beta, rec=(40.0, 30.0, 25.0), kl=(0.1, 2.0, 4.0)):
    rec, kl = np.array(rec), np.array(kl)
    h = {}
    for split in ("train", "test"):
        h.update({f"{split}_reconstruction": list(rec), f"{split}_kl": list(kl),
                  f"{split}_beta_kl": list(beta * kl), f"{split}_loss": list(rec + beta * kl)})
    return h


def test_shares_by_hand():
    shares = dynamics.kl_shares(history(5.0), 5.0)
    assert np.allclose(shares["weighted"], [0.5 / 40.5, 10.0 / 40.0, 20.0 / 45.0], rtol=1e-12)
    assert np.allclose(shares["unweighted"], [0.1 / 40.1, 2.0 / 32.0, 4.0 / 29.0], rtol=1e-12)


def test_shares_coincide_at_beta_one_and_weighted_is_zero_at_beta_zero():
    one = dynamics.kl_shares(history(1.0), 1.0)
    assert np.allclose(one["weighted"], one["unweighted"], rtol=1e-12)
    zero = dynamics.kl_shares(history(0.0), 0.0)
    assert np.all(zero["weighted"] == 0.0) and np.all(zero["unweighted"] > 0)


def test_trend():
    assert dynamics.trend([1.0, 5.0, 3.0]) == 2.0
    assert dynamics.trend([3.0]) == 0.0


def test_bad_beta_inconsistent_with_history():
    with pytest.raises(ValueError, match="beta"):
        dynamics.kl_shares(history(5.0), 1.0)


def test_bad_history_and_split():
    with pytest.raises(KeyError, match="test_kl"):
        dynamics.kl_shares({"test_loss": [1.0], "test_reconstruction": [1.0]}, 1.0)
    with pytest.raises(ValueError, match="split must be one of"):
        dynamics.kl_shares(history(1.0), 1.0, split="valid")
    with pytest.raises(TypeError, match="mapping"):
        dynamics.history_curve([1, 2], "test", "kl")
    bad = history(1.0)
    bad["test_kl"] = [np.nan, 1.0, 1.0]
    with pytest.raises(ValueError, match="finite"):
        dynamics.kl_shares(bad, 1.0)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        dynamics.kl_shares(history(1.0), -1.0)
    with pytest.raises(ValueError, match="finite"):
        dynamics.trend([])


def test_share_plot_draws_one_panel_per_beta_and_skips_zero_weighted_share():
    fig = kl_share_curves({0.0: history(0.0), 5.0: history(5.0)})
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["β = 0", "β = 5"]
    assert len(axes[0].get_lines()) == 2 + 1  # unweighted train + test, and the 1 % line
    assert len(axes[1].get_lines()) == 4 + 1
    plt.close(fig)
    with pytest.raises(TypeError, match="mapping"):
        kl_share_curves({})


def test_posterior_density_plot():
    fig = posterior_density([0.2, -0.1], np.log([0.01, 0.04]), draw=[0.25, -0.05], limit=1.0, resolution=50)
    ax = fig.axes[0]
    image = ax.get_images()[0].get_array()
    assert image.shape == (50, 50)
    assert ax.get_xlabel() == "$z_1$" and ax.get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="limit must be >"):
        posterior_density([0, 0], [0, 0], limit=0.0)
    with pytest.raises(ValueError, match="2 values"):
        posterior_density([0, 0, 0], [0, 0, 0])
    fig = posterior_density([5.0, -3.0], np.log([0.01, 0.01]), center=[5.0, -3.0], limit=0.5, resolution=20)
    assert fig.axes[0].get_xlim() == pytest.approx((4.5, 5.5)) and fig.axes[0].get_ylim() == pytest.approx((-3.5, -2.5))
    plt.close(fig)
    with pytest.raises(ValueError, match="center must hold 2"):
        posterior_density([0, 0], [0, 0], center=[0, 0, 0])
