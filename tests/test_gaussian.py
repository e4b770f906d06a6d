"""vaelib.maths.gaussian: the closed-form KL of eq. (10), the diagonal-Gaussian log-density and the
reparameterized sampler, checked against references that do not share its code (SciPy's
quadrature and ``scipy.stats.norm``, NumPy Monte Carlo) and through TensorFlow's autodiff.

Statistical checks use five standard errors (a false alarm has probability ~6e-7 per check for
a normally distributed error) with fixed seeds, so every run sees the same draws; float checks
use tolerances derived from the float's epsilon and the magnitude of the summed terms.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import integrate, stats

from vaelib.maths.gaussian import gaussian_kl, gaussian_kl_numpy, gaussian_log_density, reparameterize, sample_gaussian

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)


def random_q(rng, shape):
    """Means uniform on [-2, 2] and log-variances uniform on [-3, 2] (sigma from 0.22 to 2.7)."""
    return rng.uniform(-2, 2, shape), rng.uniform(-3, 2, shape)


def kl_scale(mu, log_var):
    """Sum over the last axis of the magnitudes of the terms of eq. (10): float rounding is relative to it."""
    mu, log_var = np.asarray(mu, np.float64), np.asarray(log_var, np.float64)
    return np.sum(1 + np.abs(log_var) + mu**2 + np.exp(log_var), axis=-1)


# ----------------------------------------------------------------------------------------------
# gaussian_kl / gaussian_kl_numpy
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("latent_dim", [1, 2, 5])
def test_kl_matches_numerical_integration(latent_dim):
    rng = np.random.default_rng(latent_dim)
    for _ in range(3):
        mu, log_var = random_q(rng, latent_dim)
        sigma = np.exp(0.5 * log_var)
        total, error = 0.0, 0.0
        for m, s in zip(mu, sigma):  # q and p factorise: the KL is a sum of 1-D integrals
            integrand = lambda z, m=m, s=s: stats.norm.pdf(z, m, s) * (stats.norm.logpdf(z, m, s) - stats.norm.logpdf(z))
            value, err = integrate.quad(integrand, m - 20 * s, m + 20 * s, epsabs=1e-13, epsrel=1e-13, limit=200)
            total, error = total + value, error + err
        # quad's error estimates (the mass outside +-20 sigma is < 1e-88) plus float64 rounding
        tolerance = error + 16 * EPS64 * kl_scale(mu, log_var)
        assert abs(gaussian_kl_numpy(mu, log_var) - total) <= tolerance
        assert abs(float(gaussian_kl(mu, log_var)) - total) <= tolerance


def test_kl_matches_monte_carlo_with_scipy_densities():
    rng = np.random.default_rng(1)
    n = 200_000
    for latent_dim in (2, 5):
        mu, log_var = random_q(rng, latent_dim)
        sigma = np.exp(0.5 * log_var)
        z = mu + sigma * rng.standard_normal((n, latent_dim))
        f = np.sum(stats.norm.logpdf(z, mu, sigma) - stats.norm.logpdf(z), axis=-1)
        se = f.std(ddof=1) / math.sqrt(n)
        assert abs(f.mean() - float(gaussian_kl(mu, log_var))) < 5 * se


def test_kl_matches_monte_carlo_with_vaelib_sampler():
    """The same identity through the library's own sampler and log-density (float64 tensors)."""
    mu, log_var = random_q(np.random.default_rng(2), (1, 3))
    n = 200_000
    mu_n, log_var_n = np.repeat(mu, n, axis=0), np.repeat(log_var, n, axis=0)
    z = sample_gaussian(mu_n, log_var_n, keras.random.SeedGenerator(3))
    f = np.asarray(gaussian_log_density(z, mu_n, log_var_n) - gaussian_log_density(z, 0 * mu_n, 0 * log_var_n))
    se = f.std(ddof=1) / math.sqrt(n)
    assert abs(f.mean() - gaussian_kl_numpy(mu, log_var)[0]) < 5 * se


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kl_is_exactly_zero_at_the_prior(dtype):
    zeros = np.zeros((3, 4), dtype)
    kl = np.asarray(gaussian_kl(zeros, zeros))
    assert kl.shape == (3,) and kl.dtype == dtype
    assert np.all(kl == 0.0)  # 1 + 0 - 0 - exp(0) is exactly 0 in floating point
    assert np.all(gaussian_kl_numpy(zeros, zeros) == 0.0)


