"""Measures of a latent space: how close codes are to the prior, how far prior draws are from codes.

Pure NumPy/SciPy functions on arrays of latent codes, used by the chapter "Autoencoder vs VAE"
to put numbers on the report's section 4.1: the VAE's aggregate codes look like N(0, I) and
the autoencoder's do not, repeated encodings of one digit differ, and N(0, I) draws fed to an
autoencoder's decoder land where no image was ever encoded, and how much of the prior's 95% region
lies near some code (:func:`covered_by_codes`, with points from :func:`prior_region_draws` and the
local yardstick :func:`prior_spacing`). The regular grids of latent points that
a decoder turns into a picture of its whole latent plane are made here too (:func:`latent_grid`,
over the prior's or the codes' percentiles). Every public argument is validated.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import spatial, stats

from vaelib._runtime.validation import check_int, check_real, check_rng

__all__ = [
    "check_codes",
    "code_moments",
    "moment_matched_kl",
    "fraction_in_prior_region",
    "nearest_code_distances",
    "typical_spacing",
    "fraction_far_from_codes",
    "covered_by_codes",
    "prior_region_draws",
    "prior_spacing",
    "decoding_spread",
    "nearest_code_label_mismatch",
    "gaussian_density_grid",
    "code_space_measures",
    "check_extent",
    "prior_extent",
    "percentile_extent",
    "latent_grid",
]


def check_codes(z, *, name: str = "z", dim: int | None = None, min_rows: int = 1) -> np.ndarray:
    """Return ``z`` as a finite float64 array of shape (n, d) with n >= ``min_rows``, or raise naming it."""
    array = np.asarray(z)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {array.shape}")
    if dim is not None and array.shape[1] != dim:
        raise ValueError(f"{name} must have {dim} columns, got shape {array.shape}")
    if array.shape[1] < 1 or len(array) < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} rows and one column, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def code_moments(z) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and covariance (d, d) (unbiased, ``ddof=1``) of the aggregate codes ``z`` (n, d)."""
    z = check_codes(z, min_rows=2)
    return z.mean(axis=0), np.atleast_2d(np.cov(z, rowvar=False))


def moment_matched_kl(mean, cov) -> float:
    """KL( N(mean, cov) || N(0, I) ): one number for how far codes with these moments are from the prior.

    0.5 * (tr(cov) + |mean|^2 - d - log det cov), the full-covariance version of eq. (10). It is
    0 only for mean 0 and cov I, and grows with any shift, stretch, shrink or correlation.
    """
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    if mean.ndim != 1 or cov.shape != (len(mean), len(mean)):
        raise ValueError(f"mean must have shape (d,) and cov (d, d); got {mean.shape} and {cov.shape}")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
        raise ValueError("mean and cov must be finite")
    if not np.allclose(cov, cov.T):
        raise ValueError("cov must be symmetric")
    sign, log_det = np.linalg.slogdet(cov)
    if sign <= 0:
        raise ValueError("cov must be positive definite (its determinant is not positive)")
    return float(0.5 * (np.trace(cov) + mean @ mean - len(mean) - log_det))


def fraction_in_prior_region(z, level: float = 0.95) -> float:
    """Fraction of codes inside the N(0, I) region of probability ``level``: |z|^2 <= chi2_d quantile.

    Under the prior this fraction is ``level`` itself; codes spread wider than the prior give less,
    codes squeezed towards 0 give more.
    """
    z = check_codes(z)
    return float(np.mean(np.sum(z**2, axis=1) <= stats.chi2.ppf(_check_level(level), df=z.shape[1])))


def nearest_code_distances(points, codes) -> np.ndarray:
    """Euclidean distance (n,) from each of ``points`` (n, d) to its nearest row of ``codes`` (m, d)."""
    codes = check_codes(codes, name="codes")
    points = check_codes(points, name="points", dim=codes.shape[1])
    distances, _ = spatial.cKDTree(codes).query(points, k=1)
    return np.asarray(distances, dtype=np.float64)


