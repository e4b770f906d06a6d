"""The models' loss terms, shapes and argument validation."""

import keras
import numpy as np
import pytest

from vaelib.maths.gaussian import gaussian_kl_numpy
from vaelib.models.networks import VAE, Autoencoder, build_decoder, build_encoder, reconstruction_loss


def test_encoder_and_decoder_shapes():
    encoder = build_encoder(latent_dim=3, hidden_units=(32, 16))
    mu, log_var = encoder(np.zeros((5, 784), np.float32))
    assert mu.shape == (5, 3) and log_var.shape == (5, 3)
    assert build_encoder(3, (32,), variational=False)(np.zeros((5, 784), np.float32)).shape == (5, 3)
    assert build_decoder(3, (32, 16))(np.zeros((5, 3), np.float32)).shape == (5, 784)


def test_reconstruction_losses_match_their_formulas():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(4, 784)).astype(np.float32)
    logits = rng.normal(size=(4, 784)).astype(np.float32)
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    squared = ((x - p) ** 2).sum(-1)
    bernoulli = -(x * np.log(p) + (1 - x) * np.log1p(-p)).sum(-1)
    np.testing.assert_allclose(np.asarray(reconstruction_loss(x, logits, "squared_error")), squared, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(reconstruction_loss(x, logits, "bernoulli")), bernoulli, rtol=1e-5)


@pytest.mark.parametrize("beta", [0.0, 1.0, 5.0])
def test_vae_loss_terms_add_up(beta, small_images):
    keras.utils.set_random_seed(0)
    model = VAE(latent_dim=2, hidden_units=(32,), beta=beta, seed=0)
    x = small_images[0][:64]
    terms = {k: float(v) for k, v in model.loss_terms(x, training=False).items()}
    assert terms["loss"] == pytest.approx(terms["reconstruction"] + beta * terms["kl"], rel=1e-6)
    assert terms["beta_kl"] == pytest.approx(beta * terms["kl"], rel=1e-6)
    mu, log_var = (np.asarray(t, np.float64) for t in model.encode(x))
    # The tracked KL is the closed form of eq. (10), averaged over the batch.
    assert terms["kl"] == pytest.approx(gaussian_kl_numpy(mu, log_var).mean(), rel=1e-5)


def test_autoencoder_tracks_no_kl(small_images):
    model = Autoencoder(latent_dim=2, hidden_units=(32,))
    terms = {k: float(v) for k, v in model.loss_terms(small_images[0][:16], training=False).items()}
    assert terms["kl"] == 0.0 and terms["loss"] == terms["reconstruction"] > 0


def test_decode_returns_pixel_means_in_unit_interval():
    model = VAE(latent_dim=2, hidden_units=(16,))
    images = np.asarray(model.decode(np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)))
    assert images.shape == (7, 784) and images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize("kwargs, error, match", [
    ({"beta": -1.0}, ValueError, r"beta must be >= 0.0, got -1.0"),
    ({"beta": float("nan")}, ValueError, r"beta must be finite, got nan"),
    ({"beta": float("inf")}, ValueError, r"beta must be finite, got inf"),
    ({"beta": "1"}, TypeError, r"beta must be a real number, got '1'"),
    ({"latent_dim": 0}, ValueError, r"latent_dim must be >= 1, got 0"),
    ({"likelihood": "gaussian"}, ValueError, r"likelihood must be one of 'squared_error', 'bernoulli'; got 'gaussian'"),
    ({"hidden_units": ()}, ValueError, r"hidden_units must name at least one hidden layer"),
    ({"hidden_units": (64, 0)}, ValueError, r"hidden_units entry must be >= 1, got 0"),
])
def test_invalid_vae_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        VAE(**kwargs)


def test_bad_likelihood_in_reconstruction_loss():
    with pytest.raises(ValueError, match="likelihood must be one of"):
        reconstruction_loss(np.zeros((1, 784)), np.zeros((1, 784)), "poisson")


def test_pixel_levels_are_to_unit_interval_exactly():
    from keras import ops

    from vaelib.data import to_unit_interval
    from vaelib.models.networks import PIXEL_LEVELS, as_unit_interval

    levels = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(PIXEL_LEVELS, to_unit_interval(np.tile(levels, (784, 1)).T[:, :784])[:, 0])
    pixels = np.random.default_rng(0).integers(0, 256, (4, 784), dtype=np.uint8)
    np.testing.assert_array_equal(ops.convert_to_numpy(as_unit_interval(ops.convert_to_tensor(pixels))),
                                  to_unit_interval(pixels))
    floats = to_unit_interval(pixels)
    assert as_unit_interval(floats) is floats


def test_pixel_mean_is_the_sum_over_784_and_is_refused_when_unknown():
    from vaelib.models.networks import reconstruction_loss
    from vaelib.models.training import TrainConfig

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(5, 784)).astype("float32")
    logits = rng.normal(size=(5, 784)).astype("float32")
    for likelihood in ("squared_error", "bernoulli"):
        total = np.asarray(reconstruction_loss(x, logits, likelihood))
        mean = np.asarray(reconstruction_loss(x, logits, likelihood, "mean"))
        np.testing.assert_allclose(mean * 784, total, rtol=1e-5)
    with pytest.raises(ValueError, match="pixel_reduction.*'median'"):
        reconstruction_loss(x, logits, "squared_error", "median")
    with pytest.raises(ValueError, match="pixel_reduction"):
        TrainConfig(pixel_reduction="max")
    config = TrainConfig(pixel_reduction="mean", epochs=1)
    assert config.build_model().pixel_reduction == "mean" and config.graph_key() != TrainConfig(epochs=1).graph_key()
