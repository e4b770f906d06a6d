"""Algorithm 1 against vaelib's trainer, the eq. (11) estimator and its reference values (vaelib.models.aevb)."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops
from scipy import stats
from tolerances import FLOAT32_REORDERED

from vaelib.maths.gaussian import gaussian_kl_numpy
from vaelib.models import aevb
from vaelib.models.networks import LIKELIHOODS, Autoencoder, build_decoder, build_encoder, encode_mean, reconstruction_loss
from vaelib.models.training import TrainConfig

SMALL = dict(hidden_units=(16,), batch_size=64, seed=3)


def small_vae(likelihood="squared_error", seed=0, latent_dim=2):
    keras.utils.set_random_seed(seed)
    return TrainConfig(hidden_units=(16,), likelihood=likelihood, latent_dim=latent_dim, epochs=1, seed=seed).build_model()


# ---------------------------------------------------------------------------------------------
# minibatch_orders
# ---------------------------------------------------------------------------------------------
def test_minibatch_orders_are_seeded_permutations():
    orders = aevb.minibatch_orders(50, 3, seed=7)
    assert orders.shape == (3, 50) and orders.dtype == np.int64
    for row in orders:
        np.testing.assert_array_equal(np.sort(row), np.arange(50))
    assert not np.array_equal(orders[0], orders[1])  # a fresh shuffle every epoch
    np.testing.assert_array_equal(orders, aevb.minibatch_orders(50, 3, seed=7))
    assert not np.array_equal(orders, aevb.minibatch_orders(50, 3, seed=8))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=0, epochs=1), ValueError, "n must be >= 1"),
    (dict(n=10, epochs=0), ValueError, "epochs must be >= 1"),
    (dict(n=10, epochs=1.5), TypeError, "epochs must be an integer"),
    (dict(n=10, epochs=1, seed=-1), ValueError, "seed must be >= 0"),
])
def test_bad_minibatch_orders_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        aevb.minibatch_orders(**kwargs)


# ---------------------------------------------------------------------------------------------
# fit_in_order: vaelib's trainer on a given batch order equals Algorithm 1 written by hand
# ---------------------------------------------------------------------------------------------
def hand_written_algorithm_1(config, x, orders):
    """Algorithm 1 (L = 1, squared error, Adam), independent of vaelib.models.networks.VAE and vaelib.models.training."""
    keras.utils.set_random_seed(config.seed)
    encoder = build_encoder(config.latent_dim, config.hidden_units)
    decoder = build_decoder(config.latent_dim, config.hidden_units)
    weights = encoder.trainable_weights + decoder.trainable_weights
    optimizer = keras.optimizers.Adam(config.learning_rate)
    noise = keras.random.SeedGenerator(config.seed)
    losses = []
    for order in orders:
        for start in range(0, len(order), config.batch_size):
            xb = ops.convert_to_tensor(x[order[start:start + config.batch_size]])
            eps = aevb.standard_normal((xb.shape[0], config.latent_dim), noise)
            with tf.GradientTape() as tape:
                mu, log_var = encoder(xb)
                x_hat = ops.sigmoid(decoder(mu + ops.exp(0.5 * log_var) * eps))
                rec = ops.mean(ops.sum(ops.square(xb - x_hat), axis=-1))
                kl = ops.mean(-0.5 * ops.sum(1.0 + log_var - ops.square(mu) - ops.exp(log_var), axis=-1))
                loss = rec + config.beta * kl
            grads = tape.gradient(loss, weights)
            optimizer.apply_gradients(zip(grads, weights))
            losses.append([float(loss), float(rec), float(kl)])
    return encoder.get_weights() + decoder.get_weights(), np.array(losses)


def test_fit_in_order_equals_hand_written_algorithm_1(small_images):
    x = small_images[0][:300]  # 300 = 4 full minibatches of 64 and a partial one of 44
    config = TrainConfig(epochs=2, beta=2.0, **SMALL)
    orders = aevb.minibatch_orders(len(x), config.epochs, seed=11)
    model, history = aevb.fit_in_order(config, x, orders)
    weights, steps = hand_written_algorithm_1(config, x, orders)
    assert sorted(history) == ["beta_kl", "kl", "loss", "reconstruction"]
    epoch_means = steps.reshape(config.epochs, 5, 3).mean(axis=1)
    expected = np.array([history["loss"], history["reconstruction"], history["kl"]]).T
    # float32 round-off of the same operations (graph vs eager): 100 ulps per step over 10 steps
    tolerance = 100 * len(steps) * np.finfo(np.float32).eps
    np.testing.assert_allclose(epoch_means, expected, rtol=tolerance)
    final = model.encoder.get_weights() + model.decoder.get_weights()
    scale = max(np.abs(w).max() for w in final)
    assert max(np.abs(a - b).max() for a, b in zip(weights, final)) < tolerance * scale


def test_fit_in_order_follows_the_order(small_images):
    x = small_images[0][:256]
    config = TrainConfig(epochs=1, **SMALL)
    orders = aevb.minibatch_orders(len(x), 1, seed=0)
    _, first = aevb.fit_in_order(config, x, orders)
    _, again = aevb.fit_in_order(config, x, orders)
    _, other = aevb.fit_in_order(config, x, orders[:, ::-1])
    assert first == again  # deterministic
    assert first["loss"] != other["loss"]  # the order matters, so it was used


def test_ordered_batches_yield_exactly_the_scheduled_minibatches(small_images):
    x = small_images[0][:100]
    orders = aevb.minibatch_orders(100, 2, seed=5)
    feed = aevb._OrderedBatches(x, orders, 32)
    for epoch in (0, 1, 0):
        feed.on_epoch_begin(epoch)
        batches = [b.numpy() for b in feed.dataset()]
        assert [len(b) for b in batches] == [32, 32, 32, 4]
        np.testing.assert_array_equal(np.concatenate(batches), x[orders[epoch]])


def test_bad_fit_in_order_arguments(small_images):
    x = small_images[0][:128]
    config = TrainConfig(epochs=2, **SMALL)
    good = aevb.minibatch_orders(128, 2)
    with pytest.raises(TypeError, match="config must be a vaelib.models.training.TrainConfig"):
        aevb.fit_in_order({"epochs": 2}, x, good)
    with pytest.raises(ValueError, match=r"orders must have shape \(epochs, n\) = \(2, 128\)"):
        aevb.fit_in_order(config, x, good[:1])
    repeated = good.copy()
    repeated[1, 0] = repeated[1, 1]
    with pytest.raises(ValueError, match=r"orders\[1\] must be a permutation of range\(128\)"):
        aevb.fit_in_order(config, x, repeated)
    with pytest.raises(TypeError, match="orders must be an integer array"):
        aevb.fit_in_order(config, x, good.astype(float))
    with pytest.raises(ValueError, match="x_train must lie in"):
        aevb.fit_in_order(config, x * 255, good)


# ---------------------------------------------------------------------------------------------
# log_likelihood
# ---------------------------------------------------------------------------------------------
def test_log_likelihood_gaussian_matches_scipy_and_the_training_loss():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(6, 784))
    logits = rng.normal(scale=3.0, size=(6, 784))
    x_hat = 1 / (1 + np.exp(-logits))
    for variance in (0.5, 0.01, 3.0):
        expected = stats.norm.logpdf(x, x_hat, math.sqrt(variance)).sum(axis=1)
        np.testing.assert_allclose(aevb.log_likelihood(x, logits, variance=variance), expected, rtol=1e-12)
    # variance 1/2: minus the squared error of vaelib.models.networks, minus (D/2) log(pi)
    loss = np.asarray(reconstruction_loss(x.astype(np.float32), logits.astype(np.float32)), dtype=np.float64)
    np.testing.assert_allclose(-aevb.log_likelihood(x, logits), loss + 392 * math.log(math.pi), rtol=1e-6)


def test_log_likelihood_bernoulli_matches_scipy_and_the_training_loss():
    rng = np.random.default_rng(1)
    x = (rng.uniform(size=(5, 784)) < 0.3).astype(float)
    logits = rng.normal(scale=4.0, size=(5, 784))
    expected = stats.bernoulli.logpmf(x, 1 / (1 + np.exp(-logits))).sum(axis=1)
    np.testing.assert_allclose(aevb.log_likelihood(x, logits, "bernoulli"), expected, rtol=1e-10)
    loss = np.asarray(reconstruction_loss(x.astype(np.float32), logits.astype(np.float32), "bernoulli"))
    np.testing.assert_allclose(-aevb.log_likelihood(x, logits, "bernoulli"), loss, rtol=1e-5)
    # extreme logits do not overflow
    assert np.isfinite(aevb.log_likelihood(np.ones((1, 3)), np.array([[1e4, -1e4, 0.0]]), "bernoulli")).all()


@pytest.mark.parametrize("likelihood", ["squared_error", "bernoulli"])
@pytest.mark.parametrize("x_shape, logits_shape", [((2500, 784), (2500, 784)), ((1, 1100, 20), (3, 1100, 20)),
                                                   ((20,), (2100, 20))])
def test_log_likelihood_in_blocks_equals_one_pass(monkeypatch, likelihood, x_shape, logits_shape):
    """log_likelihood works in blocks of rows to bound its float64 temporaries; the numbers must not change."""
    rng = np.random.default_rng(5)
    x = rng.uniform(size=x_shape).astype(np.float32)
    logits = rng.normal(scale=3.0, size=logits_shape).astype(np.float32)
    blocked = aevb.log_likelihood(x, logits, likelihood)
    monkeypatch.setattr(aevb, "_LIKELIHOOD_BLOCK_ROWS", 10**9)
    one_pass = aevb.log_likelihood(x, logits, likelihood)
    assert blocked.shape == np.broadcast_shapes(x_shape, logits_shape)[:-1]
    np.testing.assert_array_equal(blocked, one_pass)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(likelihood="poisson"), ValueError, "likelihood must be one of 'squared_error', 'bernoulli'"),
    (dict(variance=0.0), ValueError, "variance must be > 0.0"),
    (dict(variance="1"), TypeError, "variance must be a real number"),
    (dict(logits=np.zeros((2, 10))), ValueError, "x and logits must have the same last axis"),
    (dict(logits=np.zeros((3, 784))), ValueError, r"must broadcast against each other, got shapes \(2, 784\) and \(3, 784\)"),
])
def test_bad_log_likelihood_arguments(kwargs, error, match):
    arguments = dict(x=np.zeros((2, 784)), logits=np.zeros((2, 784)))
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        aevb.log_likelihood(**arguments)


# ---------------------------------------------------------------------------------------------
# elbo_estimate and reconstruction_moments
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("likelihood", ["squared_error", "bernoulli"])
def test_elbo_estimate_is_eq_11_at_given_draws(small_images, likelihood):
    model = small_vae(likelihood)
    x = small_images[1][:5]
    eps = np.random.default_rng(2).standard_normal((3, 5, 2))
    mu, log_var = (np.asarray(t, dtype=np.float64) for t in model.encode(x))
    logits = np.stack([np.asarray(model.decoder((mu + np.exp(0.5 * log_var) * e).astype(np.float32))) for e in eps])
    expected = -gaussian_kl_numpy(mu, log_var) + aevb.log_likelihood(x, logits, likelihood).mean(axis=0)
    # the estimator sums float32 losses: 1e-5 relative
    np.testing.assert_allclose(aevb.elbo_estimate(model, x, 3, epsilon=eps), expected, rtol=1e-5)
    other = "bernoulli" if likelihood == "squared_error" else "squared_error"
    expected_other = -gaussian_kl_numpy(mu, log_var) + aevb.log_likelihood(x, logits, other).mean(axis=0)
    np.testing.assert_allclose(aevb.elbo_estimate(model, x, 3, epsilon=eps, likelihood=other), expected_other, rtol=1e-5)


def test_elbo_estimate_is_unbiased_with_variance_over_L(small_images):
    model = small_vae()
    x = small_images[1][:4]
    mean, variance = aevb.reconstruction_moments(model, x, n_nodes=48)
    exact = mean - gaussian_kl_numpy(*(np.asarray(t, dtype=np.float64) for t in model.encode(x)))
    rng = np.random.default_rng(3)
    repeats = 400
    for L in (1, 8):
        estimates = np.stack([aevb.elbo_estimate(model, x, L, rng=rng) for _ in range(repeats)])
        se = np.sqrt(variance / L / repeats)
        assert np.all(np.abs(estimates.mean(axis=0) - exact) < 5 * se + 1e-3)  # 5 s.e. + quadrature error
        # Var = Var_q[log p(x|z)] / L within 5 standard errors of the sample variance (+ 1% quadrature error)
        centred = estimates - estimates.mean(axis=0)
        se_var = np.sqrt((np.mean(centred**4, axis=0) - np.var(estimates, axis=0) ** 2) / repeats)
        assert np.all(np.abs(estimates.var(axis=0, ddof=1) - variance / L) < 5 * se_var + 0.01 * variance / L)


def test_reconstruction_moments_agree_with_monte_carlo(small_images):
    model = small_vae("bernoulli", seed=4)
    x = small_images[1][:3]
    mean, variance = aevb.reconstruction_moments(model, x, n_nodes=40)
    coarse_mean, _ = aevb.reconstruction_moments(model, x, n_nodes=24)
    np.testing.assert_allclose(mean, coarse_mean, atol=1e-2)
    mu, log_var = (np.asarray(t, dtype=np.float64) for t in model.encode(x))
    n = 20000
    z = mu + np.exp(0.5 * log_var) * np.random.default_rng(5).standard_normal((n, 3, 2))
    logits = np.asarray(model.decoder(z.reshape(-1, 2).astype(np.float32)), dtype=np.float64).reshape(n, 3, 784)
    samples = aevb.log_likelihood(x, logits, "bernoulli")  # log p(x|z), z ~ q(z|x), shape (n, 3)
    se_mean = samples.std(axis=0, ddof=1) / math.sqrt(n)
    assert np.all(np.abs(samples.mean(axis=0) - mean) < 5 * se_mean + 1e-2)  # 5 s.e. + quadrature error
    centred = samples - samples.mean(axis=0)
    se_var = np.sqrt((np.mean(centred**4, axis=0) - np.var(samples, axis=0) ** 2) / n)  # s.e. of a sample variance
    assert np.all(np.abs(samples.var(axis=0, ddof=1) - variance) < 5 * se_var + 1e-2 * variance)


def test_encoding_and_decoder_logits_in_blocks_equal_one_pass(small_images, monkeypatch):
    model = small_vae()
    x = small_images[1][:50]
    mu, log_var = (np.asarray(t, dtype=np.float64) for t in model.encode(x))
    logits = np.asarray(model.decoder(mu.astype(np.float32)), dtype=np.float64)
    blocked_mu, blocked_log_var = encode_mean(model, x, batch_size=7)  # 50 rows: seven blocks, the last one short
    np.testing.assert_array_equal(aevb._encode(model, x)[0], encode_mean(model, x)[0])  # aevb encodes through it
    # a matrix product of 7 rows may take another CPU kernel than one of 50 (conftest)
    np.testing.assert_allclose(blocked_mu, mu, **FLOAT32_REORDERED)
    np.testing.assert_allclose(blocked_log_var, log_var, **FLOAT32_REORDERED)
    np.testing.assert_allclose(aevb.decoder_logits(model, mu), logits, **FLOAT32_REORDERED)
    assert blocked_mu.dtype == logits.dtype == np.float64
    for likelihood in LIKELIHOODS:  # log p(x | z = mu) block by block against one pass over the 50 images
        np.testing.assert_allclose(aevb.log_likelihood_at_mean(model, x, likelihood),
                                   aevb.log_likelihood(x, logits, likelihood), rtol=1e-6)
    with pytest.raises(ValueError, match="likelihood must be one of"):
        aevb.log_likelihood_at_mean(model, x, "poisson")
    with pytest.raises(ValueError, match=r"z must have shape \(n, 2\), got \(50, 3\)"):
        aevb.decoder_logits(model, np.zeros((50, 3)))
    with pytest.raises(TypeError, match="model must be a vaelib.models.networks.VAE, got Autoencoder"):
        aevb.decoder_logits(Autoencoder(2, (16,)), mu)


def test_bad_elbo_and_moment_arguments(small_images):
    model = small_vae()
    x = small_images[1][:4]
    with pytest.raises(TypeError, match="model must be a vaelib.models.networks.VAE, got Autoencoder"):
        aevb.elbo_estimate(Autoencoder(2, (16,)), x)
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        aevb.elbo_estimate(model, x, 0)
    with pytest.raises(ValueError, match=r"epsilon must have shape \(n_samples, n_images, latent_dim\) = \(2, 4, 2\)"):
        aevb.elbo_estimate(model, x, 2, epsilon=np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="give rng or epsilon, not both"):
        aevb.elbo_estimate(model, x, 1, rng=0, epsilon=np.zeros((1, 4, 2)))
    with pytest.raises(ValueError, match="epsilon must be finite"):
        aevb.elbo_estimate(model, x, 1, epsilon=np.full((1, 4, 2), np.nan))
    with pytest.raises(TypeError, match="rng must be a numpy Generator"):
        aevb.elbo_estimate(model, x, 1, rng="seed")
    with pytest.raises(ValueError, match="likelihood must be one of"):
        aevb.elbo_estimate(model, x, 1, likelihood="gaussian")
    with pytest.raises(ValueError, match="x must lie in"):
        aevb.elbo_estimate(model, x * 255, 1)
    with pytest.raises(ValueError, match="n_nodes must be >= 2"):
        aevb.reconstruction_moments(model, x, n_nodes=1)
    with pytest.raises(ValueError, match="27000 quadrature points per image in 3 latent dimensions"):
        aevb.reconstruction_moments(small_vae(latent_dim=3), x, n_nodes=30)


# ---------------------------------------------------------------------------------------------
# equivalent_kl_weight: the beta hidden in the squared error
# ---------------------------------------------------------------------------------------------
def test_squared_error_with_beta_is_a_gaussian_beta_elbo():
    rng = np.random.default_rng(4)
    x = rng.uniform(size=(4, 784))
    logits = rng.normal(size=(4, 784))
    kl = rng.uniform(0, 10, size=4)
    squared_error = np.sum((x - 1 / (1 + np.exp(-logits))) ** 2, axis=1)
    for beta in (0.0, 1.0, 50.0):
        for variance in (0.5, 0.01, 2.0):
            weight = aevb.equivalent_kl_weight(beta, variance)
            gaussian = -aevb.log_likelihood(x, logits, variance=variance) + weight * kl
            constant = 784 * variance * math.log(2 * math.pi * variance)
            np.testing.assert_allclose(squared_error + beta * kl, 2 * variance * gaussian - constant, rtol=1e-12)
    assert aevb.equivalent_kl_weight(1.0, 0.5) == 1.0  # the report's beta = 1 is the ELBO at variance 1/2


@pytest.mark.parametrize("beta, variance, error, match", [
    (-1.0, 0.5, ValueError, "beta must be >= 0.0"),
    (1.0, 0.0, ValueError, "variance must be > 0.0"),
    (1.0, float("inf"), ValueError, "variance must be finite"),
    ("1", 0.5, TypeError, "beta must be a real number"),
])
def test_bad_equivalent_kl_weight_arguments(beta, variance, error, match):
    with pytest.raises(error, match=match):
        aevb.equivalent_kl_weight(beta, variance)