def typical_spacing(codes, quantile: float = 0.99) -> float:
    """The ``quantile`` of the codes' distances to their nearest *other* code.

    A scale-free yardstick for "far from every code": a point farther than this from all codes is
    in a gap wider than the gaps between (almost all) encoded images themselves.
    """
    codes = check_codes(codes, name="codes", min_rows=2)
    quantile = check_real("quantile", quantile, minimum=0.0, maximum=1.0)
    distances, _ = spatial.cKDTree(codes).query(codes, k=2)
    return float(np.quantile(distances[:, 1], quantile))


def fraction_far_from_codes(points, codes, radius: float) -> float:
    """Fraction of ``points`` whose nearest code is farther than ``radius``."""
    return float(np.mean(~covered_by_codes(points, codes, radius)))


def covered_by_codes(points, codes, radius) -> np.ndarray:
    """Whether each of ``points`` (n, d) has a code within ``radius`` (its nearest code no farther), shape (n,) bool.

    ``radius`` is one distance for every point, or one per point (n,), such as :func:`prior_spacing`'s.
    """
    distances = nearest_code_distances(points, codes)
    if np.ndim(radius) == 0:
        return distances <= check_real("radius", radius, minimum=0.0)
    radius = np.asarray(radius, dtype=np.float64)
    if radius.shape != distances.shape or not np.all(np.isfinite(radius)) or np.any(radius < 0):
        raise ValueError(f"radius must be one distance or one per point ({len(distances)} values), finite and "
                         f">= 0; got shape {radius.shape}")
    return distances <= radius


def _check_level(level) -> float:
    level = check_real("level", level, minimum=0.0, maximum=1.0, inclusive_minimum=False)
    if level >= 1.0:
        raise ValueError(f"level must be < 1, got {level!r}")
    return level


def prior_region_draws(n: int, dim: int, *, rng, level: float = 0.95) -> np.ndarray:
    """``n`` draws (n, dim) from N(0, I) conditioned on its region of probability ``level`` (|z|^2 <= chi2 quantile).

    Exact, with no rejection: under the prior |z|^2 follows chi2 with ``dim`` degrees of freedom and is
    independent of the direction z / |z|, which is uniform; so |z|^2 = chi2.ppf(level * u) with u ~ U(0, 1)
    and a uniform direction give the prior restricted to the region. ``rng``: a NumPy Generator or a seed.
    """
    n, dim, rng = check_int("n", n, minimum=1), check_int("dim", dim, minimum=1), check_rng(rng)
    level = _check_level(level)
    direction = rng.standard_normal((n, dim))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return direction * np.sqrt(stats.chi2.ppf(level * rng.uniform(size=n), df=dim))[:, None]


def prior_spacing(points, n_codes: int, *, quantile: float = 0.99) -> np.ndarray:
    """For each of ``points`` (n, d), the distance within which ``n_codes`` codes drawn from N(0, I) would have
    a code with probability ``quantile``: the gaps a cloud of that many codes leaves there when it fills the
    latent space as the prior does. Shape (n,).

    Near a point z such a cloud is a Poisson scatter of intensity n p(z) (p the prior's density), so the
    nearest code lies beyond r with probability exp(-n p(z) V_d r^d), V_d the volume of the unit d-ball;
    hence r(z) = (-ln(1 - quantile) / (n p(z) V_d))^(1/d). The approximation needs p nearly constant within
    r: for 10,000 codes in 2-D and the prior's 95% region, r runs from 0.03 at the centre to 0.14 at the
    edge. A yardstick in the prior's units and local, the same for every model: a prior-distributed
    cloud covers a share ``quantile`` of any region (:func:`covered_by_codes`), while a cloud spread wider,
    squeezed narrower or broken into clusters with empty lanes between them covers less.
    """
    points = check_codes(points, name="points")
    n_codes = check_int("n_codes", n_codes, minimum=1)
    quantile = check_real("quantile", quantile, minimum=0.0, maximum=1.0, inclusive_minimum=False)
    if quantile >= 1.0:
        raise ValueError(f"quantile must be < 1 (every code would be needed everywhere), got {quantile!r}")
    d = points.shape[1]
    log_density = -0.5 * np.sum(points**2, axis=1) - 0.5 * d * math.log(2 * math.pi)
    log_ball = 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1)
    return np.exp((math.log(-math.log1p(-quantile)) - math.log(n_codes) - log_density - log_ball) / d)


