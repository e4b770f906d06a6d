"""The variance of the gradient estimators: exact by quadrature (D = 1) and empirical over independent replicates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vaelib._runtime.validation import check_choice, check_int, check_int_sequence, check_real, check_rng
from vaelib.maths.estimators.gradients import exact_expectation, gradient_terms
from vaelib.maths.estimators.integrands import _CHUNK_ELEMENTS, METHODS, TestFunction, _check_gaussian, _check_vector


# --------------------------------------------------------------------------------------------
# Variance: exact (quadrature, D = 1) and empirical (independent replicates)
# --------------------------------------------------------------------------------------------
def single_sample_moments(method: str, test: TestFunction, mu, sigma, *, parameterization: str = "log_sigma",
                          baseline=None, elbo: bool = False, n_nodes: int = 160) -> tuple[np.ndarray, ...]:
    """Exact mean, variance and fourth central moment of one per-sample term (``L = 1``), by quadrature.

    Each is an array of shape ``(2, 1)``. Only for one-dimensional ``q`` (``D = 1``). ``n_nodes``
    probabilists' Hermite nodes integrate polynomials of degree ``< 2 n_nodes`` exactly; the smooth
    test functions here converge to float precision well before 160 nodes.
    """
    mu, sigma = _check_gaussian(mu, sigma)
    if mu.size != 1:
        raise ValueError(f"single-sample moments need a one-dimensional q (D = 1), got D = {mu.size}")
    if baseline == "loo":
        raise ValueError("baseline='loo' has no single-sample moments (it needs L >= 2)")
    n_nodes = check_int("n_nodes", n_nodes, minimum=2, maximum=400)
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    weights = weights / weights.sum()
    terms = gradient_terms(method, test, mu, sigma, nodes[:, None], parameterization=parameterization,
                           baseline=baseline, elbo=elbo)  # (n_nodes, 2, 1)
    mean = np.tensordot(weights, terms, axes=1)
    centred = terms - mean
    variance = np.tensordot(weights, centred**2, axes=1)
    fourth = np.tensordot(weights, centred**4, axes=1)
    return mean, variance, fourth


def single_sample_variance(method: str, test: TestFunction, mu, sigma, **kwargs) -> np.ndarray:
    """Exact variance of one per-sample term (``L = 1``), shape ``(2, 1)``; see :func:`single_sample_moments`.

    The variance of an ``L``-sample mean is this divided by ``L``.
    """
    return single_sample_moments(method, test, mu, sigma, **kwargs)[1]


def variance_standard_error(variance, fourth_moment, n_samples: int, n_replicates: int) -> np.ndarray:
    """Exact standard error of the sample variance (``ddof=1``) of ``R`` independent ``L``-sample means.

    From the single-term central moments ``m2 = variance`` and ``m4 = fourth_moment``: an ``L``-sample
    mean has ``m2_L = m2 / L`` and ``m4_L = (m4 + 3 (L - 1) m2^2) / L^3``, and the sample variance of
    ``R`` of them has variance ``(m4_L - m2_L^2 (R - 3) / (R - 1)) / R``. Unlike the plug-in standard
    error of :class:`VarianceEstimate`, this one is not underestimated for heavy-tailed estimators.
    """
    n_samples = check_int("n_samples", n_samples)
    n_replicates = check_int("n_replicates", n_replicates, minimum=4)
    m2, m4 = np.asarray(variance, dtype=np.float64), np.asarray(fourth_moment, dtype=np.float64)
    m2_l = m2 / n_samples
    m4_l = (m4 + 3.0 * (n_samples - 1) * m2**2) / n_samples**3
    R = n_replicates
    return np.sqrt(np.maximum(m4_l - m2_l**2 * (R - 3) / (R - 1), 0.0) / R)


@dataclass(frozen=True)
class VarianceEstimate:
    """Spread of ``n_replicates`` independent ``L``-sample estimates (each of shape ``(2, D)``).

    ``variance`` uses ``ddof=1``; ``variance_se`` is its standard error from the fourth central moment,
    ``sqrt((m4 - s^4 (R - 3) / (R - 1)) / R)``; ``mean`` and ``mean_se`` summarise the replicate
    estimates (``mean`` is then an ``R L``-sample estimate).
    """

    method: str
    n_samples: int
    n_replicates: int
    sigma: np.ndarray
    variance: np.ndarray
    variance_se: np.ndarray
    mean: np.ndarray
    mean_se: np.ndarray


def estimator_variance(method: str, test: TestFunction, mu, sigma, n_samples: int, n_replicates: int, rng=None, *,
                       parameterization: str = "log_sigma", baseline=None, elbo: bool = False) -> VarianceEstimate:
    """Empirical variance of the ``L``-sample estimator from ``n_replicates`` independent estimates.

    Vectorised: ``eps`` of shape ``(R, L, D)`` is drawn in chunks of about a million numbers.
    """
    check_choice("method", method, METHODS)
    mu, sigma = _check_gaussian(mu, sigma)
    n_samples = check_int("n_samples", n_samples, minimum=2 if baseline == "loo" else 1)
    n_replicates = check_int("n_replicates", n_replicates, minimum=4)
    rng = check_rng(rng)
    per_chunk = max(1, _CHUNK_ELEMENTS // (n_samples * mu.size))
    estimates = []
    for start in range(0, n_replicates, per_chunk):
        r = min(per_chunk, n_replicates - start)
        eps = rng.standard_normal((r, n_samples, mu.size))
        terms = gradient_terms(method, test, mu, sigma, eps, parameterization=parameterization,
                               baseline=baseline, elbo=elbo)
        estimates.append(terms.mean(axis=1))
    estimates = np.concatenate(estimates)  # (R, 2, D)
    R = n_replicates
    mean = estimates.mean(axis=0)
    centred = estimates - mean
    variance = centred.var(axis=0, ddof=1)
    m4 = np.mean(centred**4, axis=0)
    variance_se = np.sqrt(np.maximum(m4 - variance**2 * (R - 3) / (R - 1), 0.0) / R)
    return VarianceEstimate(method=method, n_samples=n_samples, n_replicates=R, sigma=sigma, variance=variance,
                            variance_se=variance_se, mean=mean, mean_se=np.sqrt(variance / R))


@dataclass(frozen=True)
class VarianceCurve:
    """Empirical variance of one estimator over a grid (of ``L`` or of ``sigma``).

    ``grid_name`` is ``"n_samples"`` or ``"sigma"``; ``variance``, ``variance_se``, ``mean``, ``mean_se``
    have shape ``(len(grid), 2, D)``. When ``D = 1`` and there is no ``"loo"`` baseline,
    ``exact_variance`` is the quadrature variance of the ``L``-sample estimator
    (:func:`single_sample_moments`) and ``exact_variance_se`` the exact standard error of its
    replicate estimate (:func:`variance_standard_error`), and ``exact_kurtosis`` the single term's
    ``m4 / m2^2`` (a large value warns that the replicate variance is itself heavy-tailed, so a
    normal-theory tolerance on it is unreliable); otherwise all three are None.
    """

    method: str
    test_name: str
    test_label: str
    grid_name: str
    grid: np.ndarray
    variance: np.ndarray
    variance_se: np.ndarray
    mean: np.ndarray
    mean_se: np.ndarray
    exact_variance: np.ndarray | None
    exact_variance_se: np.ndarray | None
    exact_kurtosis: np.ndarray | None
    parameterization: str
    baseline: object = None


def _curve(method, test, grid_name, grid, results, exact, exact_se, kurtosis, parameterization,
           baseline) -> VarianceCurve:
    return VarianceCurve(
        method=method, test_name=test.name, test_label=test.label or test.name, grid_name=grid_name,
        grid=np.asarray(grid, dtype=np.float64),
        variance=np.stack([r.variance for r in results]), variance_se=np.stack([r.variance_se for r in results]),
        mean=np.stack([r.mean for r in results]), mean_se=np.stack([r.mean_se for r in results]),
        exact_variance=None if exact is None else np.stack(exact),
        exact_variance_se=None if exact_se is None else np.stack(exact_se),
        exact_kurtosis=None if kurtosis is None else np.stack(kurtosis), parameterization=parameterization,
        baseline=baseline,
    )


def _kurtosis(m2, m4) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(m2 > 0, m4 / np.where(m2 > 0, m2, 1.0) ** 2, np.nan)


def _exact_available(mu, baseline) -> bool:
    return np.size(mu) == 1 and baseline != "loo"


def variance_vs_samples(method: str, test: TestFunction, mu, sigma, sample_sizes, n_replicates: int, rng=None, *,
                        parameterization: str = "log_sigma", baseline=None, elbo: bool = False) -> VarianceCurve:
    """:func:`estimator_variance` for each ``L`` in ``sample_sizes`` (expected to fall as ``1/L``)."""
    sizes = check_int_sequence("sample_sizes", sample_sizes, minimum=2 if baseline == "loo" else 1)
    rng = check_rng(rng)
    results = [estimator_variance(method, test, mu, sigma, n, n_replicates, rng, parameterization=parameterization,
                                  baseline=baseline, elbo=elbo) for n in sizes]
    exact = exact_se = kurtosis = None
    if _exact_available(_check_vector("mu", mu), baseline):
        _, m2, m4 = single_sample_moments(method, test, mu, sigma, parameterization=parameterization,
                                          baseline=baseline, elbo=elbo)
        exact = [m2 / n for n in sizes]
        exact_se = [variance_standard_error(m2, m4, n, n_replicates) for n in sizes]
        kurtosis = [_kurtosis(m2, m4)] * len(sizes)
    return _curve(method, test, "n_samples", sizes, results, exact, exact_se, kurtosis, parameterization, baseline)


def variance_vs_sigma(method: str, test: TestFunction, mu, sigmas, n_samples: int, n_replicates: int, rng=None, *,
                      parameterization: str = "log_sigma", baseline=None, elbo: bool = False) -> VarianceCurve:
    """:func:`estimator_variance` for each scalar ``sigma`` in ``sigmas`` (shared by all dimensions of ``q``).

    ``baseline="exact"`` uses, at each ``sigma``, the constant ``b = E_q[f]`` from the closed form.
    """
    if isinstance(sigmas, (str, bytes)) or np.ndim(sigmas) != 1 or len(sigmas) == 0:
        raise TypeError(f"sigmas must be a non-empty sequence of positive reals, got {sigmas!r}")
    grid = np.array([check_real("sigmas entry", s, minimum=0.0, inclusive_minimum=False) for s in sigmas])
    rng = check_rng(rng)
    mu = _check_vector("mu", mu)
    results, exact, exact_se, kurtosis = [], [], [], []
    for s in grid:
        b = exact_expectation(test, mu, s, elbo=elbo) if baseline == "exact" else baseline
        results.append(estimator_variance(method, test, mu, s, n_samples, n_replicates, rng,
                                          parameterization=parameterization, baseline=b, elbo=elbo))
        if _exact_available(mu, b):
            _, m2, m4 = single_sample_moments(method, test, mu, s, parameterization=parameterization, baseline=b,
                                              elbo=elbo)
            exact.append(m2 / n_samples)
            exact_se.append(variance_standard_error(m2, m4, n_samples, n_replicates))
            kurtosis.append(_kurtosis(m2, m4))
    have_exact = len(exact) == len(grid)
    return _curve(method, test, "sigma", grid, results, exact if have_exact else None,
                  exact_se if have_exact else None, kurtosis if have_exact else None, parameterization, baseline)


def fit_loglog_slope(x, y, y_se) -> tuple[float, float]:
    """Weighted least-squares slope of ``log y`` on ``log x`` and its standard error.

    Each ``log y_i`` has standard error ``y_se_i / y_i`` (delta method), used as its weight; the slope's
    standard error is ``1 / sqrt(sum w_i (log x_i - mean)^2)``. Used to test ``Var ~ L^-1`` and
    ``Var ~ sigma^-2`` against the Monte Carlo noise of the variance estimates themselves.
    """
    x = _check_vector("x", x, positive=True)
    y = _check_vector("y", y, positive=True)
    y_se = _check_vector("y_se", y_se, positive=True)
    if not (x.shape == y.shape == y_se.shape) or x.size < 2:
        raise ValueError(f"x, y and y_se must have the same shape with at least 2 points, got "
                         f"{x.shape}, {y.shape}, {y_se.shape}")
    lx, ly = np.log(x), np.log(y)
    w = (y / y_se) ** 2
    lx_bar = np.sum(w * lx) / np.sum(w)
    sxx = np.sum(w * (lx - lx_bar) ** 2)
    slope = np.sum(w * (lx - lx_bar) * ly) / sxx
    return float(slope), float(1.0 / np.sqrt(sxx))