def test_kl_is_positive_away_from_the_prior():
    rng = np.random.default_rng(4)
    mu, log_var = rng.uniform(-3, 3, (50_000, 2)), rng.uniform(-6, 3, (50_000, 2))
    kl = gaussian_kl_numpy(mu, log_var)
    assert np.all(kl > 0)
    # each coordinate contributes mu^2/2 + (sigma^2 - 1 - log sigma^2)/2, both parts >= 0
    assert np.all(kl >= 0.5 * np.sum(mu**2, axis=-1) - 8 * EPS64 * kl_scale(mu, log_var))
    # one coordinate away from the prior is enough to make it positive, however small the step
    for step in (1e-3, 1e-2, 1e-1):
        assert gaussian_kl_numpy([step, 0.0], [0.0, 0.0]) > 0
        assert gaussian_kl_numpy([0.0, 0.0], [0.0, step]) > 0


def test_kl_float32_agrees_with_float64():
    rng = np.random.default_rng(5)
    latent_dim = 2
    mu, log_var = (a.astype(np.float32) for a in random_q(rng, (20_000, latent_dim)))
    kl32 = np.asarray(gaussian_kl(mu, log_var))
    assert kl32.dtype == np.float32
    reference = gaussian_kl_numpy(mu, log_var)  # the same float32 inputs, evaluated in float64
    # J terms of 3 additions and one exp each, then a J-term sum: a few eps32 of the terms' magnitude
    assert np.all(np.abs(kl32 - reference) < (latent_dim + 4) * EPS32 * kl_scale(mu, log_var))


def test_keras_and_numpy_versions_agree_in_float64():
    mu, log_var = random_q(np.random.default_rng(6), (1_000, 5))
    keras_kl = np.asarray(gaussian_kl(mu, log_var))
    assert keras_kl.dtype == np.float64
    np.testing.assert_allclose(keras_kl, gaussian_kl_numpy(mu, log_var), rtol=0, atol=16 * EPS64 * kl_scale(mu, log_var).max())


def test_kl_shapes_and_broadcasting():
    rng = np.random.default_rng(7)
    mu, log_var = random_q(rng, (4, 3, 2))
    assert np.asarray(gaussian_kl(mu, log_var)).shape == (4, 3)
    assert gaussian_kl_numpy(mu, log_var).shape == (4, 3)
    # one log-variance vector shared by a batch of means broadcasts like an explicit copy
    shared = log_var[0, 0]
    # (equal up to an ulp: the broadcast and the copied operands may take different vectorised paths)
    np.testing.assert_allclose(np.asarray(gaussian_kl(mu, shared)),
                               np.asarray(gaussian_kl(mu, np.broadcast_to(shared, mu.shape))), rtol=4 * EPS64, atol=0)
    # the KL of a J-dimensional q is the sum of J one-dimensional ones
    per_coordinate = gaussian_kl_numpy(mu[..., :1], log_var[..., :1]) + gaussian_kl_numpy(mu[..., 1:], log_var[..., 1:])
    np.testing.assert_allclose(gaussian_kl_numpy(mu, log_var), per_coordinate, rtol=4 * EPS64, atol=0)


