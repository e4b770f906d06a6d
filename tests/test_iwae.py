"""The importance-weighted bound (vaelib.measures.iwae): exact checks on the tractable linear-Gaussian model,
the VAE's log weights against vaelib.models.aevb's likelihoods, and bad inputs."""

import math

import keras
import numpy as np
import pytest
from scipy import stats

from vaelib.models import aevb

from vaelib.measures import iwae
from vaelib.maths import linear_gaussian as lg
from vaelib.maths.gaussian import gaussian_kl_numpy
from vaelib.models.training import TrainConfig


# ---------------------------------------------------------------------------------------------
# the tractable model: log p(x) exact
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tractable():
    """A 2-D latent, 3-D data model, one data point, and a diagonal q wider than the posterior
    (so w = p(x, z)/q(z) is bounded and every moment of the weights is finite)."""
    model = lg.LinearGaussianModel.random(latent_dim=2, data_dim=3, noise_std=0.5, seed=4)
    _, x = model.sample(1, seed=5)
    x = x[0]
    post_mean, post_cov = model.posterior(x)
    mean = post_mean + np.array([0.15, -0.1])
    cov = 1.6 * np.diag(post_cov)  # diagonal (mean-field), and wider than the exact posterior
    return model, x, mean, cov


def test_exact_posterior_gives_log_p_x_for_every_weight(tractable):
    model, x, _, _ = tractable
    post_mean, post_cov = model.posterior(x)
    log_w = iwae.linear_gaussian_log_weights(model, x, post_mean, post_cov, 1000, seed=1)
    # w = p(x) p(z|x) / p(z|x) is the constant p(x): float precision only
    np.testing.assert_allclose(log_w, model.log_marginal(x), rtol=0, atol=1e-10)
    assert iwae.linear_gaussian_weight_variance(model, x, post_mean, post_cov) == pytest.approx(0.0, abs=1e-10)


def test_k1_is_the_elbo_in_expectation(tractable):
    model, x, mean, cov = tractable
    values = iwae.linear_gaussian_iwae(model, x, mean, cov, k=1, n_replicates=20_000, seed=2)
    se = values.std(ddof=1) / math.sqrt(len(values))
    exact = lg.elbo(model, x, mean, cov)
    assert abs(values.mean() - exact) < 5 * se  # 5 standard errors of the Monte Carlo mean
    assert exact < model.log_marginal(x) - 0.01  # q is not the posterior: a real gap to close


def test_bound_is_non_decreasing_in_k_and_below_log_p_x(tractable):
    model, x, mean, cov = tractable
    log_p = model.log_marginal(x)
    ks = (1, 2, 4, 16, 64, 256)
    estimates = []
    for i, k in enumerate(ks):
        values = iwae.linear_gaussian_iwae(model, x, mean, cov, k=k, n_replicates=4000, seed=10 + i)
        estimates.append((values.mean(), values.std(ddof=1) / math.sqrt(len(values))))
    for (m0, s0), (m1, s1) in zip(estimates, estimates[1:]):
        assert m1 - m0 > -5 * math.hypot(s0, s1)  # E[L_k] non-decreasing (Burda et al., thm 1), 5 s.e.
    for m, s in estimates:
        assert m < log_p + 5 * s  # E[L_k] <= log p(x) (Jensen)
    first, last = estimates[0], estimates[-1]
    assert last[0] - first[0] > 5 * math.hypot(first[1], last[1])  # and it really increases


def test_weight_variance_closed_form_matches_monte_carlo(tractable):
    model, x, mean, cov = tractable
    log_w = iwae.linear_gaussian_log_weights(model, x, mean, cov, 200_000, seed=3)
    ratio = np.exp(log_w - model.log_marginal(x))  # w / p(x): mean 1
    assert abs(ratio.mean() - 1.0) < 5 * ratio.std(ddof=1) / math.sqrt(len(ratio))
    # standard error of the sample variance from the fourth central moment (bounded weights)
    centred = ratio - ratio.mean()
    se_var = math.sqrt((np.mean(centred**4) - np.mean(centred**2) ** 2) / len(ratio))
    exact = iwae.linear_gaussian_weight_variance(model, x, mean, cov)
    assert abs(ratio.var(ddof=1) - exact) < 5 * se_var


