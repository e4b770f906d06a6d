"""Latent families (vaelib.maths.latent_families): closed-form KLs against Monte Carlo and quadrature,
reparameterized draws against their distributions, the uniform posterior's support."""

import math

import keras
import numpy as np
import pytest
from scipy import integrate, stats

from vaelib.maths import latent_families
from vaelib.maths.latent_families import LAPLACE_PRIOR_SCALE, UNIFORM_PRIOR_HALF_WIDTH
from vaelib.models.training import TrainConfig

N_DRAWS = 200_000


def _np(x):
    return np.asarray(x, dtype=np.float64)


@pytest.mark.parametrize("a, s", [(0.0, 0.0), (1.3, -1.0), (-0.4, 0.7), (2.5, -3.0)])
def test_laplace_kl_matches_quadrature(a, s):
    q = stats.laplace(a, math.exp(s))
    p = stats.laplace(0.0, LAPLACE_PRIOR_SCALE)
    lo, hi = q.ppf(1e-12), q.ppf(1 - 1e-12)
    exact, error = integrate.quad(lambda z: q.pdf(z) * (q.logpdf(z) - p.logpdf(z)), lo, hi, points=[a, 0.0], limit=200)
    closed = float(_np(latent_families.laplace_kl(np.array([[a]]), np.array([[s]])))[0])
    # quadrature's own error estimate plus float32 rounding of the closed form (terms up to ~10)
    assert abs(closed - exact) < error + 1e-5 * max(1.0, abs(exact))


def test_laplace_kl_is_zero_only_at_the_prior():
    at_prior = _np(latent_families.laplace_kl(np.zeros((1, 3)), np.full((1, 3), math.log(LAPLACE_PRIOR_SCALE))))
    assert abs(at_prior[0]) < 1e-6  # float32 rounding of log(b0) - s
    assert np.all(_np(latent_families.laplace_kl(np.array([[0.1], [0.0]]), np.array([[math.log(LAPLACE_PRIOR_SCALE)], [0.2]]))) > 0)


def test_laplace_draws_follow_their_distribution():
    a, s = np.full((N_DRAWS, 1), 0.7, np.float32), np.full((N_DRAWS, 1), -0.5, np.float32)
    z = _np(latent_families.sample_laplace(a, s, keras.random.SeedGenerator(1)))[:, 0]
    assert np.all(np.isfinite(z))
    # Kolmogorov-Smirnov at the 0.1% level: fails by chance once in a thousand seeds
    assert stats.kstest(z, stats.laplace(0.7, math.exp(-0.5)).cdf).pvalue > 1e-3


@pytest.mark.parametrize("a, s", [(0.0, 0.0), (2.0, -2.0), (-3.0, 1.5)])
def test_uniform_kl_is_the_log_width_ratio(a, s):
    lower, width = (_np(t) for t in latent_families.uniform_bounds(np.array([[a]]), np.array([[s]])))
    c = UNIFORM_PRIOR_HALF_WIDTH
    assert -c <= lower[0, 0] and lower[0, 0] + width[0, 0] <= c  # support inside the prior's
    closed = float(_np(latent_families.uniform_kl(np.array([[a]]), np.array([[s]])))[0])
    assert closed == pytest.approx(math.log(2 * c / width[0, 0]), rel=1e-5)  # float32 softplus vs float64 log
    assert closed > 0


def test_uniform_draws_stay_inside_the_posterior_support():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 3, (N_DRAWS // 10, 2)).astype(np.float32)
    s = rng.normal(0, 3, (N_DRAWS // 10, 2)).astype(np.float32)
    z = _np(latent_families.sample_uniform(a, s, keras.random.SeedGenerator(2)))
    lower, width = (_np(t) for t in latent_families.uniform_bounds(a, s))
    assert np.all(z >= lower - 1e-6) and np.all(z <= lower + width + 1e-6)
    assert np.all(np.abs(z) <= UNIFORM_PRIOR_HALF_WIDTH + 1e-6)


@pytest.mark.parametrize("family", latent_families.FAMILIES)
def test_kl_matches_monte_carlo_over_the_draws(family):
    # E_q[log q(z) - log p(z)] estimated from reparameterized draws; 5 standard errors
    a = np.full((N_DRAWS, 1), 0.4, np.float32)
    s = np.full((N_DRAWS, 1), -0.8, np.float32)
    z = _np(latent_families.sample_posterior(family, a, s, keras.random.SeedGenerator(3)))[:, 0]
    if family == "gaussian":
        q, p = stats.norm(0.4, math.exp(-0.4)), stats.norm(0, 1)
    elif family == "laplace":
        q, p = stats.laplace(0.4, math.exp(-0.8)), stats.laplace(0, LAPLACE_PRIOR_SCALE)
    else:
        lower, width = (float(_np(t)[0, 0]) for t in latent_families.uniform_bounds(a[:1], s[:1]))
        q, p = stats.uniform(lower, width), stats.uniform(-UNIFORM_PRIOR_HALF_WIDTH, 2 * UNIFORM_PRIOR_HALF_WIDTH)
    log_ratio = q.logpdf(z) - p.logpdf(z)
    closed = float(_np(latent_families.kl_to_prior(family, a[:1], s[:1]))[0])
    se = log_ratio.std() / math.sqrt(len(z))
    assert abs(log_ratio.mean() - closed) < 5 * se + 1e-6


@pytest.mark.parametrize("family", latent_families.FAMILIES)
def test_priors_have_mean_zero_and_unit_variance(family):
    z = latent_families.sample_prior(family, N_DRAWS, 2, np.random.default_rng(4)).astype(np.float64)
    assert z.dtype == np.float64 and z.shape == (N_DRAWS, 2)
    se_mean = 1 / math.sqrt(N_DRAWS)
    assert np.all(np.abs(z.mean(axis=0)) < 5 * se_mean)
    # the standard error of the sample variance is sqrt((kurtosis - 1) / n) <= sqrt(5 / n) for these three
    assert np.all(np.abs(z.var(axis=0) - 1) < 5 * math.sqrt(5 / N_DRAWS))


def test_posterior_location_is_the_centre():
    a, s = np.array([[0.3, -2.0]], np.float32), np.array([[0.1, 1.0]], np.float32)
    assert np.allclose(latent_families.posterior_location("gaussian", a, s), a)
    assert np.allclose(latent_families.posterior_location("laplace", a, s), a)
    lower, width = (_np(t) for t in latent_families.uniform_bounds(a, s))
    assert np.allclose(latent_families.posterior_location("uniform", a, s), lower + width / 2, atol=1e-6)


@pytest.mark.parametrize("function", [latent_families.kl_to_prior, latent_families.posterior_location])
def test_invalid_latent_family_is_refused(function):
    with pytest.raises(ValueError, match=r"latent must be one of 'gaussian', 'laplace', 'uniform'; got 'cauchy'"):
        function("cauchy", np.zeros((1, 2)), np.zeros((1, 2)))


def test_invalid_latent_family_in_training_config():
    with pytest.raises(ValueError, match=r"latent must be one of .*got 'student'"):
        TrainConfig(latent="student")


def test_invalid_binarize_without_bernoulli_likelihood():
    with pytest.raises(ValueError, match=r"binarize=True needs likelihood='bernoulli'"):
        TrainConfig(binarize=True)
    with pytest.raises(TypeError, match=r"binarize must be True or False, got 'yes'"):
        TrainConfig(binarize="yes")
