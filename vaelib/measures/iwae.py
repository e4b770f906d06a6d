"""The importance-weighted bound (Burda, Grosse & Salakhutdinov 2016) as an estimator of log p(x).

For a latent-variable model p(x, z) and an encoder q(z|x), draw z_1, ..., z_k ~ q(z|x) and set

    L_k(x) = log (1/k) sum_i w_i,   w_i = p(x, z_i) / q(z_i|x).

``L_1`` is a one-sample estimate of the ELBO (eq. 2); E[L_k] does not decrease with k
(Burda et al., theorem 1) and tends to log p(x) as k grows, with a bias of about
Var_q[w / p(x)] / (2k) for large k. All weights are handled in float64 and combined with
logsumexp, so a weight of exp(-600) is no harder than one of exp(-1).

Two models are covered:

``log_weights`` / ``iwae_bound`` / ``log_marginal_estimate``
    vaelib's Gaussian VAE (:class:`vaelib.models.networks.VAE` with ``latent="gaussian"``) with either
    likelihood. For ``"squared_error"`` p(x|z) is the Gaussian of variance 1/2 per pixel,
    normalising constant included (as :func:`vaelib.models.aevb.log_likelihood`); for
    ``"bernoulli"`` independent Bernoulli pixels. The decoder runs in float32 in chunks of at
    most ``chunk_rows`` latent points (memory stays bounded for k in the thousands); its
    logits are cast to float64 before the log-likelihood is formed.
``linear_gaussian_log_weights`` / ``linear_gaussian_iwae``
    The tractable model of chapter 01 (:mod:`vaelib.maths.linear_gaussian`), where log p(x) is known
    exactly; ``linear_gaussian_weight_variance`` gives Var_q[w / p(x)] in closed form, hence
    the leading-order bias of L_k.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from vaelib._runtime.validation import check_choice, check_images, check_int, check_rng
from vaelib.maths.linear_gaussian.model import _check_q, mvn_log_density
from vaelib.models.networks import encode_mean

__all__ = [
    "ImageAverage",
    "log_mean_exp",
    "average_over_images",
    "iwae_from_log_weights",
    "log_weights",
    "iwae_bound",
    "linear_gaussian_log_weights",
    "linear_gaussian_iwae",
    "linear_gaussian_weight_variance",
]

#: Latent points pushed through the decoder at once (rows of 784 float64 values: ~13 MB). A kernel
#: keeps memory in proportion to its largest eager decoder call: 20 test images x 5,000 draws left
#: 0.13 GB less resident at 2,048 rows than at 8,192, for about 20% more time and log weights
#: equal to float32 rounding, bit for bit on the machine measured (see vaelib.models.aevb._CHUNK_ROWS;
#: benchmarks/LEVERS.md).
DEFAULT_CHUNK_ROWS = 2048
SQUARED_ERROR_VARIANCE = 0.5  # as vaelib.models.aevb: -log p(x|z) = squared error + (D/2) log(pi)


class ImageAverage(NamedTuple):
    """The mean of a per-image quantity and its standard error across images (std / sqrt(n))."""

    mean: float
    standard_error: float
    n_images: int


def average_over_images(values) -> ImageAverage:
    """Mean and standard error ``std(values, ddof=1) / sqrt(n)`` of per-image values (n >= 2)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"values must be a 1-D array of at least 2 per-image numbers, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("values must be finite")
    return ImageAverage(float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values))), len(values))