def test_bound_converges_to_exact_log_p_x(tractable):
    model, x, mean, cov = tractable
    log_p = model.log_marginal(x)
    variance = iwae.linear_gaussian_weight_variance(model, x, mean, cov)
    for k in (100, 5000):
        values = iwae.linear_gaussian_iwae(model, x, mean, cov, k=k, n_replicates=200, seed=k)
        se = values.std(ddof=1) / math.sqrt(len(values))
        # E[L_k] = log p(x) - Var[w/p(x)] / (2k) + O(1/k^2): allow twice the leading-order bias
        # plus 5 standard errors of the replicate mean
        assert abs(values.mean() - log_p) < variance / k + 5 * se
    assert variance / 5000 + 5 * se < 0.01  # so at k = 5000 the check is to within a hundredth of a nat


def test_infinite_weight_variance_is_reported(tractable):
    model, x, _, _ = tractable
    post_mean, post_cov = model.posterior(x)
    # q much narrower than the posterior: 2 P^-1 - Q^-1 is not positive definite
    assert iwae.linear_gaussian_weight_variance(model, x, post_mean, 0.2 * np.diag(post_cov)) == math.inf


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def test_log_mean_exp_is_stable_and_exact():
    log_w = np.array([[-1000.0, -1000.0 + math.log(3.0)], [0.0, 0.0]])
    np.testing.assert_allclose(iwae.log_mean_exp(log_w), [-1000.0 + math.log(2.0), 0.0], rtol=0, atol=1e-12)
    assert iwae.log_mean_exp(np.array([-np.inf, 0.0])) == pytest.approx(-math.log(2.0))
    assert iwae.log_mean_exp(np.array([800.0, 800.0])) == pytest.approx(800.0)  # exp(800) overflows float64


def test_iwae_from_log_weights_groups():
    rng = np.random.default_rng(0)
    log_w = rng.normal(size=(3, 12))
    np.testing.assert_allclose(iwae.iwae_from_log_weights(log_w, 1), log_w.mean(axis=1))
    np.testing.assert_allclose(iwae.iwae_from_log_weights(log_w, 12), iwae.log_mean_exp(log_w))
    expected = np.mean([iwae.log_mean_exp(log_w[:, 5 * g:5 * g + 5]) for g in range(2)], axis=0)
    np.testing.assert_allclose(iwae.iwae_from_log_weights(log_w, 5), expected)  # 2 groups of 5, 2 left over


def test_average_over_images():
    a = iwae.average_over_images([1.0, 2.0, 3.0, 4.0])
    assert a.mean == 2.5 and a.n_images == 4
    assert a.standard_error == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)


# ---------------------------------------------------------------------------------------------
# vaelib's VAE
# ---------------------------------------------------------------------------------------------
def small_vae(likelihood, latent="gaussian", seed=0):
    keras.utils.set_random_seed(seed)
    return TrainConfig(hidden_units=(16,), likelihood=likelihood, latent=latent, epochs=1, seed=seed).build_model()


@pytest.mark.parametrize("likelihood", ["squared_error", "bernoulli"])
def test_vae_log_weights_match_an_independent_computation(small_images, likelihood):
    model = small_vae(likelihood)
    x = small_images[1][:4]
    if likelihood == "bernoulli":
        x = (x > 0.5).astype(np.float32)
    log_w = iwae.log_weights(model, x, 6, rng=7)
    # the same draws: one stream per image, spawned from the seed's first integer
    rng = np.random.default_rng(7)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(rng.integers(2**63))).spawn(4)]
    eps = np.stack([s.standard_normal((6, 2)) for s in streams])
    mu, log_var = (np.asarray(a, dtype=np.float64) for a in model.encode(x))
    sd = np.exp(0.5 * log_var)
    z = mu[:, None, :] + sd[:, None, :] * eps
    logits = np.asarray(model.decoder(z.reshape(-1, 2).astype(np.float32))).reshape(4, 6, 784)
    expected = (aevb.log_likelihood(x[:, None, :], logits, likelihood)  # constants included
                + stats.norm.logpdf(z).sum(-1) - stats.norm.logpdf(z, mu[:, None, :], sd[:, None, :]).sum(-1))
    np.testing.assert_allclose(log_w, expected, rtol=1e-9, atol=1e-6)