def nearest_code_label_mismatch(points, codes, labels) -> float:
    """Total variation distance between the labels of the codes nearest to ``points`` and all ``labels``.

    Each point (e.g. a prior draw) borrows the digit label of its nearest code; the result is
    0.5 * sum_k |p_points(k) - p_codes(k)| over the digits k, in [0, 1]. It is near 0 when the points
    fall on the codes of every digit in proportion (a decoder fed the points would make digits in
    the data's proportions), and near 1 when they hit only digits that are rare in the data.
    """
    codes = check_codes(codes, name="codes")
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer) or labels.shape != (len(codes),) or labels.min() < 0:
        raise ValueError(f"labels must be non-negative integers, one per code ({len(codes)}), got shape {labels.shape}")
    points = check_codes(points, name="points", dim=codes.shape[1])
    _, nearest = spatial.cKDTree(codes).query(points, k=1)
    n_classes = int(labels.max()) + 1
    p_points = np.bincount(labels[nearest], minlength=n_classes) / len(points)
    p_codes = np.bincount(labels, minlength=n_classes) / len(labels)
    return float(0.5 * np.abs(p_points - p_codes).sum())


def decoding_spread(decodings) -> dict[str, float]:
    """How much N decodings (N, p) of the same input differ, pixel by pixel.

    Returns the mean over pixels of the per-pixel standard deviation across the N decodings
    (``ddof=1``), its maximum over pixels, and the largest per-pixel range (max - min over the N
    decodings). With pixels in [0, 1] all three are fractions of the pixel range.
    """
    x = check_codes(decodings, name="decodings", min_rows=2)
    std = x.std(axis=0, ddof=1)
    return {"mean_pixel_std": float(std.mean()), "max_pixel_std": float(std.max()),
            "max_pixel_range": float(np.max(x.max(axis=0) - x.min(axis=0)))}


def gaussian_density_grid(mu, log_var, z1, z2) -> np.ndarray:
    """Density of N(mu, diag(exp(log_var))) in 2-D on the grid ``z1`` x ``z2`` (the q(z|x) of eq. 2).

    Parameters
    ----------
    mu, log_var : length-2 mean and log-variance of one encoded image
    z1, z2 : 1-D increasing grids; the result has shape (len(z2), len(z1)) (rows follow z2, for imshow)
    """
    mu = np.asarray(mu, dtype=np.float64).reshape(-1)
    log_var = np.asarray(log_var, dtype=np.float64).reshape(-1)
    if mu.shape != (2,) or log_var.shape != (2,):
        raise ValueError(f"mu and log_var must each hold 2 values (a 2-D latent space); got {mu.shape}, {log_var.shape}")
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(log_var))):
        raise ValueError("mu and log_var must be finite")
    grids = []
    for name, grid in (("z1", z1), ("z2", z2)):
        grid = np.asarray(grid, dtype=np.float64)
        if grid.ndim != 1 or len(grid) < 2 or not np.all(np.isfinite(grid)) or np.any(np.diff(grid) <= 0):
            raise ValueError(f"{name} must be a 1-D strictly increasing finite grid of at least 2 points")
        grids.append(grid)
    var = np.exp(log_var)
    g1 = np.exp(-0.5 * (grids[0] - mu[0]) ** 2 / var[0]) / math.sqrt(2 * math.pi * var[0])
    g2 = np.exp(-0.5 * (grids[1] - mu[1]) ** 2 / var[1]) / math.sqrt(2 * math.pi * var[1])
    return np.outer(g2, g1)


def code_space_measures(z, z_prior, labels, *, level: float = 0.95, quantile: float = 0.99) -> dict:
    """All the measures above for one cloud of codes ``z`` (n, d) with labels, against prior draws ``z_prior``.

    Returns a dict: ``mean`` (d,) and ``cov`` (d, d) (:func:`code_moments`), ``D`` (nats,
    :func:`moment_matched_kl`), ``in95`` (:func:`fraction_in_prior_region` at ``level``),
    ``spacing`` (:func:`typical_spacing` at ``quantile``), ``far`` (fraction of ``z_prior`` farther
    than ``spacing`` from every code) and ``tv`` (:func:`nearest_code_label_mismatch`).
    """
    mean, cov = code_moments(z)
    spacing = typical_spacing(z, quantile)
    return {"mean": mean, "cov": cov, "D": moment_matched_kl(mean, cov), "in95": fraction_in_prior_region(z, level),
            "spacing": spacing, "far": fraction_far_from_codes(z_prior, z, spacing),
            "tv": nearest_code_label_mismatch(z_prior, z, labels)}


