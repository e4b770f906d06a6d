"""Figure functions of vaelib.plots.images and vaelib.plots.history: what they draw and what they refuse."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vaelib.plots.history import loss_history  # noqa: E402
from vaelib.plots.images import image_grid, reconstruction_comparison, tile_images  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def digits():
    return np.random.default_rng(0).uniform(size=(7, 784)).astype(np.float32)


def test_tile_images_places_each_image(digits):
    canvas = tile_images(digits, 3, padding=2, fill=0.5)
    assert canvas.shape == (3 * 30 - 2, 3 * 30 - 2)
    np.testing.assert_array_equal(canvas[30:58, 30:58], digits[4].reshape(28, 28))  # row 1, column 1
    np.testing.assert_array_equal(canvas[60:88, 30:58], 0.5)  # the empty slots of the last row
    assert tile_images(digits[:2], 10).shape == (28, 58)  # never more columns than images


def test_image_grid_draws_one_picture_with_captions(digits):
    fig = image_grid(digits, n_cols=4, title="seven digits", labels=list("abcdefg"))
    (ax,) = fig.axes
    assert ax.get_title() == "seven digits"
    assert [t.get_text() for t in ax.texts] == list("abcdefg")
    assert ax.images[0].get_array().shape == tile_images(digits, 4, padding=8).shape
    fig2, ax2 = plt.subplots()
    assert image_grid(digits.reshape(7, 28, 28), ax=ax2) is fig2


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_cols=0), ValueError, "n_cols must be >= 1"),
    (dict(labels=["a"]), ValueError, "labels must have one entry per image"),
    (dict(ax="axes"), TypeError, "ax must be a matplotlib Axes"),
])
def test_bad_image_grid_arguments(digits, kwargs, error, match):
    with pytest.raises(error, match=match):
        image_grid(digits, **kwargs)


def test_image_grid_refuses_0_255_pixels(digits):
    with pytest.raises(ValueError, match="looks like 0-255 pixels"):
        image_grid(digits * 255)


def test_reconstruction_comparison_has_one_labelled_row_per_model(digits):
    fig = reconstruction_comparison(digits, {"model A": digits, "model B": 1 - digits}, title="compare")
    assert [ax.get_ylabel() for ax in fig.axes] == ["original", "model A", "model B"]
    assert fig._suptitle.get_text() == "compare"
    single = reconstruction_comparison(digits, digits)
    assert [ax.get_ylabel() for ax in single.axes] == ["original", "reconstruction"]


def test_bad_reconstruction_comparison_arguments(digits):
    with pytest.raises(ValueError, match=r"reconstructions\['A'\] has shape \(6, 784\), originals have \(7, 784\)"):
        reconstruction_comparison(digits, {"A": digits[:6]})
    with pytest.raises(ValueError, match="at least one array"):
        reconstruction_comparison(digits, {})
    with pytest.raises(ValueError, match=r"reconstructions\['A'\] must lie in \[0, 1\]"):
        reconstruction_comparison(digits, {"A": digits + 1})


def history(epochs=5, offset=0.0):
    e = np.arange(1, epochs + 1)
    return {f"{split}_{term}": list(100 / e + offset + (1 if split == "test" else 0))
            for split in ("train", "test") for term in ("loss", "reconstruction", "kl", "beta_kl")}


def test_loss_history_panels_and_curves():
    fig = loss_history({"A": history(), "B": history(offset=3)}, terms=("reconstruction", "kl", "loss"), title="t")
    assert len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["reconstruction term", "KL term", "loss (reconstruction + β·KL)"]
    for ax in fig.axes:
        assert [line.get_label() for line in ax.lines] == ["A (train)", "A (test)", "B (train)", "B (test)"]
        np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(1, 6))
    np.testing.assert_allclose(fig.axes[1].lines[3].get_ydata(), np.array(history(offset=3)["test_kl"]))
    single = loss_history(history(), terms=("kl",), splits=("test",), log_y=True)
    assert [line.get_label() for line in single.axes[0].lines] == ["test"]
    assert single.axes[0].get_yscale() == "log"


def test_bad_loss_history_arguments():
    with pytest.raises(KeyError, match="history 'A' has no entry 'train_elbo'"):
        loss_history({"A": history()}, terms=("elbo",))
    with pytest.raises(ValueError, match="splits must be drawn from"):
        loss_history(history(), splits=("validation",))
    with pytest.raises(ValueError, match="terms must be a non-empty sequence"):
        loss_history(history(), terms="kl")
    with pytest.raises(TypeError, match="histories must be a history"):
        loss_history([1, 2, 3])
    with pytest.raises(TypeError, match="histories must be a history"):
        loss_history({})