def test_kl_gradient_is_the_analytic_one():
    mu, log_var = (tf.Variable(a) for a in random_q(np.random.default_rng(8), (6, 2)))
    with tf.GradientTape() as tape:
        kl = tf.reduce_sum(gaussian_kl(mu, log_var))
    grad_mu, grad_log_var = tape.gradient(kl, [mu, log_var])
    # d KL / d mu = mu, d KL / d log_var = (exp(log_var) - 1) / 2, to float64 rounding
    np.testing.assert_allclose(grad_mu.numpy(), mu.numpy(), rtol=4 * EPS64)
    np.testing.assert_allclose(grad_log_var.numpy(), 0.5 * np.expm1(log_var.numpy()), rtol=1e-12, atol=4 * EPS64)


def test_kl_in_a_compiled_graph_matches_eager():
    """The VAE calls gaussian_kl inside a compiled train_step."""
    mu, log_var = (a.astype(np.float32) for a in random_q(np.random.default_rng(9), (16, 2)))
    graph = tf.function(gaussian_kl)(tf.constant(mu), tf.constant(log_var))
    np.testing.assert_array_equal(graph.numpy(), np.asarray(gaussian_kl(mu, log_var)))


# ----------------------------------------------------------------------------------------------
# gaussian_log_density
# ----------------------------------------------------------------------------------------------
def test_log_density_matches_scipy():
    rng = np.random.default_rng(10)
    mu, log_var = random_q(rng, (100, 3))
    z = rng.normal(size=(100, 3)) * 2
    expected = np.sum(stats.norm.logpdf(z, mu, np.exp(0.5 * log_var)), axis=-1)
    # terms log 2pi, log_var and the standardised square, summed: float64 rounding of their magnitude
    scale = np.sum(math.log(2 * math.pi) + np.abs(log_var) + (z - mu) ** 2 / np.exp(log_var), axis=-1)
    np.testing.assert_allclose(np.asarray(gaussian_log_density(z, mu, log_var)), expected, rtol=0, atol=16 * EPS64 * scale.max())
    z32, mu32, log_var32 = (a.astype(np.float32) for a in (z, mu, log_var))
    density32 = np.asarray(gaussian_log_density(z32, mu32, log_var32))
    assert density32.dtype == np.float32
    expected32 = np.sum(stats.norm.logpdf(z32.astype(np.float64), mu32, np.exp(0.5 * log_var32.astype(np.float64))), axis=-1)
    assert np.all(np.abs(density32 - expected32) < 16 * EPS32 * scale)


def test_log_density_is_normalised():
    for m, log_var in [(0.0, 0.0), (1.5, -2.0), (-0.7, 1.2)]:
        s = math.exp(0.5 * log_var)
        density = lambda z: math.exp(float(gaussian_log_density(np.array([z]), np.array([m]), np.array([log_var]))))
        total, error = integrate.quad(density, m - 20 * s, m + 20 * s, epsabs=1e-12, limit=200)
        assert abs(total - 1.0) <= error + 1e-12  # quad's error estimate plus a few ulps


# ----------------------------------------------------------------------------------------------
# reparameterize / sample_gaussian
# ----------------------------------------------------------------------------------------------
def test_reparameterize_is_mu_plus_sigma_epsilon():
    rng = np.random.default_rng(11)
    mu, log_var = random_q(rng, (5, 3))
    epsilon = rng.standard_normal((5, 3))
    np.testing.assert_allclose(np.asarray(reparameterize(mu, log_var, epsilon)),
                               mu + np.exp(0.5 * log_var) * epsilon, rtol=4 * EPS64, atol=4 * EPS64)
    np.testing.assert_array_equal(np.asarray(reparameterize(mu, log_var, np.zeros_like(mu))), mu)
    np.testing.assert_array_equal(np.asarray(reparameterize(0 * mu, 0 * log_var, epsilon)), epsilon)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sample_gaussian_moments(dtype):
    n = 200_000
    mu = np.array([0.5, -1.0, 2.0], dtype)
    log_var = np.array([0.0, -2.0, 1.0], dtype)
    z = np.asarray(sample_gaussian(np.tile(mu, (n, 1)), np.tile(log_var, (n, 1)), keras.random.SeedGenerator(12)))
    assert z.shape == (n, 3) and z.dtype == dtype
    z = z.astype(np.float64)
    variance = np.exp(log_var.astype(np.float64))
    # mean: five standard errors sqrt(var / n)
    assert np.all(np.abs(z.mean(0) - mu) < 5 * np.sqrt(variance / n))
    # variance: the sample variance of Gaussian draws has sd var * sqrt(2 / (n - 1))
    assert np.all(np.abs(z.var(0, ddof=1) - variance) < 5 * variance * np.sqrt(2 / (n - 1)))
    # independent coordinates: sample correlations have sd 1 / sqrt(n)
    correlation = np.corrcoef(z.T)[np.triu_indices(3, 1)]
    assert np.all(np.abs(correlation) < 5 / math.sqrt(n))
    # Gaussian shape, not just two matching moments: skewness 0 and kurtosis 3, with large-sample
    # standard deviations sqrt(6 / n) and sqrt(24 / n)
    assert np.all(np.abs(stats.skew(z, axis=0)) < 5 * math.sqrt(6 / n))
    assert np.all(np.abs(stats.kurtosis(z, axis=0, fisher=False) - 3) < 5 * math.sqrt(24 / n))


