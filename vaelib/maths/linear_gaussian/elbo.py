"""The ELBO (eqs. 1-3) and the beta-objective (eq. 12) of the linear-Gaussian model, in closed form and by Monte Carlo."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import optimize

from vaelib._runtime.validation import check_beta, check_choice, check_int, check_real
from vaelib.maths.linear_gaussian.model import (
    LOG_2PI, _check_model, _check_q, _check_seed, _check_vector, kl_gaussians, kl_to_prior, mvn_log_density,
)


# ----------------------------------------------------------------------------------------------
# ELBO (eqs. 1-3) in closed form and by Monte Carlo
# ----------------------------------------------------------------------------------------------
def expected_log_likelihood(model, x, mean, cov) -> float:
    """E_q[log p(x|z)], the reconstruction term of eq. (2), in closed form.

    ``-(d log(2 pi s^2) + |x - b - W m|^2 + tr(W^T W cov)) / 2`` for q = N(mean, cov).
    A singular ``cov`` (a point mass, variances 0) is allowed here.
    """
    model, x, mean, cov = _check_q(model, x, mean, cov, allow_singular=True)
    residual = x - model.bias - model.weights @ mean
    trace = float(np.sum((model.weights.T @ model.weights) * cov))
    return -0.5 * (model.data_dim * (LOG_2PI + math.log(model.noise_var)) + (float(residual @ residual) + trace) / model.noise_var)


def elbo(model, x, mean, cov) -> float:
    """ELBO(q) = E_q[log p(x|z)] - KL(q || p(z)) (eq. 2), exact, for q = N(mean, cov).

    Equal to E_q[log p(x, z) - log q(z)] (the first term of eq. 1).
    """
    model, x, mean, cov = _check_q(model, x, mean, cov)
    return expected_log_likelihood(model, x, mean, cov) - kl_to_prior(mean, cov)


def kl_to_posterior(model, x, mean, cov) -> float:
    """KL(q || p(z|x)), the gap in eq. (1): log p(x) = ELBO(q) + KL(q || p(z|x)). Exact."""
    model, x, mean, cov = _check_q(model, x, mean, cov)
    post_mean, post_cov = model.posterior(x)
    return kl_gaussians(mean, cov, post_mean, post_cov)


class MonteCarloEstimate(NamedTuple):
    """A Monte Carlo average with its standard error ``std(f, ddof=1) / sqrt(n_samples)``."""

    value: float
    standard_error: float
    n_samples: int


def _mc_estimate(values: np.ndarray) -> MonteCarloEstimate:
    n = len(values)
    return MonteCarloEstimate(float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(n)), n)


def _reparameterized_samples(mean, cov, n_samples, seed):
    rng = _check_seed(seed)
    epsilon = rng.standard_normal((n_samples, mean.shape[0]))
    return mean + epsilon @ np.linalg.cholesky(cov).T  # z = mu + L eps (eqs. 6-7)


def elbo_monte_carlo(model, x, mean, cov, n_samples: int = 10_000, seed=0) -> MonteCarloEstimate:
    """Estimate the ELBO as the average of log p(x, z) - log q(z) over z = mean + L eps, eps ~ N(0, I).

    Returns a :class:`MonteCarloEstimate`; the estimate is unbiased and its standard error is
    the sample standard deviation over sqrt(n_samples) (zero when q is the exact posterior,
    where the integrand is the constant log p(x)).
    """
    model, x, mean, cov = _check_q(model, x, mean, cov)
    n_samples = check_int("n_samples", n_samples, minimum=2)
    z = _reparameterized_samples(mean, cov, n_samples, seed)
    return _mc_estimate(model.log_joint(x, z) - mvn_log_density(z, mean, cov))


# ----------------------------------------------------------------------------------------------
# the beta objective (eq. 12)
# ----------------------------------------------------------------------------------------------
def beta_objective(model, x, mean, cov, beta) -> float:
    """F_beta(q) = E_q[log p(x|z)] - beta KL(q || p(z)) (the right-hand side of eq. 12), exact.

    beta = 1 gives the ELBO. For beta = 0 a singular ``cov`` is allowed (KL is not needed).
    """
    beta = check_beta(beta)
    model, x, mean, cov = _check_q(model, x, mean, cov, allow_singular=beta == 0)
    reconstruction = expected_log_likelihood(model, x, mean, cov)
    return reconstruction if beta == 0 else reconstruction - beta * kl_to_prior(mean, cov)


def beta_objective_monte_carlo(model, x, mean, cov, beta, n_samples: int = 10_000, seed=0) -> MonteCarloEstimate:
    """Estimate F_beta(q) by averaging log p(x|z) - beta (log q(z) - log p(z)) over reparameterized z ~ q."""
    beta = check_beta(beta)
    model, x, mean, cov = _check_q(model, x, mean, cov)
    n_samples = check_int("n_samples", n_samples, minimum=2)
    z = _reparameterized_samples(mean, cov, n_samples, seed)
    values = model.log_likelihood(x, z) - beta * (mvn_log_density(z, mean, cov) - model.log_prior(z))
    return _mc_estimate(values)


def beta_optimal_q(model, x, beta) -> tuple[np.ndarray, np.ndarray]:
    """The maximiser of F_beta over Gaussian q (which is also the maximiser over all q).

    Setting the derivatives of F_beta with respect to the mean m and covariance S to zero::

        dF/dm = W^T (x - b - W m) / s^2 - beta m = 0
        dF/dS = -W^T W / (2 s^2) - beta I / 2 + beta S^{-1} / 2 = 0

    gives, with M_beta = W^T W / s^2 + beta I,

        S_beta = beta M_beta^{-1},   m_beta = M_beta^{-1} W^T (x - b) / s^2.

    beta = 1 is the exact posterior; beta -> infinity tends to the prior N(0, I); beta = 0 returns
    the degenerate limit: covariance 0 and mean at the maximum-likelihood latent (needs W of full
    column rank). Returns ``(mean, cov)`` with shapes (k,) and (k, k).
    """
    model = _check_model(model)
    x = _check_vector("x", x, model.data_dim)
    beta = check_beta(beta)
    k = model.latent_dim
    if beta == 0:
        return model.maximum_likelihood_latent(x), np.zeros((k, k))
    precision_like = model.weights.T @ model.weights / model.noise_var + beta * np.eye(k)
    inverse = np.linalg.inv(precision_like)
    inverse = 0.5 * (inverse + inverse.T)
    mean = inverse @ model.weights.T @ (x - model.bias) / model.noise_var
    return mean, beta * inverse


def beta_optimal_value(model, x, beta) -> float:
    """max_q F_beta(q) = beta log E_{p(z)}[p(x|z)^{1/beta}] in closed form (beta > 0).

    The Gibbs variational principle gives the maximiser q ∝ p(z) p(x|z)^{1/beta}. For this model
    ``p(x|z)^{1/beta} = (2 pi s^2)^{-d/(2 beta)} (2 pi beta s^2)^{d/2} N(x; W z + b, beta s^2 I)``, so
    the expectation is a Gaussian marginal: N(x; b, W W^T + beta s^2 I) times those constants.
    beta = 1 gives log p(x).
    """
    model = _check_model(model)
    x = _check_vector("x", x, model.data_dim)
    beta = check_real("beta", beta, minimum=0.0, inclusive_minimum=False)
    d = model.data_dim
    log_const = -d / (2 * beta) * (LOG_2PI + math.log(model.noise_var)) + d / 2 * (LOG_2PI + math.log(beta * model.noise_var))
    cov = model.weights @ model.weights.T + beta * model.noise_var * np.eye(d)
    return beta * (log_const + mvn_log_density(x, model.bias, cov))


class NumericalFit(NamedTuple):
    """Result of :func:`fit_q_numerically`: the fitted q and the optimiser's report."""

    mean: np.ndarray
    cov: np.ndarray
    objective: float
    result: optimize.OptimizeResult
    beta: float

    @property
    def converged(self) -> bool:
        """L-BFGS-B converged, or its line search stopped at float64's noise floor of F_beta.

        F_beta holds terms of size ~beta that cancel, so at beta of several hundred its rounding
        noise exceeds the decrease a line-search step near the optimum can show, and L-BFGS-B
        reports "ABNORMAL" there (whether it does depends on the CPU's float rounding). That stop
        counts as converged when the largest gradient entry is within sqrt(eps) * (1 + beta).
        """
        if self.result.success:
            return True
        stopped_in_line_search = "ABNORMAL" in str(self.result.message)
        noise_floor = np.sqrt(np.finfo(np.float64).eps) * (1 + self.beta)
        return stopped_in_line_search and float(np.max(np.abs(self.result.jac))) <= noise_floor


