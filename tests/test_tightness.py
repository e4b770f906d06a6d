"""Chapter 14's experiment helpers (vaelib.measures.tightness): binarization, the cached bound evaluation, bad inputs."""

import math

import numpy as np
import pytest

from vaelib._runtime import cache

from vaelib.measures import iwae, tightness
from vaelib.models.training import TrainConfig, train


def test_binarize_draws_bernoulli_pixels():
    grey = np.full((2000, 784), 0.3, dtype=np.float32)
    binary = tightness.binarize(grey, seed=1)
    assert binary.dtype == np.float32 and set(np.unique(binary)) <= {0.0, 1.0}
    n = binary.size
    assert abs(binary.mean() - 0.3) < 5 * math.sqrt(0.3 * 0.7 / n)  # 5 standard errors of a proportion
    np.testing.assert_array_equal(binary, tightness.binarize(grey, seed=1))  # seeded
    edges = tightness.binarize(np.stack([np.zeros(784), np.ones(784)]).astype(np.float32), seed=0)
    np.testing.assert_array_equal(edges, [np.zeros(784), np.ones(784)])  # 0 and 1 stay as they are


@pytest.fixture(scope="module")
def tiny_bernoulli(small_images):
    x_train, x_test = small_images
    config = TrainConfig(likelihood="bernoulli", hidden_units=(16,), epochs=1, batch_size=64, seed=0)
    return train(config, tightness.binarize(x_train, 0), tightness.binarize(x_test, 1), use_cache=False)


def test_evaluate_bounds_is_consistent_and_cached(tiny_bernoulli, small_images, cache_dir):
    x = tightness.binarize(small_images[1][:6], 3)
    first = tightness.evaluate_bounds(tiny_bernoulli, x, n_samples=40, ks=[1, 4, 40], seed=5)
    assert not first.from_cache and first.iwae.shape == (6, 3)
    # L_40 from all draws equals log_mean_exp of the same weights computed directly (same seed)
    log_w = iwae.log_weights(tiny_bernoulli.model(), x, 40, rng=5)
    np.testing.assert_allclose(first.bound(40), iwae.log_mean_exp(log_w), rtol=0, atol=1e-6)
    np.testing.assert_allclose(first.bound(1), log_w.mean(axis=1), rtol=0, atol=1e-6)
    assert np.all(first.kl >= 0) and np.all(first.log_likelihood <= 0)
    second = tightness.evaluate_bounds(tiny_bernoulli, x, n_samples=40, ks=[1, 4, 40], seed=5)
    assert second.from_cache
    np.testing.assert_array_equal(first.iwae, second.iwae)
    np.testing.assert_array_equal(first.elbo, second.elbo)
    third = tightness.evaluate_bounds(tiny_bernoulli, x, n_samples=40, ks=[1, 4, 40], seed=6)
    assert not third.from_cache  # another seed is another entry


def test_corrupt_bound_entry_is_recomputed(tiny_bernoulli, small_images, cache_dir):
    x = tightness.binarize(small_images[1][:4], 3)
    tightness.evaluate_bounds(tiny_bernoulli, x, n_samples=8, ks=[1, 8], seed=0)
    (entry,) = [p for p in cache_dir.iterdir() if not p.name.startswith(".")]
    (entry / "bounds.npz").write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="does not match its sha256; discarding it and computing the bounds again"):
        again = tightness.evaluate_bounds(tiny_bernoulli, x, n_samples=8, ks=[1, 8], seed=0)
    assert not again.from_cache and np.all(np.isfinite(again.iwae))
    assert cache.read_entry(cache_dir, entry.name) is not None  # rewritten, verified


def test_bad_tightness_arguments(tiny_bernoulli, small_images, cache_dir):
    x = small_images[1][:4]
    with pytest.raises(ValueError, match=r"ks entry must be <= 8"):
        tightness.evaluate_bounds(tiny_bernoulli, x, n_samples=8, ks=[1, 9])
    with pytest.raises(TypeError, match="TrainResult"):
        tightness.evaluate_bounds("model", x, n_samples=8, ks=[1])
    with pytest.raises(ValueError, match="likelihood='bernoulli' and binarize=True"):
        tightness.train_bernoulli(TrainConfig(epochs=1), x, x)
    with pytest.raises(ValueError, match="binarize=True"):
        tightness.train_bernoulli(TrainConfig(epochs=1, likelihood="bernoulli"), x, x)
    evaluation = tightness.evaluate_bounds(tiny_bernoulli, x, n_samples=8, ks=[1, 8])
    with pytest.raises(ValueError, match="k must be one of"):
        evaluation.bound(2)


def test_invalid_images_are_refused():
    with pytest.raises(ValueError):
        tightness.binarize(np.full((2, 784), 2.0, dtype=np.float32))  # 0-255 scale is refused, not rescaled


def test_bernoulli_training_binarizes_dynamically(small_images, cache_dir):
    """train_bernoulli trains on the grey images with binarize=True: the cache key holds the grey data."""
    x_train, x_test = small_images
    config = tightness.bernoulli_config(2, 1, hidden_units=(16,), seed=0)
    assert config.binarize and config.likelihood == "bernoulli"
    result = tightness.train_bernoulli(config, x_train, x_test, n_train=128)
    assert result.config == config and np.isfinite(result.history["train_loss"][0])
    again = tightness.train_bernoulli(config, x_train, x_test, n_train=128)
    assert again.from_cache
