"""vaelib.plots.quality: the figures of chapter 09 draw what they are given."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from vaelib.plots.quality import confidence_ratio_curves, measure_bars


def test_confidence_ratio_curves_draw_every_series():
    curves = {f"β = {b}": {"reconstructions": ([1, 5], [0.8, 0.9], [0.01, 0.01]),
                           "prior samples": ([1, 5], [0.7, 1.05], [0.02, 0.01])} for b in (0, 1, 5)}
    fig = confidence_ratio_curves(curves, title="t", ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3 and visible[0].get_title() == "β = 0"
    low, high = visible[0].get_ylim()
    assert low < 0.7 - 2 * 0.02 and high > 1.05 + 2 * 0.01  # every error bar fits
    plt.close(fig)


def test_measure_bars_marks_missing_values():
    rows = {"a": {"ratio": 1.0, "accuracy": 0.5}, "b": {"ratio": 0.3}}
    fig = measure_bars(rows, ["ratio", "accuracy"], labels={"ratio": "eq. 13"})
    assert fig.axes[0].get_xlabel() == "eq. 13"
    texts = [t.get_text().strip() for t in fig.axes[1].texts]
    assert "n/a" in texts and "0.50" in texts
    plt.close(fig)


def test_bad_plot_inputs():
    with pytest.raises(TypeError, match="curves must be a non-empty mapping"):
        confidence_ratio_curves({})
    with pytest.raises(ValueError, match="measures is empty"):
        measure_bars({"a": {"ratio": 1.0}}, [])
    with pytest.raises(ValueError, match="n_se must be >= 0"):
        confidence_ratio_curves({"p": {"s": ([1], [1.0], [0.0])}}, n_se=-1)
