"""Chapter 14's figures (vaelib.plots.tightness): they draw what they are given, with titles, labels and legends."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from vaelib.plots.tightness import bound_against_k, rate_distortion_plane  # noqa: E402


def test_bound_against_k_draws_curves_and_references():
    fig = bound_against_k({"model": (np.array([1, 10, 100]), np.array([-3.0, -2.5, -2.4]), np.array([0.1, 0.05, 0.02]))},
                          references={"exact": -2.3}, title="t", ylabel="nats")
    ax = fig.axes[0]
    assert ax.get_title() == "t" and ax.get_xscale() == "log" and ax.get_ylabel() == "nats"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "model" in labels and "exact" in labels
    plt.close(fig)


def test_rate_distortion_plane_line_of_equal_elbo():
    fig = rate_distortion_plane([0.0, 2.0, 5.0], [10.0, 6.0, 4.0], ["a", "b", "c"], reference=1, title="rd")
    ax = fig.axes[0]
    (line,) = [l for l in ax.get_lines() if l.get_linestyle() == "--"]
    x, y = line.get_data()
    np.testing.assert_allclose(x + y, 8.0)  # D + R = that of model 1 along the whole line
    assert ax.get_title() == "rd" and "rate" in ax.get_xlabel() and "distortion" in ax.get_ylabel()
    assert [t.get_text() for t in ax.texts] == ["a", "b", "c"]
    plt.close(fig)