def test_sample_gaussian_is_reproducible_from_its_seed():
    mu, log_var = np.zeros((4, 2), np.float32), np.zeros((4, 2), np.float32)
    first = np.asarray(sample_gaussian(mu, log_var, keras.random.SeedGenerator(13)))
    again = np.asarray(sample_gaussian(mu, log_var, keras.random.SeedGenerator(13)))
    np.testing.assert_array_equal(first, again)
    generator = keras.random.SeedGenerator(13)
    draw_1, draw_2 = (np.asarray(sample_gaussian(mu, log_var, generator)) for _ in range(2))
    assert not np.array_equal(draw_1, draw_2)  # a generator advances: fresh noise on every call


def test_gradients_flow_through_sample_gaussian():
    rng = np.random.default_rng(14)
    mu0, log_var0 = (a.astype(np.float32) for a in random_q(rng, (8, 2)))
    weights = rng.standard_normal((8, 2)).astype(np.float32)
    mu, log_var = tf.Variable(mu0), tf.Variable(log_var0)
    with tf.GradientTape() as tape:
        z = sample_gaussian(mu, log_var, keras.random.SeedGenerator(15))
        loss = tf.reduce_sum(weights * z)
    grad_mu, grad_log_var = tape.gradient(loss, [mu, log_var])
    assert grad_mu is not None and grad_log_var is not None
    # z = mu + exp(log_var / 2) eps: dz/dmu = 1 and dz/dlog_var = exp(log_var / 2) eps / 2 = (z - mu) / 2
    np.testing.assert_allclose(grad_mu.numpy(), weights, rtol=0, atol=0)
    expected = 0.5 * weights * (z.numpy() - mu0)
    # float32: (z - mu) carries the rounding of z, a few eps32 of |mu| + |z|
    assert np.all(np.abs(grad_log_var.numpy() - expected) < 4 * EPS32 * np.abs(weights) * (np.abs(mu0) + np.abs(z.numpy())))


def test_reparameterization_gradient_estimates_the_kl_gradient():
    """Averaging the per-sample gradients of log q(z) - log p(z) at z = sample_gaussian(mu, log_var)
    estimates the gradient of the closed-form KL: the reparameterization trick end to end (eq. 7)."""
    n = 100_000
    mu0, log_var0 = random_q(np.random.default_rng(16), (1, 2))
    # one row per sample: the gradient with respect to row i is sample i's own gradient
    mu, log_var = tf.Variable(np.repeat(mu0, n, 0)), tf.Variable(np.repeat(log_var0, n, 0))
    with tf.GradientTape() as tape:
        z = sample_gaussian(mu, log_var, keras.random.SeedGenerator(17))
        f = gaussian_log_density(z, mu, log_var) - gaussian_log_density(z, tf.zeros_like(z), tf.zeros_like(z))
        total = tf.reduce_sum(f)
    per_sample = [g.numpy() for g in tape.gradient(total, [mu, log_var])]
    expected = [mu0[0], 0.5 * np.expm1(log_var0[0])]
    for grads, exact in zip(per_sample, expected):
        se = grads.std(0, ddof=1) / math.sqrt(n)
        assert np.all(np.abs(grads.mean(0) - exact) < 5 * se)


