"""Monte Carlo estimators of the gradient of E_q[f(z)] for a diagonal Gaussian q (report §2.2-2.4).

The quantity is ``grad_phi E_{q_phi}[f(z)]`` with ``q_phi = N(mu, diag(sigma^2))``. Two unbiased
estimators are implemented, each from ``L`` draws ``eps ~ N(0, I)`` and ``z = mu + sigma * eps``:

* the **score-function** (REINFORCE, likelihood-ratio) estimator of the report's unnumbered display
  in §2.2, ``f(z) grad_phi log q_phi(z)``, with an optional constant or leave-one-out baseline;
* the **reparameterization** (pathwise) estimator of eq. (7), ``grad_phi f(mu + sigma * eps)``.

A third, ``"naive"``, is the *wrong* interchange of gradient and expectation behind eq. (5): it
differentiates the integrand with ``z`` held fixed and drops the score term, so it is biased.

Parameterization
----------------
``phi = (mu, log sigma)`` by default (``parameterization="log_sigma"``): it is unconstrained, like
the ``log_var`` a VAE encoder outputs (``log sigma = log_var / 2``). ``parameterization="sigma"``
gives gradients with respect to ``(mu, sigma)`` instead; the two differ only in the second
component, by the chain rule ``d/d log sigma = sigma d/d sigma``.

Shapes
------
``mu`` and ``sigma`` are vectors of shape ``(D,)`` (scalars are promoted to ``(1,)``). A gradient is
an array of shape ``(2, D)``: row 0 is the ``mu`` part, row 1 the ``log sigma`` (or ``sigma``) part.
Per-sample contributions have shape ``(..., L, 2, D)``. Everything is NumPy float64.

ELBO integrands
---------------
With ``elbo=True`` the integrand is ``f(z) - log q_phi(z)``, which itself depends on ``phi``: with
``f = log p(x, z)`` (see :func:`gaussian_log_joint`) this is the ELBO of eq. (8), and the three
estimators are those of eqs. (5) and (9).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from vaelib.checks import check_choice, check_int, check_int_sequence, check_real, check_rng

__all__ = [
    "METHODS",
    "PARAMETERIZATIONS",
    "TestFunction",
    "GradientEstimate",
    "VarianceEstimate",
    "VarianceCurve",
    "square_function",
    "sine_function",
    "exp_function",
    "quartic_function",
    "get_test_function",
    "gaussian_log_joint",
    "gaussian_entropy",
    "exact_expectation",
    "exact_gradient",
    "score_function_terms",
    "reparameterization_terms",
    "naive_terms",
    "gradient_terms",
    "estimate_gradient",
    "score_function_gradient",
    "reparameterization_gradient",
    "single_sample_moments",
    "single_sample_variance",
    "variance_standard_error",
    "estimator_variance",
    "variance_vs_samples",
    "variance_vs_sigma",
    "fit_loglog_slope",
]

METHODS = ("score", "reparameterization", "naive")
PARAMETERIZATIONS = ("log_sigma", "sigma")
LOG_2PI = math.log(2.0 * math.pi)
# Draws of eps processed at once by the replicate helpers (bounds memory at ~8 MB per array).
_CHUNK_ELEMENTS = 1 << 20


# --------------------------------------------------------------------------------------------
# Test functions with closed-form Gaussian expectations
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TestFunction:
    """A scalar function of ``z`` (summed over the last axis), its gradient and, where known, its
    expectation under ``N(mu, diag(sigma^2))`` and that expectation's gradient.

    Attributes
    ----------
    name, label : str
        Identifier and a LaTeX label for plots.
    f : callable
        ``z`` of shape ``(..., D)`` -> values of shape ``(...)``.
    grad_f : callable
        ``z`` of shape ``(..., D)`` -> gradient of shape ``(..., D)``.
    expectation : callable or None
        ``(mu, sigma)`` -> ``E_q[f(z)]`` (float).
    expectation_grad : callable or None
        ``(mu, sigma)`` -> gradient of the expectation with respect to ``(mu, sigma)``, shape ``(2, D)``.
    """

    __test__ = False  # not a pytest test class despite its name

    name: str
    f: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    grad_f: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    expectation: Callable[[np.ndarray, np.ndarray], float] | None = field(default=None, repr=False)
    expectation_grad: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    label: str = ""


def square_function() -> TestFunction:
    """``f(z) = sum_j z_j^2``; ``E_q f = sum(mu^2 + sigma^2)``, gradient ``(2 mu, 2 sigma)``."""
    return TestFunction(
        name="square",
        label=r"$f(z)=z^2$",
        f=lambda z: np.sum(z**2, axis=-1),
        grad_f=lambda z: 2.0 * z,
        expectation=lambda mu, s: float(np.sum(mu**2 + s**2)),
        expectation_grad=lambda mu, s: np.stack([2.0 * mu, 2.0 * s]),
    )


def sine_function() -> TestFunction:
    """``f(z) = sum_j sin z_j``; ``E_q f = sum sin(mu) exp(-sigma^2/2)``."""

    def expectation_grad(mu, s):
        damp = np.exp(-0.5 * s**2)
        return np.stack([np.cos(mu) * damp, -s * np.sin(mu) * damp])

    return TestFunction(
        name="sine",
        label=r"$f(z)=\sin z$",
        f=lambda z: np.sum(np.sin(z), axis=-1),
        grad_f=np.cos,
        expectation=lambda mu, s: float(np.sum(np.sin(mu) * np.exp(-0.5 * s**2))),
        expectation_grad=expectation_grad,
    )


def exp_function(a: float = 1.0) -> TestFunction:
    """``f(z) = sum_j exp(a z_j)``; ``E_q f = sum exp(a mu + a^2 sigma^2 / 2)`` (log-normal mean)."""
    a = check_real("a", a)

    def expectation_grad(mu, s):
        mean = np.exp(a * mu + 0.5 * a**2 * s**2)
        return np.stack([a * mean, a**2 * s * mean])

    return TestFunction(
        name="exp",
        label=r"$f(z)=e^{z}$" if a == 1.0 else rf"$f(z)=e^{{{a:g}z}}$",
        f=lambda z: np.sum(np.exp(a * z), axis=-1),
        grad_f=lambda z: a * np.exp(a * z),
        expectation=lambda mu, s: float(np.sum(np.exp(a * mu + 0.5 * a**2 * s**2))),
        expectation_grad=expectation_grad,
    )


def quartic_function() -> TestFunction:
    """``f(z) = sum_j z_j^4``; ``E_q f = sum(mu^4 + 6 mu^2 sigma^2 + 3 sigma^4)``."""
    return TestFunction(
        name="quartic",
        label=r"$f(z)=z^4$",
        f=lambda z: np.sum(z**4, axis=-1),
        grad_f=lambda z: 4.0 * z**3,
        expectation=lambda mu, s: float(np.sum(mu**4 + 6 * mu**2 * s**2 + 3 * s**4)),
        expectation_grad=lambda mu, s: np.stack([4 * mu**3 + 12 * mu * s**2, 12 * mu**2 * s + 12 * s**3]),
    )


_FACTORIES = {"square": square_function, "sine": sine_function, "exp": exp_function, "quartic": quartic_function}


def get_test_function(name: str, **kwargs) -> TestFunction:
    """The test function called ``name`` (``"square"``, ``"sine"``, ``"exp"``, ``"quartic"``)."""
    check_choice("name", name, _FACTORIES)
    return _FACTORIES[name](**kwargs)


def gaussian_log_joint(x, noise_scale: float = 1.0) -> TestFunction:
    """``log p(x, z)`` of the linear-Gaussian model ``z ~ N(0, I)``, ``x | z ~ N(z, s^2 I)``, as a function of ``z``.

    Used with ``elbo=True`` it gives the ELBO of eq. (8) in closed form: the exact posterior is
    ``N(x / (1 + s^2), s^2 / (1 + s^2))`` and ``E_q log p(x, z)`` is quadratic in ``(mu, sigma)``.
    """
    x = _check_vector("x", x)
    s = check_real("noise_scale", noise_scale, minimum=0.0, inclusive_minimum=False)
    const = -LOG_2PI - math.log(s)  # per dimension: log N(z; 0, 1) + log N(x; z, s^2) constants

    def f(z):
        return np.sum(const - 0.5 * z**2 - 0.5 * (x - z) ** 2 / s**2, axis=-1)

    def grad_f(z):
        return -z + (x - z) / s**2

    def expectation(mu, sig):
        _same_dimension(x, mu)
        return float(np.sum(const - 0.5 * (mu**2 + sig**2) - 0.5 * ((x - mu) ** 2 + sig**2) / s**2))

    def expectation_grad(mu, sig):
        _same_dimension(x, mu)
        return np.stack([-mu + (x - mu) / s**2, -sig - sig / s**2])

    return TestFunction(name="log_joint", label=r"$\log p(x,z)$", f=f, grad_f=grad_f,
                        expectation=expectation, expectation_grad=expectation_grad)


def gaussian_entropy(sigma) -> float:
    """Entropy ``-E_q log q = sum_j (log(2 pi e) / 2 + log sigma_j)`` of ``N(mu, diag(sigma^2))``."""
    sigma = _check_vector("sigma", sigma, positive=True)
    return float(np.sum(0.5 * (LOG_2PI + 1.0) + np.log(sigma)))


# --------------------------------------------------------------------------------------------
# Validation helpers (array versions of vaelib.checks' scalar checks, same message style)
# --------------------------------------------------------------------------------------------
def _check_vector(name: str, value, *, positive: bool = False) -> np.ndarray:
    """A finite float64 vector of shape (D,) (scalars promoted); ``positive`` requires every entry > 0."""
    if isinstance(value, (str, bytes, bool)):
        raise TypeError(f"{name} must be a real number or array of reals, got {value!r}")
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"{name} must be a real number or array of reals, got dtype {array.dtype}")
    array = np.atleast_1d(array.astype(np.float64))
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a scalar or a non-empty vector of shape (D,), got shape {np.shape(value)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array!r}")
    if positive and np.any(array <= 0):
        raise ValueError(f"{name} must be > 0 everywhere, got {array!r}")
    return array


def _check_gaussian(mu, sigma) -> tuple[np.ndarray, np.ndarray]:
    mu = _check_vector("mu", mu)
    sigma = _check_vector("sigma", sigma, positive=True)
    if mu.shape != sigma.shape:
        if sigma.size == 1:
            sigma = np.full_like(mu, sigma[0])
        elif mu.size == 1:
            mu = np.full_like(sigma, mu[0])
        else:
            raise ValueError(f"mu and sigma must have the same shape, got {mu.shape} and {sigma.shape}")
    return mu, sigma


def _same_dimension(x, mu) -> None:
    if np.shape(x) != np.shape(mu):
        raise ValueError(f"mu must have the shape of x, {np.shape(x)}, got {np.shape(mu)}")


def _check_test_function(test) -> TestFunction:
    if not isinstance(test, TestFunction):
        raise TypeError(f"test must be a vaelib.estimators.TestFunction, got {type(test).__name__}")
    return test


def _check_baseline(baseline):
    if baseline is None:
        return None
    if isinstance(baseline, str):
        return check_choice("baseline", baseline, ("loo",))
    return check_real("baseline", baseline)


def _check_eps(eps, dim: int) -> np.ndarray:
    eps = np.asarray(eps, dtype=np.float64)
    if eps.ndim < 2 or eps.shape[-1] != dim:
        raise ValueError(f"eps must have shape (..., L, {dim}) to match mu, got {eps.shape}")
    if not np.all(np.isfinite(eps)):
        raise ValueError("eps must be finite")
    return eps


# --------------------------------------------------------------------------------------------
# Exact values
# --------------------------------------------------------------------------------------------
def exact_expectation(test: TestFunction, mu, sigma, *, elbo: bool = False) -> float:
    """Closed-form ``E_q[f(z)]`` (``elbo=True``: ``E_q[f(z) - log q(z)]``, eq. 8)."""
    test = _check_test_function(test)
    mu, sigma = _check_gaussian(mu, sigma)
    if test.expectation is None:
        raise ValueError(f"test function {test.name!r} has no closed-form expectation")
    return test.expectation(mu, sigma) + (gaussian_entropy(sigma) if elbo else 0.0)


def exact_gradient(test: TestFunction, mu, sigma, *, parameterization: str = "log_sigma",
                   elbo: bool = False) -> np.ndarray:
    """Closed-form ``grad_phi E_q[f(z)]``, shape ``(2, D)`` (rows: mu, log sigma or sigma).

    With ``elbo=True`` the entropy's gradient ``(0, 1/sigma)`` is added (the ``-log q`` of eq. 8).
    """
    test = _check_test_function(test)
    mu, sigma = _check_gaussian(mu, sigma)
    check_choice("parameterization", parameterization, PARAMETERIZATIONS)
    if test.expectation_grad is None:
        raise ValueError(f"test function {test.name!r} has no closed-form expectation gradient")
    grad = np.array(test.expectation_grad(mu, sigma), dtype=np.float64).reshape(2, -1)
    if elbo:
        grad[1] += 1.0 / sigma
    if parameterization == "log_sigma":
        grad[1] *= sigma
    return grad


# --------------------------------------------------------------------------------------------
# Per-sample gradient contributions
# --------------------------------------------------------------------------------------------
def _score(eps, sigma, parameterization):
    """``grad_phi log q_phi(z)`` at ``z = mu + sigma eps``, shape ``(..., 2, D)``."""
    score_mu = eps / sigma
    score_scale = eps**2 - 1.0 if parameterization == "log_sigma" else (eps**2 - 1.0) / sigma
    return np.stack([score_mu, score_scale], axis=-2)


def _integrand(test, mu, sigma, eps, elbo):
    """``f(z)`` (or ``f(z) - log q(z)``) at ``z = mu + sigma eps``, shape ``(...)``."""
    values = test.f(mu + sigma * eps)
    if elbo:  # -log q(z) = sum_j (log(2 pi)/2 + log sigma_j + eps_j^2 / 2)
        values = values + np.sum(0.5 * LOG_2PI + np.log(sigma) + 0.5 * eps**2, axis=-1)
    return values


def score_function_terms(test: TestFunction, mu, sigma, eps, *, parameterization: str = "log_sigma",
                         baseline=None, elbo: bool = False) -> np.ndarray:
    """Per-sample score-function terms ``(f(z) - b) grad_phi log q_phi(z)`` (report §2.2, first display).

    Parameters
    ----------
    test : TestFunction
    mu, sigma : array_like, shape (D,)
    eps : array_like, shape (..., L, D)
        Standard-normal draws; ``z = mu + sigma * eps``.
    parameterization : {"log_sigma", "sigma"}
    baseline : None, float or "loo"
        Constant ``b`` subtracted from ``f`` (unbiased because ``E_q[grad log q] = 0``), or ``"loo"``:
        for each sample, the mean of ``f`` over the *other* ``L - 1`` samples of the same estimate
        (independent of that sample, hence still unbiased; needs ``L >= 2``).
    elbo : bool
        Use the integrand ``f(z) - log q_phi(z)``. The term ``E_q[grad_phi(-log q_phi)]`` that the
        dependence on ``phi`` adds is ``-E_q[score] = 0``, so the estimator stays unbiased.

    Returns
    -------
    ndarray, shape (..., L, 2, D)
    """
    test = _check_test_function(test)
    mu, sigma = _check_gaussian(mu, sigma)
    check_choice("parameterization", parameterization, PARAMETERIZATIONS)
    baseline = _check_baseline(baseline)
    eps = _check_eps(eps, mu.size)
    values = _integrand(test, mu, sigma, eps, elbo)
    if baseline == "loo":
        n = eps.shape[-2]
        if n < 2:
            raise ValueError(f"baseline='loo' needs at least 2 samples per estimate, got L={n}")
        values = values - (values.sum(axis=-1, keepdims=True) - values) / (n - 1)
    elif baseline is not None:
        values = values - baseline
    return values[..., None, None] * _score(eps, sigma, parameterization)


def reparameterization_terms(test: TestFunction, mu, sigma, eps, *, parameterization: str = "log_sigma",
                             elbo: bool = False) -> np.ndarray:
    """Per-sample pathwise terms ``grad_phi f(mu + sigma eps)`` (eq. 7): ``(f'(z), f'(z) eps sigma)``.

    The second row is ``f'(z) eps`` for ``parameterization="sigma"``. With ``elbo=True`` the total
    derivative of ``-log q_phi(mu + sigma eps) = const + log sigma + eps^2/2`` adds ``(0, 1/sigma)``
    (``(0, 1)`` per log sigma): the estimator of eqs. (8)-(9). Returns shape ``(..., L, 2, D)``.
    """
    test = _check_test_function(test)
    mu, sigma = _check_gaussian(mu, sigma)
    check_choice("parameterization", parameterization, PARAMETERIZATIONS)
    eps = _check_eps(eps, mu.size)
    g = test.grad_f(mu + sigma * eps)
    d_scale = g * eps + (1.0 / sigma if elbo else 0.0)  # d/d sigma
    if parameterization == "log_sigma":
        d_scale = d_scale * sigma
    return np.stack([g, d_scale], axis=-2)


def naive_terms(test: TestFunction, mu, sigma, eps, *, parameterization: str = "log_sigma",
                elbo: bool = False) -> np.ndarray:
    """The *wrong* interchange behind eq. (5): ``grad_phi`` of the integrand with ``z`` held fixed.

    For a plain ``f(z)`` this is identically zero. For the ELBO integrand ``f(z) - log q_phi(z)`` it is
    ``-grad_phi log q_phi(z)``, whose expectation is zero: the naive rule would say the ELBO never
    depends on ``phi``. It drops the score term ``E_q[f grad log q]``, so it is biased. Shape ``(..., L, 2, D)``.
    """
    test = _check_test_function(test)
    mu, sigma = _check_gaussian(mu, sigma)
    check_choice("parameterization", parameterization, PARAMETERIZATIONS)
    eps = _check_eps(eps, mu.size)
    score = _score(eps, sigma, parameterization)
    return -score if elbo else np.zeros_like(score)


def gradient_terms(method: str, test: TestFunction, mu, sigma, eps, *, parameterization: str = "log_sigma",
                   baseline=None, elbo: bool = False) -> np.ndarray:
    """Dispatch to :func:`score_function_terms`, :func:`reparameterization_terms` or :func:`naive_terms`."""
    check_choice("method", method, METHODS)
    if baseline is not None and method != "score":
        raise ValueError(f"baseline applies to the score-function estimator only, got method={method!r}")
    if method == "score":
        return score_function_terms(test, mu, sigma, eps, parameterization=parameterization,
                                    baseline=baseline, elbo=elbo)
    if method == "reparameterization":
        return reparameterization_terms(test, mu, sigma, eps, parameterization=parameterization, elbo=elbo)
    return naive_terms(test, mu, sigma, eps, parameterization=parameterization, elbo=elbo)


# --------------------------------------------------------------------------------------------
# L-sample estimates
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GradientEstimate:
    """An ``L``-sample Monte Carlo gradient estimate.

    Attributes
    ----------
    mean : ndarray (2, D)
        The estimate (average of the per-sample terms).
    standard_error : ndarray (2, D)
        ``std(terms, ddof=1) / sqrt(L)`` (for ``baseline="loo"`` the terms are weakly dependent and this
        is an approximation).
    samples : ndarray (L, 2, D)
        The per-sample contributions.
    """

    mean: np.ndarray
    standard_error: np.ndarray
    samples: np.ndarray = field(repr=False)

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[0])


def estimate_gradient(method: str, test: TestFunction, mu, sigma, n_samples: int, rng=None, *,
                      parameterization: str = "log_sigma", baseline=None, elbo: bool = False) -> GradientEstimate:
    """``L = n_samples`` draws of ``eps``, the chosen estimator's terms, their mean and standard error."""
    mu, sigma = _check_gaussian(mu, sigma)
    n_samples = check_int("n_samples", n_samples, minimum=2 if baseline == "loo" else 1)
    rng = check_rng(rng)
    eps = rng.standard_normal((n_samples, mu.size))
    terms = gradient_terms(method, test, mu, sigma, eps, parameterization=parameterization,
                           baseline=baseline, elbo=elbo)
    se = terms.std(axis=0, ddof=1) / math.sqrt(n_samples) if n_samples > 1 else np.full(terms.shape[1:], np.nan)
    return GradientEstimate(mean=terms.mean(axis=0), standard_error=se, samples=terms)


def score_function_gradient(test: TestFunction, mu, sigma, n_samples: int, rng=None, **kwargs) -> GradientEstimate:
    """Score-function (REINFORCE) estimate; see :func:`score_function_terms` for the options."""
    return estimate_gradient("score", test, mu, sigma, n_samples, rng, **kwargs)


def reparameterization_gradient(test: TestFunction, mu, sigma, n_samples: int, rng=None,
                                **kwargs) -> GradientEstimate:
    """Reparameterization (pathwise, eq. 7) estimate; see :func:`reparameterization_terms`."""
    return estimate_gradient("reparameterization", test, mu, sigma, n_samples, rng, **kwargs)


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
