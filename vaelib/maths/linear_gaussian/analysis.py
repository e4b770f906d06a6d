"""The ELBO of the linear-Gaussian model examined: the optimal q found numerically, the dataset decomposition, slices."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from vaelib._runtime.validation import check_int
from vaelib.maths.linear_gaussian.model import LOG_2PI, _as_float_array, _check_model, _check_vector, _logdet_pd


# ----------------------------------------------------------------------------------------------
# the dataset-level ELBO (eq. 3)
# ----------------------------------------------------------------------------------------------
class ELBODecomposition(NamedTuple):
    """Per-point terms of log p(x_i) = ELBO_i + KL(q_i || p(z|x_i)), each of shape (n,)."""

    log_evidence: np.ndarray
    elbo: np.ndarray
    kl_to_posterior: np.ndarray


def _check_dataset(model, data, means, covs):
    model = _check_model(model)
    data = _as_float_array("data", data)
    if data.ndim != 2 or data.shape[1] != model.data_dim or len(data) == 0:
        raise ValueError(f"data must have shape (n, {model.data_dim}) with n >= 1, got shape {data.shape}")
    n, k = len(data), model.latent_dim
    means = _as_float_array("means", means)
    if means.shape != (n, k):
        raise ValueError(f"means must have shape ({n}, {k}) (one q mean per data point), got shape {means.shape}")
    covs = _as_float_array("covs", covs)
    if covs.shape not in ((n, k), (n, k, k)):
        raise ValueError(
            f"covs must have shape ({n}, {k}) (variances) or ({n}, {k}, {k}) (covariances), got shape {covs.shape}"
        )
    return model, data, means, covs


def dataset_elbo(model, data, means, covs) -> float:
    """L(D) = sum_i ELBO(q_i; x_i) (eq. 3), one Gaussian q_i = N(means[i], covs[i]) per data point."""
    return float(np.sum(elbo_decomposition(model, data, means, covs).elbo))


def elbo_decomposition(model, data, means, covs) -> ELBODecomposition:
    """Per-point log p(x_i), ELBO_i and KL(q_i || p(z|x_i)) for a dataset (n, d).

    Summing eq. (1) over i.i.d. points gives sum log p(x_i) = L(D) + sum KL_i (eq. 3).
    ``means`` is (n, k); ``covs`` is (n, k) variances or (n, k, k) covariances. Vectorised over
    points with the same closed forms as :func:`elbo` and :func:`kl_to_posterior`.
    """
    model, data, means, covs = _check_dataset(model, data, means, covs)
    n, k = means.shape
    if covs.ndim == 2:
        bad = np.flatnonzero(np.any(covs <= 0, axis=1))
        if len(bad):
            raise ValueError(f"covs[{bad[0]}]: covs holds variances, which must be > 0; got {covs[bad[0]]!r}")
        full = np.einsum("ij,jk->ijk", covs, np.eye(k))
    else:
        full = covs
        scale = np.maximum(1.0, np.max(np.abs(full), axis=(1, 2)))
        asym = np.max(np.abs(full - np.swapaxes(full, 1, 2)), axis=(1, 2)) > 1e-10 * scale
        if np.any(asym):
            i = int(np.flatnonzero(asym)[0])
            raise ValueError(f"covs[{i}]: covs must be a symmetric matrix, got {full[i]!r}")
        full = 0.5 * (full + np.swapaxes(full, 1, 2))
        smallest = np.linalg.eigvalsh(full)[:, 0]
        if np.any(smallest <= 0):
            i = int(np.flatnonzero(smallest <= 0)[0])
            raise ValueError(f"covs[{i}]: covs must be positive definite, got smallest eigenvalue {smallest[i]:.3g}")
    logdet = 2.0 * np.sum(np.log(np.diagonal(np.linalg.cholesky(full), axis1=1, axis2=2)), axis=1)
    gram = model.weights.T @ model.weights
    residual = data - model.bias - means @ model.weights.T
    reconstruction = -0.5 * (
        model.data_dim * (LOG_2PI + math.log(model.noise_var))
        + (np.sum(residual**2, axis=1) + np.einsum("jl,ilj->i", gram, full)) / model.noise_var
    )
    kl_prior = 0.5 * (np.trace(full, axis1=1, axis2=2) + np.sum(means**2, axis=1) - k - logdet)
    precision = model.posterior_precision()
    post_means, _ = model.posterior(data)
    delta = post_means - means
    kl_post = 0.5 * (
        np.einsum("jl,ilj->i", precision, full) + np.einsum("ij,jl,il->i", delta, precision, delta)
        - k - _logdet_pd(precision) - logdet  # log det S* = -log det precision
    )
    return ELBODecomposition(np.atleast_1d(model.log_marginal(data)), reconstruction - kl_prior, kl_post)


# ----------------------------------------------------------------------------------------------
# a two-parameter slice of the ELBO landscape (for the figure in chapter 1)
# ----------------------------------------------------------------------------------------------
def elbo_slice(model, x, mean_values, log_var_values, *, axis: int = 0) -> np.ndarray:
    """ELBO over a plane of Gaussians through the posterior, indexed by q's mean and log-variance of z_axis.

    For each (mu, log v) the q is ``N(m* + (mu - m*_axis) e_axis, c S*)`` with ``c = v / S*_axis,axis``:
    the posterior N(m*, S*) with its mean shifted along one coordinate and its covariance scaled,
    so q's marginal of z_axis is N(mu, v). The posterior itself is the point (m*_axis, log S*_axis,axis).
    Returns an array of shape (len(log_var_values), len(mean_values)).
    """
    model = _check_model(model)
    x = _check_vector("x", x, model.data_dim)
    axis = check_int("axis", axis, minimum=0, maximum=model.latent_dim - 1)
    mean_values = _as_float_array("mean_values", mean_values)
    log_var_values = _as_float_array("log_var_values", log_var_values)
    for name, values in (("mean_values", mean_values), ("log_var_values", log_var_values)):
        if values.ndim != 1 or len(values) == 0:
            raise ValueError(f"{name} must be a non-empty 1-D grid, got shape {values.shape}")
    post_mean, post_cov = model.posterior(x)
    scales = np.exp(log_var_values) / post_cov[axis, axis]                       # c, one per row
    means = np.tile(post_mean, (len(mean_values), 1))
    means[:, axis] = mean_values                                                  # one per column
    k, gram = model.latent_dim, model.weights.T @ model.weights
    residual = x - model.bias - means @ model.weights.T
    # E_q log p(x|z) and KL(q || N(0, I)) of eq. (2) with cov = c S*, broadcast over the grid
    reconstruction = -0.5 * (
        model.data_dim * (LOG_2PI + math.log(model.noise_var))
        + (np.sum(residual**2, axis=1)[None, :] + scales[:, None] * float(np.sum(gram * post_cov))) / model.noise_var
    )
    kl_prior = 0.5 * (
        scales[:, None] * float(np.trace(post_cov)) + np.sum(means**2, axis=1)[None, :]
        - k - (k * np.log(scales)[:, None] + _logdet_pd(post_cov))
    )
    return reconstruction - kl_prior
