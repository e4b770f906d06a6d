"""Travelling in a 2-D latent space: off-centre Gaussian draws, sigma ellipses and interpolation paths.

Pure NumPy/SciPy functions (plus a batched decoder call) for the chapter "Latent travel", which
checks the report's reading of its figure 14: decode draws from the off-centre distribution
N(m, s^2 I) (the report uses m = 1, s = 0.5) and decode points on straight lines between two
encoded test digits. The measures here describe *where* those points fall (inside which sigma
ellipse, how far along a path) and *what* a classifier makes of the decoded images along a path
(which digit wins at the border between the two endpoints' digits, whether a third digit appears
on the way: :mod:`vaelib.measures.figure14`). Every public argument is validated and a bad one
raises naming it.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import stats

from vaelib._runtime.batching import in_blocks
from vaelib._runtime.validation import check_int, check_real, check_seed
from vaelib.measures.latent_space import check_codes
from vaelib.models.networks import encode_mean

__all__ = [
    "gaussian_draws",
    "sigma_region_mass",
    "sigma_ellipse",
    "standard_normal_mass",
    "standardised_radius",
    "fraction_within",
    "interpolate",
    "decode",
    "latent_interpolation",
]



def _location(mean, std, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``mean`` and ``std`` (scalars or length-``dim`` vectors) as float64 vectors of length ``dim``."""
    out = []
    for name, value, positive in (("mean", mean, False), ("std", std, True)):
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            vector = np.full(dim, check_real(name, value, minimum=0.0, inclusive_minimum=False) if positive
                             else check_real(name, value))
        else:
            vector = np.asarray(value)
            if vector.dtype == object or not np.issubdtype(vector.dtype, np.number) or vector.dtype == np.bool_:
                raise TypeError(f"{name} must be a real number or a vector of {dim} real numbers, got {value!r}")
            vector = vector.astype(np.float64).reshape(-1)
            if vector.shape != (dim,):
                raise ValueError(f"{name} must be a real number or a vector of {dim} numbers, got shape {np.shape(value)}")
            if not np.all(np.isfinite(vector)):
                raise ValueError(f"{name} must be finite, got {value!r}")
            if positive and np.any(vector <= 0):
                raise ValueError(f"{name} must be > 0 in every dimension, got {value!r}")
        out.append(vector)
    return out[0], out[1]


def gaussian_draws(n: int, mean=1.0, std=0.5, *, dim: int = 2, seed: int = 0) -> np.ndarray:
    """``n`` draws from N(mean, diag(std^2)) in ``dim`` dimensions, shape (n, dim), float64.

    The report's figure 14 decodes draws from N(1, 0.5^2 I): ``mean=1.0, std=0.5`` (the defaults).
    Seeded with ``np.random.default_rng(seed)``: the same seed gives the same draws.
    """
    n = check_int("n", n, minimum=1)
    dim = check_int("dim", dim, minimum=1)
    seed = check_seed(seed)
    mean, std = _location(mean, std, dim)
    return mean + std * np.random.default_rng(seed).standard_normal((n, dim))


def sigma_region_mass(n_sigma: float, dim: int = 2) -> float:
    """Probability mass of a Gaussian inside its ``n_sigma`` ellipse: P(chi^2_dim <= n_sigma^2).

    In 2-D this is 1 - exp(-n_sigma^2 / 2): 0.393 for 1 sigma, 0.865 for 2 sigma (not the
    0.683 and 0.954 of one dimension).
    """
    n_sigma = check_real("n_sigma", n_sigma, minimum=0.0)
    dim = check_int("dim", dim, minimum=1)
    return float(stats.chi2.cdf(n_sigma**2, df=dim))


def sigma_ellipse(mean=1.0, std=0.5, n_sigma: float = 1.0, *, n_points: int = 200) -> np.ndarray:
    """Points (n_points, 2) on the ``n_sigma`` contour of N(mean, diag(std^2)) in 2-D.

    The contour is the ellipse (z - mean)_j / std_j = n_sigma (cos t, sin t); the first point
    repeats as the last, so the polygon closes when drawn.
    """
    mean, std = _location(mean, std, 2)
    n_sigma = check_real("n_sigma", n_sigma, minimum=0.0, inclusive_minimum=False)
    n_points = check_int("n_points", n_points, minimum=4)
    angle = np.linspace(0.0, 2.0 * math.pi, n_points)
    unit = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    unit[-1] = unit[0]  # close the polygon exactly
    return mean + n_sigma * std * unit