# ----------------------------------------------------------------------------------------------
# bad inputs: thin pure functions, no validation of their own; these pin down how they fail
# ----------------------------------------------------------------------------------------------
SHAPE_ERRORS = (ValueError, tf.errors.InvalidArgumentError)  # NumPy's or TensorFlow's, whichever op meets it first
SHAPE_MESSAGE = "could not be broadcast|Incompatible shapes"


@pytest.mark.parametrize("as_tensor", [False, True])
def test_bad_shapes_raise(as_tensor):
    a, b = np.zeros((2, 3)), np.zeros((2, 2))
    if as_tensor:
        a, b = tf.constant(a), tf.constant(b)
    with pytest.raises(SHAPE_ERRORS, match=SHAPE_MESSAGE):
        gaussian_kl(a, b)
    with pytest.raises(ValueError, match=r"mu and log_var must have the same shape, got \(2, 3\) and \(2, 2\)"):
        gaussian_kl_numpy(a, b)
    with pytest.raises(SHAPE_ERRORS, match=SHAPE_MESSAGE):
        gaussian_log_density(a, b, b)
    with pytest.raises(SHAPE_ERRORS, match=SHAPE_MESSAGE):
        reparameterize(a, b, a)
    with pytest.raises(SHAPE_ERRORS, match=SHAPE_MESSAGE):
        sample_gaussian(a, b, keras.random.SeedGenerator(0))


def test_bad_scalar_input_raises_in_the_keras_version():
    with pytest.raises(tf.errors.InvalidArgumentError, match="reduction dimension"):
        gaussian_kl(np.float64(0.3), np.float64(0.1))


def test_bad_integer_input_to_sample_gaussian_raises():
    with pytest.raises(TypeError, match="int32"):
        sample_gaussian(np.zeros(2, np.int32), np.zeros(2, np.int32), keras.random.SeedGenerator(0))


def test_bad_non_numeric_input_to_gaussian_kl_numpy_raises():
    with pytest.raises(ValueError, match="could not convert string to float"):
        gaussian_kl_numpy(np.array(["a"]), np.zeros(1))


def test_invalid_values_propagate_rather_than_vanish():
    """NaN in gives NaN out (so Keras' TerminateOnNaN can see it), and a float32 log-variance beyond
    log(float32 max) ~ 88.7 overflows exp to an infinite KL instead of a wrong finite number."""
    assert np.isnan(np.asarray(gaussian_kl(np.array([[np.nan, 0.0]]), np.zeros((1, 2))))).all()
    assert np.isnan(gaussian_kl_numpy([np.nan], [0.0]))
    assert np.isnan(np.asarray(gaussian_log_density(np.zeros((1, 1)), np.zeros((1, 1)), np.full((1, 1), np.nan)))).all()
    overflow = np.asarray(gaussian_kl(np.zeros((1, 1), np.float32), np.full((1, 1), 100.0, np.float32)))
    assert np.isposinf(overflow).all()


def test_gaussian_kl_numpy_refuses_shapes_that_would_broadcast():
    """(3, 1) and (3, 2) broadcast in NumPy; the KL of eq. (10) needs one log-variance per mean."""
    with pytest.raises(ValueError, match=r"same shape, got \(3, 1\) and \(3, 2\)"):
        gaussian_kl_numpy(np.zeros((3, 1)), np.zeros((3, 2)))


def test_sample_gaussian_needs_a_seed_generator():
    with pytest.raises(TypeError, match="seed_generator must be a keras.random.SeedGenerator, got int"):
        sample_gaussian(np.zeros((2, 2), np.float32), np.zeros((2, 2), np.float32), 3)
