"""Exact gradients of E_q[f(z)], per-sample contributions of the three estimators, and L-sample estimates (eqs. 5, 7, 9)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from vaelib._runtime.validation import check_choice, check_int, check_rng
from vaelib.maths.estimators.integrands import (
    LOG_2PI, METHODS, PARAMETERIZATIONS, TestFunction, _check_baseline, _check_eps, _check_gaussian,
    _check_test_function, gaussian_entropy,
)


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