def fit_q_numerically(model, x, beta=1.0, *, family: str = "full", seed=0, gtol: float = 1e-12) -> NumericalFit:
    """Maximise F_beta(q) (eq. 12; the ELBO when beta = 1) over Gaussian q with L-BFGS.

    An independent check of :func:`beta_optimal_q`: q is parameterised by its mean and either a
    Cholesky factor with log-diagonal (``family="full"``) or log-variances (``family="diag"``, a
    mean-field q), started from a random point drawn from ``seed``, with the exact gradient.
    ``beta`` must be > 0 (at beta = 0 the optimum is a point mass the parameterisation cannot reach).
    """
    model = _check_model(model)
    x = _check_vector("x", x, model.data_dim)
    beta = check_real("beta", beta, minimum=0.0, inclusive_minimum=False)
    family = check_choice("family", family, ("full", "diag"))
    gtol = check_real("gtol", gtol, minimum=0.0, inclusive_minimum=False)
    rng = _check_seed(seed)
    k = model.latent_dim
    gram = model.weights.T @ model.weights / model.noise_var
    target = model.weights.T @ (x - model.bias) / model.noise_var
    rows, cols = np.tril_indices(k)
    diagonal = rows == cols

    def unpack(theta):
        mean = theta[:k]
        if family == "diag":
            chol = np.diag(np.exp(0.5 * theta[k:]))
        else:
            chol = np.zeros((k, k))
            values = theta[k:].copy()
            values[diagonal] = np.exp(values[diagonal])
            chol[rows, cols] = values
        return mean, chol

    def negative_objective(theta):
        mean, chol = unpack(theta)
        cov = chol @ chol.T
        value = beta_objective(model, x, mean, cov, beta)
        grad_mean = target - gram @ mean - beta * mean
        if family == "diag":
            # dF/dv_j = -(gram_jj + beta)/2 + beta/(2 v_j); chain rule through v_j = exp(theta_j)
            variances = np.diag(cov)
            grad_tail = (-(np.diag(gram) + beta) / 2 + beta / (2 * variances)) * variances
        else:
            # dF/dL = 2 G L with G = dF/dS = -(gram + beta I)/2 + beta S^{-1}/2; S^{-1} L = L^{-T}
            grad_l = -(gram + beta * np.eye(k)) @ chol + beta * np.linalg.inv(chol).T
            grad_tail = grad_l[rows, cols]
            grad_tail[diagonal] *= chol[rows, cols][diagonal]
        return -value, -np.concatenate([grad_mean, grad_tail])

    n_tail = k if family == "diag" else len(rows)
    start = np.concatenate([rng.standard_normal(k), 0.5 * rng.standard_normal(n_tail)])
    result = optimize.minimize(
        negative_objective, start, jac=True, method="L-BFGS-B",
        options={"gtol": gtol, "ftol": 1e-15, "maxiter": 10_000},
    )
    mean, chol = unpack(result.x)
    return NumericalFit(mean, chol @ chol.T, -float(result.fun), result, beta)