def log_mean_exp(log_w, axis: int = -1) -> np.ndarray:
    """log (1/k) sum_i exp(log_w_i) along ``axis``, in float64, by logsumexp (no overflow/underflow)."""
    log_w = np.asarray(log_w, dtype=np.float64)
    if log_w.ndim == 0 or log_w.shape[axis] == 0:
        raise ValueError(f"log_w must have at least one weight along axis {axis}, got shape {log_w.shape}")
    if np.any(np.isnan(log_w)) or np.any(log_w == np.inf):
        raise ValueError("log_w must not contain NaN or +inf")
    top = np.max(log_w, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    out = top + np.log(np.mean(np.exp(log_w - top), axis=axis, keepdims=True))
    return np.squeeze(out, axis=axis)


def iwae_from_log_weights(log_w, k: int) -> np.ndarray:
    """L_k per row of ``log_w`` (shape (n, K)), averaged over the floor(K / k) disjoint groups of k.

    Each group of k consecutive weights gives an unbiased estimate of E[L_k]; averaging the
    groups lowers the variance without changing the expectation. ``k = 1`` gives the mean log
    weight, the Monte Carlo ELBO (eq. 11 with L = K). Returns float64 of shape (n,).
    """
    log_w = np.asarray(log_w, dtype=np.float64)
    if log_w.ndim != 2 or log_w.shape[1] == 0:
        raise ValueError(f"log_w must have shape (n_images, n_samples), got {log_w.shape}")
    k = check_int("k", k, minimum=1, maximum=log_w.shape[1])
    groups = log_w.shape[1] // k
    grouped = log_w[:, : groups * k].reshape(log_w.shape[0], groups, k)
    return log_mean_exp(grouped, axis=-1).mean(axis=1)


# ----------------------------------------------------------------------------------------------
# vaelib's Gaussian VAE
# ----------------------------------------------------------------------------------------------
def _check_gaussian_vae(model):
    from vaelib.models.networks import check_vae  # keras only when a VAE is used

    return check_vae(model, latent="gaussian")


def _log_likelihood_float64(x, logits, likelihood: str):
    """log p(x|z) per row in float64 (TensorFlow ops, multi-threaded); x (rows, D), logits (rows, D)."""
    import tensorflow as tf

    x = tf.cast(x, tf.float64)
    logits = tf.cast(logits, tf.float64)
    if likelihood == "squared_error":
        n_pixels = int(x.shape[-1])
        x_hat = tf.sigmoid(logits)
        return (-tf.reduce_sum(tf.square(x - x_hat), axis=-1) / (2.0 * SQUARED_ERROR_VARIANCE)
                - 0.5 * n_pixels * math.log(2.0 * math.pi * SQUARED_ERROR_VARIANCE))
    # log sigmoid(l) = -softplus(-l); log(1 - sigmoid(l)) = -softplus(l)
    return -tf.reduce_sum(tf.nn.relu(logits) - logits * x + tf.math.log1p(tf.exp(-tf.abs(logits))), axis=-1)


def log_weights(model, x, n_samples: int, *, rng=None, likelihood: str | None = None,
                chunk_rows: int = DEFAULT_CHUNK_ROWS, return_log_likelihood: bool = False):
    """log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x) for z_i ~ q(z|x), per image.

    Parameters
    ----------
    model : a Gaussian :class:`vaelib.models.networks.VAE` (q = N(mu(x), diag(exp(log_var(x)))), p(z) = N(0, I)).
    x : images in [0, 1], shape (n, 784) or (n, 28, 28).
    n_samples : K, the number of draws per image.
    rng : a seed or numpy Generator for the draws (eps ~ N(0, I), z = mu + sigma * eps).
    likelihood : "squared_error" or "bernoulli" (default: the model's own).
    chunk_rows : latent points decoded at once (bounds memory; the result does not depend on it).

    return_log_likelihood : also return the log p(x|z_i) part of each weight.

    Returns
    -------
    float64 array of shape (n, K) (and, with ``return_log_likelihood``, a second one).
    """
    model = _check_gaussian_vae(model)
    x = check_images(x, name="x")
    n_samples = check_int("n_samples", n_samples, minimum=1)
    chunk_rows = check_int("chunk_rows", chunk_rows, minimum=1)
    likelihood = model.likelihood if likelihood is None else check_choice(
        "likelihood", likelihood, ("squared_error", "bernoulli"))
    rng = check_rng(rng)
    mu, log_var = encode_mean(model, x)
    sigma = np.exp(0.5 * log_var)
    n_images, latent_dim = mu.shape
    # One random stream per image, consumed in order, so the draws (and the result) do not
    # depend on chunk_rows.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(rng.integers(2**63))).spawn(n_images)]
    out = np.empty((n_images, n_samples))
    out_lik = np.empty((n_images, n_samples)) if return_log_likelihood else None
    per_chunk = max(1, chunk_rows // n_samples)  # whole images per chunk when K is small
    samples_per_chunk = min(n_samples, chunk_rows)  # else split one image's K draws
    for i0 in range(0, n_images, per_chunk):
        images = np.arange(i0, min(i0 + per_chunk, n_images))
        for s0 in range(0, n_samples, samples_per_chunk):
            s1 = min(s0 + samples_per_chunk, n_samples)
            eps = np.stack([streams[i].standard_normal((s1 - s0, latent_dim)) for i in images])
            z = mu[images, None, :] + sigma[images, None, :] * eps
            # log p(z) - log q(z|x): the 2 pi terms cancel and (z - mu) / sigma = eps
            log_ratio = (-0.5 * np.sum(z**2, axis=-1) + 0.5 * np.sum(eps**2, axis=-1)
                         + 0.5 * np.sum(log_var[images, None, :], axis=-1))
            logits = model.decoder(z.reshape(-1, latent_dim).astype(np.float32), training=False)
            x_rows = np.repeat(x[images], s1 - s0, axis=0)
            log_lik = np.asarray(_log_likelihood_float64(x_rows, logits, likelihood)).reshape(len(images), s1 - s0)
            out[images, s0:s1] = log_lik + log_ratio
            if return_log_likelihood:
                out_lik[images, s0:s1] = log_lik
    return (out, out_lik) if return_log_likelihood else out


def iwae_bound(model, x, k: int, *, rng=None, likelihood: str | None = None,
               chunk_rows: int = DEFAULT_CHUNK_ROWS) -> np.ndarray:
    """L_k(x) = log (1/k) sum_i w_i per image, one set of k draws each (float64, shape (n,)).

    ``k = 1`` is a one-sample ELBO estimate; large k estimates log p(x) from below
    (see the module docstring). Arguments as :func:`log_weights`.
    """
    return log_mean_exp(log_weights(model, x, k, rng=rng, likelihood=likelihood, chunk_rows=chunk_rows), axis=-1)


# ----------------------------------------------------------------------------------------------
# the tractable linear-Gaussian model of chapter 01
# ----------------------------------------------------------------------------------------------
def linear_gaussian_log_weights(model, x, mean, cov, n_samples: int, seed=0) -> np.ndarray:
    """log w = log p(x, z) - log q(z) for ``n_samples`` draws z ~ q = N(mean, cov), one data point x.

    ``cov`` holds variances (k,) or a (k, k) covariance. Returns float64 of shape (n_samples,).
    """
    model, x, mean, cov = _check_q(model, x, mean, cov)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    rng = check_rng(seed)
    z = mean + rng.standard_normal((n_samples, len(mean))) @ np.linalg.cholesky(cov).T
    return np.atleast_1d(model.log_joint(x, z) - mvn_log_density(z, mean, cov))


def linear_gaussian_iwae(model, x, mean, cov, k: int, n_replicates: int, seed=0) -> np.ndarray:
    """``n_replicates`` independent draws of L_k(x) on the linear-Gaussian model (float64, (n_replicates,))."""
    k = check_int("k", k, minimum=1)
    n_replicates = check_int("n_replicates", n_replicates, minimum=1)
    log_w = linear_gaussian_log_weights(model, x, mean, cov, k * n_replicates, seed=seed)
    return log_mean_exp(log_w.reshape(n_replicates, k), axis=-1)


def linear_gaussian_weight_variance(model, x, mean, cov) -> float:
    """Var_q[w / p(x)] = E_q[(p(z|x) / q(z))^2] - 1 in closed form (inf when it diverges).

    With posterior N(m, P) and q = N(m_q, Q), E_q[(p/q)^2] = integral of p^2 / q, a Gaussian
    integral with precision A = 2 P^-1 - Q^-1 (finite only when A is positive definite).
    The bias of L_k is about this variance / (2k) for large k.
    """
    model, x, mean, cov = _check_q(model, x, mean, cov)
    post_mean, post_cov = model.posterior(x)
    p_inv = np.linalg.inv(post_cov)
    q_inv = np.linalg.inv(cov)
    a = 2.0 * p_inv - q_inv
    a = 0.5 * (a + a.T)
    if np.linalg.eigvalsh(a)[0] <= 0:
        return math.inf
    b = 2.0 * p_inv @ post_mean - q_inv @ mean
    c = 2.0 * post_mean @ p_inv @ post_mean - mean @ q_inv @ mean
    logdet = lambda m: float(np.linalg.slogdet(m)[1])  # noqa: E731
    log_second_moment = (-0.5 * (2.0 * logdet(post_cov) - logdet(cov)) - 0.5 * logdet(a)
                         + 0.5 * float(b @ np.linalg.solve(a, b)) - 0.5 * c)
    return float(math.expm1(log_second_moment))
