"""Tests for vaelib.maths.linear_gaussian: closed forms vs quadrature, Monte Carlo and optimisation.

Tolerances: closed form vs closed form is float64 rounding (1e-10 on O(10) quantities);
Monte Carlo vs exact uses 5 standard errors (two-sided tail probability ~6e-7 per check, all
seeds fixed so the tests are deterministic); quadrature uses the integrator's own error bound.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from vaelib.maths import linear_gaussian as lg


@pytest.fixture(scope="module")
def model():
    return lg.LinearGaussianModel.random(latent_dim=2, data_dim=3, noise_std=0.5, seed=0)


@pytest.fixture(scope="module")
def model_1d():
    return lg.LinearGaussianModel.random(latent_dim=1, data_dim=2, noise_std=0.7, seed=3)


@pytest.fixture(scope="module")
def x(model):
    return model.sample(1, seed=1)[1][0]


def random_q(rng, k, full=False):
    mean = rng.normal(scale=1.5, size=k)
    if full:
        factor = rng.normal(size=(k, k))
        return mean, factor @ factor.T + 0.1 * np.eye(k)
    return mean, np.exp(rng.normal(size=k))


# --- the model's densities ---------------------------------------------------------------------
def test_log_marginal_matches_scipy_and_quadrature(model, x):
    exact = model.log_marginal(x)
    assert exact == pytest.approx(stats.multivariate_normal(model.bias, model.marginal_covariance()).logpdf(x), abs=1e-12)
    # p(x) = integral of p(x|z) p(z) over z in R^2; truncating at |z_j| <= 8 loses < 1e-14 prior mass
    value, error = integrate.dblquad(lambda z2, z1: math.exp(model.log_joint(x, np.array([z1, z2]))), -8, 8, -8, 8,
                                     epsabs=1e-13, epsrel=1e-10)
    assert math.log(value) == pytest.approx(exact, abs=1e-7 + error / value)


def test_log_marginal_batch_matches_pointwise(model):
    _, data = model.sample(5, seed=2)
    batch = model.log_marginal(data)
    assert batch.shape == (5,)
    assert np.allclose(batch, [model.log_marginal(row) for row in data], rtol=0, atol=1e-12)


def test_posterior_is_bayes_rule(model, x):
    z = np.random.default_rng(0).normal(scale=2, size=(50, 2))
    assert np.allclose(model.log_posterior(z, x), model.log_joint(x, z) - model.log_marginal(x), rtol=0, atol=1e-10)


def test_posterior_moments_match_quadrature_1d(model_1d):
    x = model_1d.sample(1, seed=5)[1][0]
    mean, cov = model_1d.posterior(x)
    log_px = model_1d.log_marginal(x)
    density = lambda z: math.exp(model_1d.log_joint(x, np.array([z])) - log_px)
    mass = integrate.quad(density, -15, 15, epsabs=1e-13)[0]
    first = integrate.quad(lambda z: z * density(z), -15, 15, epsabs=1e-13)[0]
    second = integrate.quad(lambda z: (z - mean[0]) ** 2 * density(z), -15, 15, epsabs=1e-13)[0]
    assert mass == pytest.approx(1.0, abs=1e-10)
    assert first == pytest.approx(mean[0], abs=1e-9)
    assert second == pytest.approx(cov[0, 0], abs=1e-9)


def test_sample_moments(model):
    # Cov[x] = W W^T + s^2 I; with n = 200000 the sample covariance entries have s.e. ~ 3/sqrt(n)
    _, data = model.sample(200_000, seed=7)
    assert np.allclose(data.mean(axis=0), model.bias, atol=5 * 2.0 / math.sqrt(len(data)))
    assert np.allclose(np.cov(data.T), model.marginal_covariance(), atol=0.05)


# --- ELBO, KL and the decomposition (eqs. 1-2) ---------------------------------------------------
@pytest.mark.parametrize("full", [False, True])
def test_decomposition_identity(model, x, full):
    rng = np.random.default_rng(11 if full else 12)
    for _ in range(10):
        mean, cov = random_q(rng, 2, full)
        total = lg.elbo(model, x, mean, cov) + lg.kl_to_posterior(model, x, mean, cov)
        assert total == pytest.approx(model.log_marginal(x), abs=1e-10)
        assert lg.kl_to_posterior(model, x, mean, cov) > 0


def test_elbo_forms_agree(model, x):
    # eq. (2) E_q log p(x|z) - KL(q||p(z)) vs eq. (1)'s first term E_q log p(x,z) + H[q]
    mean, cov = random_q(np.random.default_rng(13), 2, full=True)
    chol = np.linalg.cholesky(cov)
    # E_q log p(x,z) by Gauss-Hermite (exact for this quadratic integrand)
    nodes, weights = np.polynomial.hermite_e.hermegauss(6)
    grid = np.stack(np.meshgrid(nodes, nodes, indexing="ij"), -1).reshape(-1, 2)
    w = np.outer(weights, weights).ravel() / (2 * math.pi)
    expected_joint = float(np.sum(w * model.log_joint(x, mean + grid @ chol.T)))
    assert expected_joint + lg.gaussian_entropy(cov) == pytest.approx(lg.elbo(model, x, mean, cov), abs=1e-10)


def test_elbo_1d_matches_quadrature(model_1d):
    x = model_1d.sample(1, seed=5)[1][0]
    mean, var = np.array([0.3]), np.array([0.4])
    integrand = lambda z: stats.norm(mean[0], math.sqrt(var[0])).pdf(z) * (
        model_1d.log_joint(x, np.array([z])) - stats.norm(mean[0], math.sqrt(var[0])).logpdf(z))
    value = integrate.quad(integrand, -12, 12, epsabs=1e-12)[0]
    assert value == pytest.approx(lg.elbo(model_1d, x, mean, var), abs=1e-9)


@pytest.mark.parametrize("full", [False, True])
def test_elbo_monte_carlo_within_five_standard_errors(model, x, full):
    rng = np.random.default_rng(21)
    for i in range(5):
        mean, cov = random_q(rng, 2, full)
        estimate = lg.elbo_monte_carlo(model, x, mean, cov, n_samples=50_000, seed=i)
        assert estimate.n_samples == 50_000 and estimate.standard_error > 0
        assert abs(estimate.value - lg.elbo(model, x, mean, cov)) < 5 * estimate.standard_error


def test_monte_carlo_standard_error_is_calibrated(model, x):
    # The spread of 200 independent estimates should match the reported standard error; the
    # sample std of 200 normals is within 20 % of the truth with probability > 0.99.
    mean, cov = random_q(np.random.default_rng(22), 2)
    estimates = [lg.elbo_monte_carlo(model, x, mean, cov, n_samples=500, seed=s) for s in range(200)]
    spread = np.std([e.value for e in estimates], ddof=1)
    reported = np.mean([e.standard_error for e in estimates])
    assert 0.8 < spread / reported < 1.2


def test_kl_to_posterior_matches_monte_carlo(model, x):
    mean, cov = random_q(np.random.default_rng(23), 2, full=True)
    z = np.random.default_rng(0).multivariate_normal(mean, cov, size=100_000)
    values = lg.mvn_log_density(z, mean, cov) - model.log_posterior(z, x)
    se = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(values.mean() - lg.kl_to_posterior(model, x, mean, cov)) < 5 * se


def test_gaussian_helpers_match_scipy():
    rng = np.random.default_rng(24)
    mean_q, cov_q = random_q(rng, 3, full=True)
    mean_p, cov_p = random_q(rng, 3, full=True)
    z = rng.normal(size=(7, 3))
    assert np.allclose(lg.mvn_log_density(z, mean_q, cov_q), stats.multivariate_normal(mean_q, cov_q).logpdf(z), atol=1e-12)
    assert lg.gaussian_entropy(cov_q) == pytest.approx(stats.multivariate_normal(mean_q, cov_q).entropy(), abs=1e-12)
    # KL against Monte Carlo of log q - log p under q
    samples = rng.multivariate_normal(mean_q, cov_q, size=200_000)
    values = lg.mvn_log_density(samples, mean_q, cov_q) - lg.mvn_log_density(samples, mean_p, cov_p)
    se = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(values.mean() - lg.kl_gaussians(mean_q, cov_q, mean_p, cov_p)) < 5 * se
    assert lg.kl_gaussians(mean_q, cov_q, mean_q, cov_q) == pytest.approx(0.0, abs=1e-12)


def test_kl_to_prior_matches_eq10_diagonal_form():
    mean, var = np.array([0.3, -1.2, 0.5]), np.array([0.5, 2.0, 1.3])
    eq10 = -0.5 * np.sum(1 + np.log(var) - mean**2 - var)
    assert lg.kl_to_prior(mean, var) == pytest.approx(eq10, abs=1e-14)
    assert lg.kl_to_prior(mean, np.diag(var)) == pytest.approx(eq10, abs=1e-14)
    assert lg.kl_to_prior(mean, np.zeros(3)) == math.inf  # a point mass


def test_expected_log_likelihood_matches_monte_carlo(model, x):
    mean, cov = random_q(np.random.default_rng(25), 2, full=True)
    z = np.random.default_rng(1).multivariate_normal(mean, cov, size=100_000)
    values = model.log_likelihood(x, z)
    se = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(values.mean() - lg.expected_log_likelihood(model, x, mean, cov)) < 5 * se


def test_elbo_is_maximal_at_the_posterior(model, x):
    post_mean, post_cov = model.posterior(x)
    assert lg.elbo(model, x, post_mean, post_cov) == pytest.approx(model.log_marginal(x), abs=1e-12)
    assert lg.kl_to_posterior(model, x, post_mean, post_cov) == pytest.approx(0.0, abs=1e-12)
    estimate = lg.elbo_monte_carlo(model, x, post_mean, post_cov, n_samples=100, seed=0)
    assert estimate.standard_error < 1e-12  # zero-variance integrand at the posterior
    fit = lg.fit_q_numerically(model, x, beta=1.0, family="full", seed=4)
    assert np.allclose(fit.mean, post_mean, atol=1e-6) and np.allclose(fit.cov, post_cov, atol=1e-6)


def test_converged_accepts_a_line_search_stop_only_at_the_noise_floor(model, x):
    fit = lg.fit_q_numerically(model, x, beta=1.0, seed=2)
    assert fit.result.success and fit.converged
    at_floor = optimize.OptimizeResult(success=False, message="ABNORMAL: ", jac=np.full(5, 1e-7))
    assert fit._replace(result=at_floor, beta=500.0).converged  # 1e-7 <= 1.5e-8 * 501
    assert not fit._replace(result=at_floor, beta=1.0).converged  # 1e-7 > 1.5e-8 * 2
    out_of_iterations = optimize.OptimizeResult(success=False, message="STOP: TOTAL NO. OF ITERATIONS",
                                                jac=np.zeros(5))
    assert not fit._replace(result=out_of_iterations, beta=500.0).converged


def test_mean_field_optimum(model, x):
    post_mean, _ = model.posterior(x)
    fit = lg.fit_q_numerically(model, x, beta=1.0, family="diag", seed=1)
    assert np.allclose(fit.mean, post_mean, atol=1e-6)
    assert np.allclose(np.diag(fit.cov), 1 / np.diag(model.posterior_precision()), atol=1e-6)


# --- the beta objective (eq. 12) -----------------------------------------------------------------
@pytest.mark.parametrize("beta", [0.01, 0.3, 1.0, 5.0, 50.0, 500.0])
def test_beta_optimal_q_matches_numerical_optimisation(model, x, beta):
    mean, cov = lg.beta_optimal_q(model, x, beta)
    fit = lg.fit_q_numerically(model, x, beta, seed=2)
    assert fit.converged, fit.result
    assert np.allclose(fit.mean, mean, atol=1e-6) and np.allclose(fit.cov, cov, atol=1e-6)
    value = lg.beta_objective(model, x, mean, cov, beta)
    assert fit.objective <= value + 1e-10 * (1 + abs(value))
    assert lg.beta_optimal_value(model, x, beta) == pytest.approx(value, abs=1e-10 * (1 + abs(value)))


def test_beta_optimal_q_beats_perturbations(model, x):
    rng = np.random.default_rng(31)
    for beta in (0.2, 2.0):
        mean, cov = lg.beta_optimal_q(model, x, beta)
        best = lg.beta_objective(model, x, mean, cov, beta)
        for _ in range(20):
            delta = 0.05 * rng.normal(size=(2, 2))
            perturbed = cov + delta @ delta.T
            assert lg.beta_objective(model, x, mean + 0.05 * rng.normal(size=2), perturbed, beta) < best


def test_beta_objective_monte_carlo(model, x):
    mean, cov = random_q(np.random.default_rng(32), 2)
    estimate = lg.beta_objective_monte_carlo(model, x, mean, cov, 3.0, n_samples=50_000, seed=3)
    assert abs(estimate.value - lg.beta_objective(model, x, mean, cov, 3.0)) < 5 * estimate.standard_error
    assert lg.beta_objective(model, x, mean, cov, 1.0) == pytest.approx(lg.elbo(model, x, mean, cov), abs=1e-14)


def test_beta_limits(model, x):
    post_mean, post_cov = model.posterior(x)
    m1, s1 = lg.beta_optimal_q(model, x, 1)
    assert np.allclose(m1, post_mean, atol=1e-12) and np.allclose(s1, post_cov, atol=1e-12)
    z_ml = model.maximum_likelihood_latent(x)
    m0, s0 = lg.beta_optimal_q(model, x, 0)
    assert np.allclose(m0, z_ml, atol=1e-12) and not s0.any()
    assert np.allclose(z_ml, np.linalg.lstsq(model.weights, x - model.bias, rcond=None)[0], atol=1e-12)
    m, s = lg.beta_optimal_q(model, x, 1e-9)
    assert np.allclose(m, z_ml, atol=1e-6) and np.abs(s).max() < 1e-7
    m, s = lg.beta_optimal_q(model, x, 1e9)
    assert np.abs(m).max() < 1e-7 and np.allclose(s, np.eye(2), atol=1e-7)
    # beta = 0 objective of the point mass is max_z log p(x|z)
    assert lg.beta_objective(model, x, m0, s0, 0.0) == pytest.approx(model.log_likelihood(x, z_ml), abs=1e-12)


def test_beta_monotone_trends(model, x):
    betas = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 60)])
    optimal = [lg.beta_optimal_q(model, x, b) for b in betas]
    norms = [np.linalg.norm(m) for m, _ in optimal]
    stds = np.array([np.sqrt(np.diag(s)) for _, s in optimal])
    rates = [lg.kl_to_prior(m, s) for m, s in optimal[1:]]
    recon = [lg.expected_log_likelihood(model, x, m, s) for m, s in optimal]
    values = [lg.beta_optimal_value(model, x, b) for b in betas[1:]]
    assert np.all(np.diff(norms) < 1e-12)
    assert np.all(np.diff(stds, axis=0) > -1e-12)
    assert np.all(np.diff(rates) < 0) and np.all(np.diff(recon) < 1e-12) and np.all(np.diff(values) < 1e-12)
    log_px = model.log_marginal(x)
    assert lg.beta_optimal_value(model, x, 1.0) == pytest.approx(log_px, abs=1e-12)
    assert lg.beta_optimal_value(model, x, 0.5) > log_px > lg.beta_optimal_value(model, x, 2.0)


def test_beta_optimal_value_matches_quadrature_1d(model_1d):
    x = model_1d.sample(1, seed=5)[1][0]
    beta = 2.5
    integrand = lambda z: math.exp(model_1d.log_likelihood(x, np.array([z])) / beta) * stats.norm.pdf(z)
    value = beta * math.log(integrate.quad(integrand, -15, 15, epsabs=1e-14)[0])
    assert value == pytest.approx(lg.beta_optimal_value(model_1d, x, beta), abs=1e-9)


# --- the dataset-level ELBO (eq. 3) --------------------------------------------------------------
def test_dataset_identity(model):
    _, data = model.sample(50, seed=8)
    rng = np.random.default_rng(9)
    means = rng.normal(size=(50, 2))
    for covs in (np.exp(rng.normal(size=(50, 2))), np.tile(np.eye(2) * 0.7 + 0.1, (50, 1, 1))):
        parts = lg.elbo_decomposition(model, data, means, covs)
        assert parts.elbo.shape == (50,)
        assert parts.log_evidence.sum() == pytest.approx(parts.elbo.sum() + parts.kl_to_posterior.sum(), abs=1e-9)
        assert lg.dataset_elbo(model, data, means, covs) == pytest.approx(parts.elbo.sum(), abs=1e-12)
    post_means, post_cov = model.posterior(data)
    exact = lg.dataset_elbo(model, data, post_means, np.tile(post_cov, (50, 1, 1)))
    assert exact == pytest.approx(model.log_marginal(data).sum(), abs=1e-9)


def test_elbo_slice_contains_posterior(model, x):
    post_mean, post_cov = model.posterior(x)
    means = post_mean[1] + np.linspace(-1, 1, 5)
    log_vars = math.log(post_cov[1, 1]) + np.linspace(-1, 1, 5)
    grid = lg.elbo_slice(model, x, means, log_vars, axis=1)
    assert grid.shape == (5, 5)
    assert np.unravel_index(np.argmax(grid), grid.shape) == (2, 2)
    assert grid[2, 2] == pytest.approx(model.log_marginal(x), abs=1e-12)


def test_random_model_is_reproducible():
    a = lg.LinearGaussianModel.random(2, 3, 0.5, seed=4)
    b = lg.LinearGaussianModel.random(2, 3, 0.5, seed=4)
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)
    with pytest.raises(ValueError, match="read-only"):
        a.weights[0, 0] = 1.0


# --- bad inputs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("beta, error, match", [
    (-0.5, ValueError, r"beta must be >= 0"),
    (float("nan"), ValueError, r"beta must be finite"),
    (float("inf"), ValueError, r"beta must be finite"),
    ("1", TypeError, r"beta must be a real number"),
    (True, TypeError, r"beta must be a real number"),
])
def test_bad_beta(model, x, beta, error, match):
    with pytest.raises(error, match=match):
        lg.beta_optimal_q(model, x, beta)
    with pytest.raises(error, match=match):
        lg.beta_objective(model, x, np.zeros(2), np.ones(2), beta)


def test_bad_beta_zero_where_positive_needed(model, x):
    with pytest.raises(ValueError, match=r"beta must be > 0"):
        lg.fit_q_numerically(model, x, 0.0)
    with pytest.raises(ValueError, match=r"beta must be > 0"):
        lg.beta_optimal_value(model, x, 0.0)


@pytest.mark.parametrize("cov, match", [
    (np.array([1.0, -0.1]), r"cov holds variances, which must be > 0"),
    (np.array([1.0, 0.0]), r"cov holds variances, which must be > 0"),
    (np.array([[1.0, 2.0], [2.0, 1.0]]), r"cov must be positive definite"),
    (np.array([[1.0, 0.5], [0.0, 1.0]]), r"cov must be a symmetric matrix"),
    (np.ones(3), r"cov must be a vector of 2 variances .* got shape \(3,\)"),
    (np.array([1.0, np.nan]), r"cov contains NaN or infinite values"),
])
def test_bad_covariance(model, x, cov, match):
    with pytest.raises(ValueError, match=match):
        lg.elbo(model, x, np.zeros(2), cov)


def test_bad_shapes(model, x):
    with pytest.raises(ValueError, match=r"x must have shape \(3,\), got shape \(2,\)"):
        lg.elbo(model, x[:2], np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match=r"mean must have shape \(2,\), got shape \(3,\)"):
        lg.elbo(model, x, np.zeros(3), np.ones(2))
    with pytest.raises(ValueError, match=r"z must have shape \(2,\) or \(n, 2\)"):
        model.log_prior(np.zeros((4, 3)))
    with pytest.raises(TypeError, match=r"x must be a numeric array"):
        lg.elbo(model, "abc", np.zeros(2), np.ones(2))
    with pytest.raises(TypeError, match=r"model must be a LinearGaussianModel"):
        lg.elbo("model", x, np.zeros(2), np.ones(2))


def test_invalid_dataset_arguments(model):
    _, data = model.sample(4, seed=0)
    with pytest.raises(ValueError, match=r"means must have shape \(4, 2\)"):
        lg.elbo_decomposition(model, data, np.zeros((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"covs must have shape \(4, 2\) \(variances\) or \(4, 2, 2\)"):
        lg.elbo_decomposition(model, data, np.zeros((4, 2)), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"covs\[1\]: covs holds variances, which must be > 0"):
        lg.elbo_decomposition(model, data, np.zeros((4, 2)), np.array([[1, 1], [1, -1], [1, 1], [1, 1.0]]))
    bad = np.tile(np.eye(2), (4, 1, 1))
    bad[2] = [[1.0, 3.0], [3.0, 1.0]]
    with pytest.raises(ValueError, match=r"covs\[2\]: covs must be positive definite"):
        lg.elbo_decomposition(model, data, np.zeros((4, 2)), bad)
    bad[2] = [[1.0, 0.3], [0.0, 1.0]]
    with pytest.raises(ValueError, match=r"covs\[2\]: covs must be a symmetric matrix"):
        lg.elbo_decomposition(model, data, np.zeros((4, 2)), bad)
    with pytest.raises(ValueError, match=r"data must have shape \(n, 3\)"):
        lg.dataset_elbo(model, data[:, :2], np.zeros((4, 2)), np.ones((4, 2)))


def test_invalid_model_parameters():
    with pytest.raises(ValueError, match=r"noise_std must be > 0"):
        lg.LinearGaussianModel(np.ones((3, 2)), np.zeros(3), 0.0)
    with pytest.raises(ValueError, match=r"weights must be a non-empty 2-D array"):
        lg.LinearGaussianModel(np.ones(3), np.zeros(3), 1.0)
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        lg.LinearGaussianModel(np.ones((3, 2)), np.zeros(2), 1.0)
    with pytest.raises(TypeError, match=r"latent_dim must be an integer"):
        lg.LinearGaussianModel.random(latent_dim=2.0)
    with pytest.raises(ValueError, match=r"seed must be >= 0"):
        lg.LinearGaussianModel.random(seed=-1)


def test_invalid_sampling_arguments(model, x):
    with pytest.raises(ValueError, match=r"n_samples must be >= 2"):
        lg.elbo_monte_carlo(model, x, np.zeros(2), np.ones(2), n_samples=1)
    with pytest.raises(ValueError, match=r"n must be >= 1"):
        model.sample(0)
    with pytest.raises(ValueError, match=r"family must be one of 'full', 'diag'"):
        lg.fit_q_numerically(model, x, 1.0, family="diagonal")


def test_invalid_rank_for_beta_zero():
    wide = lg.LinearGaussianModel.random(latent_dim=3, data_dim=2, seed=0)
    x = np.zeros(2)
    with pytest.raises(ValueError, match=r"maximum-likelihood latent is not unique: weights has rank 2 < latent_dim 3"):
        lg.beta_optimal_q(wide, x, 0.0)
    mean, cov = lg.beta_optimal_q(wide, x, 0.5)  # beta > 0 is fine whatever the rank
    assert mean.shape == (3,) and cov.shape == (3, 3)


def test_vectorised_decomposition_matches_pointwise(model):
    _, data = model.sample(20, seed=10)
    rng = np.random.default_rng(10)
    means = rng.normal(size=(20, 2))
    factors = rng.normal(size=(20, 2, 2))
    for covs in (np.exp(rng.normal(size=(20, 2))), factors @ np.swapaxes(factors, 1, 2) + 0.1 * np.eye(2)):
        parts = lg.elbo_decomposition(model, data, means, covs)
        for i in range(20):
            assert parts.elbo[i] == pytest.approx(lg.elbo(model, data[i], means[i], covs[i]), abs=1e-11)
            assert parts.kl_to_posterior[i] == pytest.approx(lg.kl_to_posterior(model, data[i], means[i], covs[i]), abs=1e-11)
            assert parts.log_evidence[i] == pytest.approx(model.log_marginal(data[i]), abs=1e-12)


def test_elbo_slice_matches_pointwise(model, x):
    post_mean, post_cov = model.posterior(x)
    means, log_vars = np.array([-0.4, 0.3]), np.array([-2.0, 0.5, 1.0])
    grid = lg.elbo_slice(model, x, means, log_vars, axis=0)
    for i, log_var in enumerate(log_vars):
        for j, mu in enumerate(means):
            mean = post_mean.copy()
            mean[0] = mu
            cov = post_cov * np.exp(log_var) / post_cov[0, 0]
            assert grid[i, j] == pytest.approx(lg.elbo(model, x, mean, cov), abs=1e-11)


def test_elbo_plots_return_figures(model, x):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vaelib.plots import elbo as plots

    post_mean, post_cov = model.posterior(x)
    means, log_vars = np.linspace(-1, 1, 9), np.linspace(-3, 1, 7)
    grid = lg.elbo_slice(model, x, means, log_vars)
    figures = [
        plots.plot_elbo_decomposition(model.log_marginal(x), [-5.0, -3.0], [3.0, 1.0]),
        plots.plot_elbo_landscape(means, log_vars, grid, (post_mean[0], math.log(post_cov[0, 0])), model.log_marginal(x)),
    ]
    betas = np.array([0.0, 0.1, 1.0, 10.0])
    optimal = [lg.beta_optimal_q(model, x, b) for b in betas]
    q_means = np.array([m for m, _ in optimal])
    stds = np.sqrt(np.array([np.diag(s) for _, s in optimal]))
    figures.append(plots.plot_q_against_beta(betas, q_means, stds, marked_betas=[1.0]))
    figures.append(plots.plot_q_densities(np.linspace(-3, 3, 50), betas, q_means[:, 0], stds[:, 0]))
    rate = [lg.kl_to_prior(m, s) for m, s in optimal[1:]]
    recon = [lg.expected_log_likelihood(model, x, m, s) for m, s in optimal[1:]]
    figures.append(plots.plot_rate_distortion(betas[1:], rate, recon, marked_betas=[1.0]))
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figures)
    with pytest.raises(ValueError, match=r"elbo_grid must have shape \(7, 9\)"):
        plots.plot_elbo_landscape(means, log_vars, grid.T, (0, 0), 0.0)
    plt.close("all")
