"""Latent families for the VAE: Gaussian (the report's), Laplace and uniform.

The encoder's two heads give, per latent axis, a location parameter ``a`` and a scale
parameter ``s`` (for the Gaussian these are ``mu`` and ``log_var``). A family turns them into
q(z|x), draws from it by reparameterization, and gives KL(q(z|x) || p(z)) in closed form.
Every prior has mean 0 and variance 1 per axis, so the three latent spaces have the same scale:

``gaussian``  q = N(mu, exp(log_var)),        p = N(0, 1),            KL of eq. (10)
``laplace``   q = Laplace(a, b = exp(s)),       p = Laplace(0, 1/sqrt 2), KL of :func:`laplace_kl`
``uniform``   q = U(l, l + w) inside (-c, c),   p = U(-c, c), c = sqrt 3, KL of :func:`uniform_kl`

The uniform posterior's support is kept inside the prior's by construction (see
:func:`uniform_bounds`); otherwise KL(q || p) would be infinite.
"""

from __future__ import annotations

import math

import numpy as np
from keras import ops

from vaelib._runtime.validation import check_choice
from vaelib.maths.gaussian import gaussian_kl, sample_gaussian
from vaelib._runtime import random_draws

FAMILIES = ("gaussian", "laplace", "uniform")
LAPLACE_PRIOR_SCALE = 1.0 / math.sqrt(2.0)  # variance 2 b^2 = 1
UNIFORM_PRIOR_HALF_WIDTH = math.sqrt(3.0)  # variance c^2 / 3 = 1
# Laplace draws use the inverse CDF -b sign(u) log(1 - 2|u|); the clip keeps log finite when
# the uniform draw u lands exactly on -1/2 (float32 resolution near 1 is 6e-8).
_LOG_ARGUMENT_FLOOR = 1e-7


def laplace_kl(a, s):
    """KL( Laplace(a, exp(s)) || Laplace(0, b0) ), b0 = 1/sqrt 2, summed over the last axis.

    For Laplace densities, KL(L(a, b) || L(0, b0)) = log(b0 / b) + |a| / b0 + (b / b0) exp(-|a| / b) - 1.
    """
    b = ops.exp(s)
    b0 = LAPLACE_PRIOR_SCALE
    terms = math.log(b0) - s + ops.abs(a) / b0 + (b / b0) * ops.exp(-ops.abs(a) / b) - 1.0
    return ops.sum(terms, axis=-1)


def sample_laplace(a, s, seed_generator):
    """z = a - b sign(u) log(1 - 2|u|), u ~ U(-1/2, 1/2): a reparameterized Laplace(a, exp(s)) draw."""
    a = ops.convert_to_tensor(a)
    u = random_draws.uniform(ops.shape(a), seed_generator, minval=-0.5, maxval=0.5, dtype=a.dtype)
    return a - ops.exp(s) * ops.sign(u) * ops.log(ops.maximum(1.0 - 2.0 * ops.abs(u), _LOG_ARGUMENT_FLOOR))


def uniform_bounds(a, s):
    """Lower end l and width w of q = U(l, l + w) from the raw parameters (a, s).

    w = 2c sigmoid(s) lies in (0, 2c) and l = -c + (2c - w) sigmoid(a) in (-c, c - w), so the
    support [l, l + w] always lies inside the prior's (-c, c), c = sqrt 3.
    """
    c = UNIFORM_PRIOR_HALF_WIDTH
    width = 2.0 * c * ops.sigmoid(s)
    lower = -c + (2.0 * c - width) * ops.sigmoid(a)
    return lower, width


def uniform_kl(a, s):
    """KL( U(l, l + w) || U(-c, c) ) = sum log(2c / w) = sum softplus(-s), finite for every s.

    The posterior's support lies inside the prior's (:func:`uniform_bounds`), where the density
    ratio is the constant 2c / w; with w = 2c sigmoid(s), log(2c / w) = -log sigmoid(s).
    """
    return ops.sum(ops.softplus(-s), axis=-1)


def sample_uniform(a, s, seed_generator):
    """z = l + w u, u ~ U(0, 1): a reparameterized draw from U(l, l + w)."""
    lower, width = uniform_bounds(a, s)
    u = random_draws.uniform(ops.shape(lower), seed_generator, dtype=lower.dtype)
    return lower + width * u


def kl_to_prior(family: str, a, s):
    """KL(q(z|x) || p(z)) per image for ``family`` (keras.ops; NumPy arrays are accepted)."""
    family = check_choice("latent", family, FAMILIES)
    return {"gaussian": gaussian_kl, "laplace": laplace_kl, "uniform": uniform_kl}[family](a, s)


def sample_posterior(family: str, a, s, seed_generator):
    """One reparameterized draw z ~ q(z|x) per row for ``family``."""
    family = check_choice("latent", family, FAMILIES)
    sampler = {"gaussian": sample_gaussian, "laplace": sample_laplace, "uniform": sample_uniform}[family]
    return sampler(a, s, seed_generator)


def posterior_location(family: str, a, s) -> np.ndarray:
    """The centre of q(z|x) (its mean, which for these symmetric families is also its median)."""
    family = check_choice("latent", family, FAMILIES)
    if family == "uniform":
        lower, width = uniform_bounds(a, s)
        return np.asarray(lower + 0.5 * width)
    return np.asarray(a)


def sample_prior(family: str, n: int, latent_dim: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws from the family's prior p(z) (mean 0, variance 1 per axis), float32 (n, latent_dim)."""
    family = check_choice("latent", family, FAMILIES)
    shape = (n, latent_dim)
    if family == "gaussian":
        z = rng.standard_normal(shape)
    elif family == "laplace":
        z = rng.laplace(0.0, LAPLACE_PRIOR_SCALE, shape)
    else:
        z = rng.uniform(-UNIFORM_PRIOR_HALF_WIDTH, UNIFORM_PRIOR_HALF_WIDTH, shape)
    return z.astype(np.float32)
