"""Test functions f(z) with closed-form Gaussian expectations, and the estimators' argument checks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from vaelib._runtime.validation import check_real_vector, check_choice, check_real

METHODS = ("score", "reparameterization", "naive")
PARAMETERIZATIONS = ("log_sigma", "sigma")
LOG_2PI = math.log(2.0 * math.pi)
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
# Validation helpers (array versions of vaelib._runtime.validation' scalar checks, same message style)
# --------------------------------------------------------------------------------------------
def _check_vector(name: str, value, *, positive: bool = False) -> np.ndarray:
    """A finite float64 vector of shape (D,) (scalars promoted); ``positive`` requires every entry > 0."""
    return check_real_vector(name, value, positive=positive, scalar_ok=True, positive_because=" everywhere")


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
        raise TypeError(f"test must be a vaelib.maths.estimators.TestFunction, got {type(test).__name__}")
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
