"""Diagonal Gaussians: closed-form KL to the prior (eq. 10), log-density, reparameterization.

Pure functions written with ``keras.ops`` so the same code serves the Keras models
(tensors, float32) and the chapters' numerical checks (NumPy arrays, float64).
Encoders output ``log_var = log sigma^2`` rather than sigma, so the variance is
positive by construction.
"""

from __future__ import annotations

import math

import numpy as np
from keras import ops

from vaelib._runtime import random_draws

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_kl(mu, log_var):
    """KL( N(mu, diag(exp(log_var))) || N(0, I) ), summed over the last axis.

    Eq. (10) with the sign flipped: ``-0.5 * sum(1 + log_var - mu**2 - exp(log_var))``.
    Returns one value per row (shape ``mu.shape[:-1]``).
    """
    return -0.5 * ops.sum(1.0 + log_var - ops.square(mu) - ops.exp(log_var), axis=-1)


def gaussian_log_density(z, mu, log_var):
    """log N(z; mu, diag(exp(log_var))), summed over the last axis."""
    return -0.5 * ops.sum(LOG_2PI + log_var + ops.square(z - mu) / ops.exp(log_var), axis=-1)


def reparameterize(mu, log_var, epsilon):
    """z = mu + sigma * epsilon with sigma = exp(log_var / 2) (eq. 6-7's g_phi)."""
    return mu + ops.exp(0.5 * log_var) * epsilon


def sample_gaussian(mu, log_var, seed_generator):
    """Draw z ~ N(mu, diag(exp(log_var))) by reparameterization, differentiable in mu and log_var.

    ``seed_generator`` (a keras.random.SeedGenerator) supplies epsilon (see :mod:`vaelib._runtime.random_draws`).
    """
    mu = ops.convert_to_tensor(mu)
    epsilon = random_draws.standard_normal(ops.shape(mu), seed_generator, dtype=mu.dtype)
    return reparameterize(mu, log_var, epsilon)


def gaussian_kl_numpy(mu, log_var) -> np.ndarray:
    """NumPy float64 version of :func:`gaussian_kl` for the chapters' checks (same shapes required)."""
    mu = np.asarray(mu, dtype=np.float64)
    log_var = np.asarray(log_var, dtype=np.float64)
    if mu.shape != log_var.shape:
        raise ValueError(f"mu and log_var must have the same shape, got {mu.shape} and {log_var.shape}")
    return -0.5 * np.sum(1.0 + log_var - mu**2 - np.exp(log_var), axis=-1)