def check_extent(extent) -> tuple[tuple[float, float], tuple[float, float]]:
    """A rectangle of the 2-D latent plane, ``((z1_low, z1_high), (z2_low, z2_high))``, from one of three forms.

    ``k`` (a number > 0) means ``[-k, k]`` on both axes; ``(low, high)`` that interval on both axes; a pair of
    such pairs one interval per axis. Each interval must be finite with ``low < high``.
    """
    if isinstance(extent, bool):
        raise TypeError(f"extent must be a number, a (low, high) pair or one such pair per axis, got {extent!r}")
    if isinstance(extent, (int, float, np.integer, np.floating)):
        k = check_real("extent", extent, minimum=0.0, inclusive_minimum=False)
        return (-k, k), (-k, k)
    try:
        array = np.asarray(extent, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"extent must be a number, a (low, high) pair or one such pair per axis, got {extent!r}") from None
    if array.shape == (2,):
        array = np.stack([array, array])
    if array.shape != (2, 2):
        raise ValueError(f"extent must be a number, a (low, high) pair or one such pair per axis, got {extent!r} "
                         f"(shape {array.shape})")
    if not np.all(np.isfinite(array)) or np.any(array[:, 0] >= array[:, 1]):
        raise ValueError(f"extent must hold finite intervals with low < high on each axis, got {array.tolist()}")
    return tuple((float(low), float(high)) for low, high in array)


def _check_percentiles(low, high) -> tuple[float, float]:
    low = check_real("low", low, minimum=0.0, maximum=100.0)
    high = check_real("high", high, minimum=0.0, maximum=100.0)
    if low >= high:
        raise ValueError(f"low must be below high (percentiles), got low={low!r}, high={high!r}")
    return low, high


def prior_extent(low: float = 1.0, high: float = 99.0) -> tuple[tuple[float, float], tuple[float, float]]:
    """The ``low``-th to ``high``-th percentile of the prior N(0, 1) on each axis (1-99: about ±2.33)."""
    low, high = _check_percentiles(low, high)
    if low == 0.0 or high == 100.0:
        raise ValueError(f"low and high must lie strictly between 0 and 100 (the prior is unbounded), got {low!r}, {high!r}")
    interval = tuple(float(q) for q in stats.norm.ppf([low / 100.0, high / 100.0]))
    return interval, interval


def percentile_extent(codes, low: float = 1.0, high: float = 99.0) -> tuple[tuple[float, float], tuple[float, float]]:
    """The ``low``-th to ``high``-th percentile of ``codes`` (n, 2) along each axis: where most codes lie.

    For a model whose codes are not on the prior's scale (an autoencoder, a VAE with beta = 0), the part
    of its latent plane its decoder was trained on.
    """
    codes = check_codes(codes, name="codes", dim=2, min_rows=2)
    low, high = _check_percentiles(low, high)
    bounds = np.percentile(codes, [low, high], axis=0)
    return check_extent(bounds.T)


def latent_grid(extent, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A regular ``n`` x ``n`` grid of latent points over ``extent`` (see :func:`check_extent`), ends included.

    Returns ``z1`` (n,) increasing, ``z2`` (n,) decreasing and the points (n * n, 2) row by row: row ``i``
    holds ``(z1[j], z2[i])`` for ``j`` = 0 .. n-1, so the first row is the top of the plane (largest z2), as
    an image is read.
    """
    (a1, b1), (a2, b2) = check_extent(extent)
    n = check_int("n", n, minimum=2)
    z1, z2 = np.linspace(a1, b1, n), np.linspace(b2, a2, n)
    points = np.stack(np.meshgrid(z1, z2), axis=-1).reshape(n * n, 2)
    return z1, z2, points