def test_vae_log_weights_do_not_depend_on_chunking(small_images):
    model = small_vae("bernoulli")
    x = (small_images[1][:5] > 0.5).astype(np.float32)
    a = iwae.log_weights(model, x, 40, rng=3)
    b = iwae.log_weights(model, x, 40, rng=3, chunk_rows=7)  # 7 draws at a time, image by image
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)  # float32 decoder on different batch shapes


def test_vae_k1_mean_matches_quadrature_elbo(small_images):
    model = small_vae("squared_error")
    x = small_images[1][:3]
    log_w = iwae.log_weights(model, x, 4000, rng=11)
    mean, _ = aevb.reconstruction_moments(model, x, n_nodes=48)  # E_q log p(x|z), Gauss-Hermite
    mu, log_var = (np.asarray(a, dtype=np.float64) for a in model.encode(x))
    elbo = mean - gaussian_kl_numpy(mu, log_var)
    se = log_w.std(axis=1, ddof=1) / math.sqrt(log_w.shape[1])
    assert np.all(np.abs(log_w.mean(axis=1) - elbo) < 5 * se + 1e-3)  # 5 s.e. (+ quadrature error)
    # and L_k from the same weights lies above the ELBO estimate
    assert np.all(iwae.iwae_from_log_weights(log_w, 4000) >= iwae.iwae_from_log_weights(log_w, 1))


# ---------------------------------------------------------------------------------------------
# bad inputs
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(k=0, n_replicates=5), ValueError, "k must be >= 1"),
    (dict(k=2.5, n_replicates=5), TypeError, "k must be an integer"),
    (dict(k=2, n_replicates=0), ValueError, "n_replicates must be >= 1"),
    (dict(k=2, n_replicates=2, seed=-3), TypeError, "rng must be"),
])
def test_bad_linear_gaussian_iwae_arguments(tractable, kwargs, error, match):
    model, x, mean, cov = tractable
    with pytest.raises(error, match=match):
        iwae.linear_gaussian_iwae(model, x, mean, cov, **kwargs)


def test_invalid_linear_gaussian_q(tractable):
    model, x, mean, cov = tractable
    with pytest.raises(ValueError, match="variances"):
        iwae.linear_gaussian_log_weights(model, x, mean, np.array([1.0, -1.0]), 10)
    with pytest.raises(ValueError, match="mean must have shape"):
        iwae.linear_gaussian_log_weights(model, x, np.zeros(3), cov, 10)
    with pytest.raises(TypeError, match="LinearGaussianModel"):
        iwae.linear_gaussian_weight_variance("model", x, mean, cov)


def test_bad_log_weight_arrays():
    with pytest.raises(ValueError, match="at least one weight"):
        iwae.log_mean_exp(np.zeros((2, 0)))
    with pytest.raises(ValueError, match="NaN"):
        iwae.log_mean_exp(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="k must be <= 4"):
        iwae.iwae_from_log_weights(np.zeros((2, 4)), 5)
    with pytest.raises(ValueError, match=r"shape \(n_images, n_samples\)"):
        iwae.iwae_from_log_weights(np.zeros(4), 1)
    with pytest.raises(ValueError, match="at least 2"):
        iwae.average_over_images([1.0])


def test_bad_vae_arguments(small_images):
    x = small_images[1][:2]
    model = small_vae("bernoulli")
    with pytest.raises(TypeError, match="vaelib.models.networks.VAE"):
        iwae.log_weights("not a model", x, 3)
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        iwae.iwae_bound(model, x, 0)
    with pytest.raises(ValueError, match="likelihood must be one of"):
        iwae.iwae_bound(model, x, 2, likelihood="poisson")
    with pytest.raises(ValueError, match="chunk_rows must be >= 1"):
        iwae.iwae_bound(model, x, 2, chunk_rows=0)
    with pytest.raises(ValueError):
        iwae.iwae_bound(model, x * 255.0, 2)  # 0-255 pixels are refused, not rescaled
    with pytest.raises(ValueError, match="latent='gaussian'"):
        iwae.iwae_bound(small_vae("bernoulli", latent="laplace"), x, 2)
