"""vaelib.plots.latent.decoded_grid: the decoded digits tiled where their latent points lie, and what it refuses."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vaelib.measures import latent_space  # noqa: E402
from vaelib.plots.latent import decoded_grid  # noqa: E402

EXTENT = ((-1.0, 3.0), (10.0, 20.0))  # two scales, as an autoencoder's codes have


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


class PositionDecoder:
    """A stand-in decoder whose 'digit' at (z1, z2) is a flat image of grey level (u + v) / 2, where u and v
    are z1 and z2 scaled to [0, 1] over EXTENT; it records the size of every call."""

    def __init__(self):
        self.calls = []

    def __call__(self, z):
        assert z.dtype == np.float32 and z.ndim == 2 and z.shape[1] == 2
        self.calls.append(len(z))
        (a1, b1), (a2, b2) = EXTENT
        level = ((z[:, 0] - a1) / (b1 - a1) + (z[:, 1] - a2) / (b2 - a2)) / 2
        return np.repeat(np.clip(level, 0, 1)[:, None], 784, axis=1)


def tile(canvas, row, col):
    return canvas[28 * row:28 * (row + 1), 28 * col:28 * (col + 1)]


def test_each_digit_sits_at_its_latent_point():
    decode = PositionDecoder()
    fig = decoded_grid(decode, EXTENT, 5, title="stand-in")
    (ax,) = fig.axes
    (image,) = ax.images
    canvas = np.asarray(image.get_array())
    assert canvas.shape == (5 * 28, 5 * 28)
    # top left is (lowest z1, highest z2): level 1/2; top right 1; bottom left 0; bottom right 1/2
    for (row, col), level in {(0, 0): 0.5, (0, 4): 1.0, (4, 0): 0.0, (4, 4): 0.5, (2, 2): 0.5}.items():
        np.testing.assert_allclose(tile(canvas, row, col), level, atol=1e-6, err_msg=str((row, col)))
    # the picture spans the grid's rectangle plus half a step on each side, so each digit is centred on its point
    np.testing.assert_allclose(image.get_extent(), (-1.5, 3.5, 8.75, 21.25))
    assert ax.get_xlabel() == "$z_1$" and ax.get_ylabel() == "$z_2$" and ax.get_title() == "stand-in"
    assert image.get_clim() == (0.0, 1.0)
    assert decode.calls == [25]  # one batched call


def test_the_model_is_called_in_blocks():
    decode = PositionDecoder()
    fig = decoded_grid(decode, EXTENT, 6, rows=10)
    assert decode.calls == [10, 10, 10, 6]
    whole = decoded_grid(PositionDecoder(), EXTENT, 6)
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), whole.axes[0].images[0].get_array())


def test_a_keras_decoder_and_an_existing_axes():
    import keras

    from vaelib.models.networks import VAE

    keras.utils.set_random_seed(0)
    vae = VAE(hidden_units=(8,))
    fig, (left, right) = plt.subplots(1, 2)
    assert decoded_grid(vae.decode, 2.0, 3, ax=right) is fig
    assert not left.images
    _, _, points = latent_space.latent_grid(2.0, 3)
    expected = np.asarray(vae.decode(points.astype(np.float32)))
    np.testing.assert_allclose(tile(np.asarray(right.images[0].get_array()), 1, 2), expected[5].reshape(28, 28))


def test_points_far_from_every_code_are_framed():
    rng = np.random.default_rng(0)
    codes = rng.uniform((-1.0, 10.0), (1.0, 15.0), size=(2000, 2))  # the lower left of EXTENT only
    fig = decoded_grid(PositionDecoder(), EXTENT, 6, codes=codes)
    frames = [p for p in fig.axes[0].patches if p.get_gid() == "far"]
    _, _, points = latent_space.latent_grid(EXTENT, 6)
    far = latent_space.nearest_code_distances(points, codes) > latent_space.typical_spacing(codes)
    assert 0 < far.sum() < len(points) and len(frames) == far.sum()
    centres = {(round(f.get_x() + f.get_width() / 2, 9), round(f.get_y() + f.get_height() / 2, 9)) for f in frames}
    assert centres == {(round(p1, 9), round(p2, 9)) for p1, p2 in points[far]}
    assert (-1.0, 20.0) in centres and (-0.2, 12.0) not in centres  # top left is far; a point among the codes is not
    assert not [p for p in decoded_grid(PositionDecoder(), EXTENT, 6).axes[0].patches if p.get_gid() == "far"]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=1), ValueError, "n must be >= 2, got 1"),
    (dict(n=101), ValueError, "n must be <= 100, got 101"),
    (dict(n=4.5), TypeError, "n must be an integer, got 4.5"),
    (dict(extent=(3.0, 1.0)), ValueError, r"low < high on each axis, got \[\[3.0, 1.0\], \[3.0, 1.0\]\]"),
    (dict(extent=-1), ValueError, "extent must be > 0.0, got -1.0"),
    (dict(rows=0), ValueError, "rows must be >= 1, got 0"),
    (dict(ax="axes"), TypeError, "ax must be a matplotlib Axes or None, got str"),
    (dict(codes=np.zeros((5, 3))), ValueError, r"codes must have 2 columns, got shape \(5, 3\)"),
])
def test_bad_arguments_are_refused_before_decoding(kwargs, error, match):
    decode = PositionDecoder()
    with pytest.raises(error, match=match):
        decoded_grid(decode, **{"extent": EXTENT, "n": 4, **kwargs})
    assert decode.calls == []


def test_bad_decoders_are_refused():
    with pytest.raises(TypeError, match="decode must be a function of latent points .*, got VAE"):
        decoded_grid(type("VAE", (), {})(), EXTENT, 4)  # a model passed instead of its decode method
    with pytest.raises(ValueError, match=r"decode must map 16 points to 16 images of 784 pixels, got shape \(16, 10\)"):
        decoded_grid(lambda z: np.zeros((len(z), 10)), EXTENT, 4)
    with pytest.raises(ValueError, match=r"decoded images must lie in \[0, 1\], got 12,544 above 1 .* looks like 0-255"):
        decoded_grid(lambda z: np.full((len(z), 784), 255.0), EXTENT, 4)