def standard_normal_mass(mean=1.0, std=0.5, n_sigma: float = 2.0, *, dim: int = 2) -> float:
    """Mass that the prior N(0, I) puts inside the ``n_sigma`` ball of an isotropic N(mean, std^2 I).

    The ball is |z - mean| <= n_sigma * std; for z ~ N(0, I), |z - mean|^2 is a noncentral chi^2
    variable with ``dim`` degrees of freedom and noncentrality |mean|^2, so the mass is its CDF at
    (n_sigma * std)^2. ``std`` must be a scalar (the ball is round only for an isotropic Gaussian).
    """
    dim = check_int("dim", dim, minimum=1)
    if not isinstance(std, numbers.Real) or isinstance(std, bool):
        raise TypeError(f"std must be one real number (an isotropic Gaussian), got {std!r}")
    mean, std_vector = _location(mean, std, dim)
    n_sigma = check_real("n_sigma", n_sigma, minimum=0.0)
    radius_sq = (n_sigma * std_vector[0]) ** 2
    centre_sq = float(mean @ mean)
    if centre_sq == 0.0:
        return float(stats.chi2.cdf(radius_sq, df=dim))
    return float(stats.ncx2.cdf(radius_sq, df=dim, nc=centre_sq))


def standardised_radius(points, mean=1.0, std=0.5) -> np.ndarray:
    """Distance of each of ``points`` (n, d) from ``mean`` in units of ``std`` (the Mahalanobis
    distance for N(mean, diag(std^2))), shape (n,). A point is inside the k-sigma ellipse iff <= k."""
    points = check_codes(points, name="points")
    mean, std = _location(mean, std, points.shape[1])
    return np.sqrt(np.sum(((points - mean) / std) ** 2, axis=1))


def fraction_within(points, mean=1.0, std=0.5, n_sigma: float = 2.0) -> float:
    """Fraction of ``points`` (n, d) inside the ``n_sigma`` ellipse of N(mean, diag(std^2))."""
    n_sigma = check_real("n_sigma", n_sigma, minimum=0.0)
    return float(np.mean(standardised_radius(points, mean, std) <= n_sigma))


def interpolate(start, end, n_steps: int) -> np.ndarray:
    """Points on the straight line from ``start`` to ``end``: (1 - t) start + t end, t = 0, ..., 1.

    ``start`` and ``end`` are vectors (d,) -> result (n_steps, d), or batches (n, d) -> result
    (n, n_steps, d). The same function interpolates latent codes and images (pixel space). The
    first and last points equal ``start`` and ``end`` exactly.
    """
    n_steps = check_int("n_steps", n_steps, minimum=2)
    arrays = []
    for name, value in (("start", start), ("end", end)):
        array = np.asarray(value)
        if array.dtype == object or not np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_:
            raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}")
        if array.ndim not in (1, 2) or array.size == 0:
            raise ValueError(f"{name} must have shape (d,) or (n, d), got {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite values")
        arrays.append(array.astype(np.float64))
    start, end = arrays
    if start.shape != end.shape:
        raise ValueError(f"start and end must have the same shape, got {start.shape} and {end.shape}")
    t = np.linspace(0.0, 1.0, n_steps)
    t = t[:, None] if start.ndim == 1 else t[None, :, None]
    a, b = (start, end) if start.ndim == 1 else (start[:, None, :], end[:, None, :])
    path = (1.0 - t) * a + t * b
    # (1 - 1) * a + 1 * b is b exactly and (1 - 0) * a + 0 * b is a exactly in floating point
    return path


def decode(model, z, *, batch_size: int = 4096) -> np.ndarray:
    """Decoded pixel means of latent points ``z`` (..., d): float32 images (..., 784) in [0, 1].

    Any leading shape is kept, so a batch of paths (n, n_steps, d) gives (n, n_steps, 784).
    """
    if not hasattr(model, "decode"):
        raise TypeError(f"model must have a decode method (a vaelib VAE or autoencoder), got {type(model).__name__}")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    z = np.asarray(z)
    if z.ndim < 1:
        raise ValueError(f"z must have shape (..., d), got a scalar {z!r}")
    flat = check_codes(z.reshape(-1, z.shape[-1]), name="z")
    images = in_blocks(model.decode, flat.astype(np.float32), rows=batch_size).astype(np.float32)
    return np.clip(images, 0.0, 1.0).reshape(*z.shape[:-1], images.shape[-1])


def latent_interpolation(model, x_start, x_end, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Decode the straight line between the posterior means of two sets of images.

    Parameters
    ----------
    model : a vaelib VAE (``encode`` -> (mu, log_var), ``decode`` -> pixel means)
    x_start, x_end : images (n, 784) in [0, 1]; pair i runs from x_start[i] to x_end[i]
    n_steps : points per path, endpoints included

    Returns
    -------
    z : (n, n_steps, d) latent path, from mu(x_start) to mu(x_end) of q_phi(z|x) (eq. 2)
    images : (n, n_steps, 784) decoded pixel means along it
    """
    mu_start, _ = encode_mean(model, x_start)
    mu_end, _ = encode_mean(model, x_end)
    if mu_start.shape != mu_end.shape:
        raise ValueError(f"x_start and x_end must hold the same number of images, got {len(mu_start)} and {len(mu_end)}")
    z = interpolate(mu_start, mu_end, n_steps)
    return z, decode(model, z)
