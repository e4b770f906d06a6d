"""A tractable latent-variable model: everything the ELBO chapters need in closed form.

The model is linear-Gaussian (probabilistic PCA / factor analysis with isotropic noise)::

    p(z)   = N(0, I_k)
    p(x|z) = N(W z + b, s^2 I_d)

The joint p(x, z) is Gaussian, so the evidence p(x) = N(b, W W^T + s^2 I) and the posterior
p(z|x) are Gaussian too. In a real VAE the decoder mean is a neural network and neither has a
closed form (report section 2.1); here both do, so every identity of section 2.2 (eqs. 1-3) and
the beta-objective of section 2.7 (eq. 12) can be checked to float precision.

The variational distribution is always a Gaussian q = N(mean, cov), where ``cov`` is either a
1-D array of variances (a diagonal q, as a VAE encoder outputs) or a full ``(k, k)`` covariance.
All functions are pure NumPy float64; "closed form" functions are exact, the ``*_monte_carlo``
functions return an estimate together with its standard error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import linalg, optimize

from vaelib.checks import check_beta, check_choice, check_int, check_real, check_seed

LOG_2PI = math.log(2.0 * math.pi)

__all__ = [
    "LinearGaussianModel",
    "MonteCarloEstimate",
    "ELBODecomposition",
    "NumericalFit",
    "mvn_log_density",
    "gaussian_entropy",
    "kl_gaussians",
    "kl_to_prior",
    "expected_log_likelihood",
    "elbo",
    "kl_to_posterior",
    "elbo_monte_carlo",
    "beta_objective",
    "beta_objective_monte_carlo",
    "beta_optimal_q",
    "beta_optimal_value",
    "fit_q_numerically",
    "dataset_elbo",
    "elbo_decomposition",
    "elbo_slice",
]


# ----------------------------------------------------------------------------------------------
# validation helpers (private; the messages follow vaelib.checks: name, value, what is accepted)
# ----------------------------------------------------------------------------------------------
def _as_float_array(name: str, value) -> np.ndarray:
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {value!r}")
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged nested lists and the like
        raise TypeError(f"{name} must be a numeric array, got {value!r}") from error
    if array.dtype == object or array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    if np.iscomplexobj(array):
        raise TypeError(f"{name} must be real, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values: {array!r}")
    return array


def _check_vector(name: str, value, size: int) -> np.ndarray:
    array = _as_float_array(name, value)
    if array.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got shape {array.shape}")
    return array


def _check_rows(name: str, value, size: int) -> np.ndarray:
    """A point of shape (size,) or a batch of shape (n, size); returned as given."""
    array = _as_float_array(name, value)
    if array.ndim not in (1, 2) or array.shape[-1] != size or (array.ndim == 2 and len(array) == 0):
        raise ValueError(f"{name} must have shape ({size},) or (n, {size}) with n >= 1, got shape {array.shape}")
    return array


def _check_cov(name: str, value, size: int, *, allow_singular: bool = False) -> np.ndarray:
    """Variances (size,) or a covariance (size, size); returned as a full symmetric matrix."""
    array = _as_float_array(name, value)
    if array.shape == (size,):
        bad = array < 0 if allow_singular else array <= 0
        if np.any(bad):
            bound = ">= 0" if allow_singular else "> 0"
            raise ValueError(f"{name} holds variances, which must be {bound}; got {array!r}")
        return np.diag(array)
    if array.shape != (size, size):
        raise ValueError(
            f"{name} must be a vector of {size} variances (diagonal q) or a ({size}, {size}) covariance "
            f"matrix, got shape {array.shape}"
        )
    scale = max(1.0, float(np.max(np.abs(array))))
    if not np.allclose(array, array.T, rtol=0.0, atol=1e-10 * scale):
        raise ValueError(f"{name} must be a symmetric matrix, got {array!r}")
    array = 0.5 * (array + array.T)
    smallest = float(np.linalg.eigvalsh(array)[0])
    if allow_singular:
        if smallest < -1e-12 * scale:
            raise ValueError(f"{name} must be positive semi-definite, got smallest eigenvalue {smallest:.3g}")
    else:
        try:
            np.linalg.cholesky(array)
        except np.linalg.LinAlgError:
            smallest = min(smallest, 0.0)
        if smallest <= 0:
            raise ValueError(f"{name} must be positive definite, got smallest eigenvalue {smallest:.3g}")
    return array


def _check_seed(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(seed))


def _logdet_pd(matrix: np.ndarray) -> float:
    return 2.0 * float(np.sum(np.log(np.diag(np.linalg.cholesky(matrix)))))


# ----------------------------------------------------------------------------------------------
# the model
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LinearGaussianModel:
    """p(z) = N(0, I_k), p(x|z) = N(W z + b, s^2 I_d): a decoder whose posterior is tractable.

    Parameters
    ----------
    weights : array, shape (d, k)
        The decoder matrix W.
    bias : array, shape (d,)
        The decoder offset b.
    noise_std : float > 0
        The observation noise standard deviation s.
    """

    weights: np.ndarray
    bias: np.ndarray
    noise_std: float

    def __post_init__(self):
        weights = _as_float_array("weights", self.weights)
        if weights.ndim != 2 or 0 in weights.shape:
            raise ValueError(f"weights must be a non-empty 2-D array of shape (data_dim, latent_dim), got shape {weights.shape}")
        bias = _check_vector("bias", self.bias, weights.shape[0])
        noise_std = check_real("noise_std", self.noise_std, minimum=0.0, inclusive_minimum=False)
        weights = weights.copy()
        weights.setflags(write=False)
        bias = bias.copy()
        bias.setflags(write=False)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "bias", bias)
        object.__setattr__(self, "noise_std", noise_std)

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def random(cls, latent_dim: int = 2, data_dim: int = 3, noise_std: float = 0.5, seed=0) -> "LinearGaussianModel":
        """A model with W and b drawn i.i.d. N(0, 1) from ``seed`` (an int >= 0 or a Generator)."""
        latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        data_dim = check_int("data_dim", data_dim, minimum=1)
        noise_std = check_real("noise_std", noise_std, minimum=0.0, inclusive_minimum=False)
        rng = _check_seed(seed)
        weights = rng.standard_normal((data_dim, latent_dim))
        bias = rng.standard_normal(data_dim)
        return cls(weights, bias, noise_std)

    @property
    def latent_dim(self) -> int:
        return self.weights.shape[1]

    @property
    def data_dim(self) -> int:
        return self.weights.shape[0]

    @property
    def noise_var(self) -> float:
        return self.noise_std**2

    def sample(self, n: int, seed=0) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` pairs from the generative process of section 2.1: z ~ p(z), then x ~ p(x|z).

        Returns ``(z, x)`` with shapes ``(n, k)`` and ``(n, d)``.
        """
        n = check_int("n", n, minimum=1)
        rng = _check_seed(seed)
        z = rng.standard_normal((n, self.latent_dim))
        x = z @ self.weights.T + self.bias + self.noise_std * rng.standard_normal((n, self.data_dim))
        return z, x

    # -- densities --------------------------------------------------------------------------------
    def log_prior(self, z) -> np.ndarray | float:
        """log p(z) = log N(z; 0, I) for z of shape (k,) or (n, k)."""
        z = _check_rows("z", z, self.latent_dim)
        return _squeeze(-0.5 * (self.latent_dim * LOG_2PI + np.sum(z**2, axis=-1)))

    def log_likelihood(self, x, z) -> np.ndarray | float:
        """log p(x|z) = log N(x; W z + b, s^2 I). ``x`` (d,) or (n, d), ``z`` (k,) or (n, k), broadcast."""
        x = _check_rows("x", x, self.data_dim)
        z = _check_rows("z", z, self.latent_dim)
        residual = x - (z @ self.weights.T + self.bias)
        return _squeeze(
            -0.5 * (self.data_dim * (LOG_2PI + math.log(self.noise_var)) + np.sum(residual**2, axis=-1) / self.noise_var)
        )

    def log_joint(self, x, z) -> np.ndarray | float:
        """log p(x, z) = log p(x|z) + log p(z) (the model of section 2.1)."""
        return self.log_likelihood(x, z) + self.log_prior(z)

    def marginal_covariance(self) -> np.ndarray:
        """Cov[x] = W W^T + s^2 I, so p(x) = N(b, W W^T + s^2 I)."""
        return self.weights @ self.weights.T + self.noise_var * np.eye(self.data_dim)

    def log_marginal(self, x) -> np.ndarray | float:
        """The evidence log p(x) = log N(x; b, W W^T + s^2 I), exact. ``x`` (d,) or (n, d)."""
        x = _check_rows("x", x, self.data_dim)
        return mvn_log_density(x, self.bias, self.marginal_covariance())

    def posterior_precision(self) -> np.ndarray:
        """Precision of p(z|x): I + W^T W / s^2 (it does not depend on x)."""
        return np.eye(self.latent_dim) + self.weights.T @ self.weights / self.noise_var

    def posterior(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Exact posterior p(z|x) = N(mean, cov) with cov = (I + W^T W/s^2)^{-1}, mean = cov W^T (x - b)/s^2.

        ``x`` (d,) gives mean (k,); ``x`` (n, d) gives means (n, k). The covariance (k, k) is shared.
        """
        x = _check_rows("x", x, self.data_dim)
        cov = np.linalg.inv(self.posterior_precision())
        cov = 0.5 * (cov + cov.T)
        mean = (x - self.bias) @ self.weights @ cov.T / self.noise_var
        return mean, cov

    def log_posterior(self, z, x) -> np.ndarray | float:
        """log p(z|x) for z (k,) or (n, k) and one x (d,)."""
        x = _check_vector("x", x, self.data_dim)
        mean, cov = self.posterior(x)
        return mvn_log_density(z, mean, cov)

    def maximum_likelihood_latent(self, x) -> np.ndarray:
        """argmax_z p(x|z) = (W^T W)^{-1} W^T (x - b); needs W of full column rank (k <= d)."""
        x = _check_rows("x", x, self.data_dim)
        gram = self.weights.T @ self.weights
        if np.linalg.matrix_rank(self.weights) < self.latent_dim:
            raise ValueError(
                f"the maximum-likelihood latent is not unique: weights has rank {np.linalg.matrix_rank(self.weights)} "
                f"< latent_dim {self.latent_dim} (need latent_dim <= data_dim and independent columns)"
            )
        return np.linalg.solve(gram, ((x - self.bias) @ self.weights).T).T

    def __repr__(self) -> str:
        return f"LinearGaussianModel(latent_dim={self.latent_dim}, data_dim={self.data_dim}, noise_std={self.noise_std:g})"


def _squeeze(value):
    value = np.asarray(value, dtype=np.float64)
    return float(value) if value.ndim == 0 else value


def _check_model(model) -> LinearGaussianModel:
    if not isinstance(model, LinearGaussianModel):
        raise TypeError(f"model must be a LinearGaussianModel, got {type(model).__name__}")
    return model


# ----------------------------------------------------------------------------------------------
# Gaussian helpers (full covariance, float64)
# ----------------------------------------------------------------------------------------------
def mvn_log_density(z, mean, cov) -> np.ndarray | float:
    """log N(z; mean, cov) for z of shape (k,) or (n, k); ``cov`` variances (k,) or a (k, k) matrix."""
    mean = _as_float_array("mean", mean)
    if mean.ndim != 1:
        raise ValueError(f"mean must be a vector, got shape {mean.shape}")
    k = mean.shape[0]
    z = _check_rows("z", z, k)
    cov = _check_cov("cov", cov, k)
    chol = np.linalg.cholesky(cov)
    white = linalg.solve_triangular(chol, (z - mean).T, lower=True)
    logdet = 2.0 * np.sum(np.log(np.diag(chol)))
    return _squeeze(-0.5 * (k * LOG_2PI + logdet + np.sum(white**2, axis=0)))


def gaussian_entropy(cov) -> float:
    """H[N(m, cov)] = (k log(2 pi e) + log det cov) / 2; ``cov`` variances (k,) or (k, k)."""
    array = _as_float_array("cov", cov)
    if array.ndim not in (1, 2) or array.shape[0] == 0:
        raise ValueError(f"cov must be a vector of variances (k,) or a (k, k) matrix, got shape {array.shape}")
    cov = _check_cov("cov", array, array.shape[0])
    return 0.5 * (cov.shape[0] * (LOG_2PI + 1.0) + _logdet_pd(cov))


def kl_gaussians(mean_q, cov_q, mean_p, cov_p) -> float:
    """KL(N(mean_q, cov_q) || N(mean_p, cov_p)) in closed form.

    ``(tr(P^{-1} Q) + (m_p - m_q)^T P^{-1} (m_p - m_q) - k + log det P - log det Q) / 2``.
    Each covariance is variances (k,) or a (k, k) matrix.
    """
    mean_q = _as_float_array("mean_q", mean_q)
    if mean_q.ndim != 1:
        raise ValueError(f"mean_q must be a vector, got shape {mean_q.shape}")
    k = mean_q.shape[0]
    mean_p = _check_vector("mean_p", mean_p, k)
    cov_q = _check_cov("cov_q", cov_q, k)
    cov_p = _check_cov("cov_p", cov_p, k)
    chol_p = np.linalg.cholesky(cov_p)
    a = linalg.solve_triangular(chol_p, cov_q, lower=True)
    trace = float(np.trace(linalg.solve_triangular(chol_p, a.T, lower=True)))
    white = linalg.solve_triangular(chol_p, mean_p - mean_q, lower=True)
    value = 0.5 * (trace + float(white @ white) - k + _logdet_pd(cov_p) - _logdet_pd(cov_q))
    return value


def kl_to_prior(mean, cov) -> float:
    """KL(q || p(z)) with p(z) = N(0, I): ``(tr cov + |mean|^2 - k - log det cov) / 2`` (eq. 10 for full cov).

    Returns ``inf`` for a degenerate (singular) q, e.g. the beta = 0 optimum.
    """
    mean = _as_float_array("mean", mean)
    if mean.ndim != 1:
        raise ValueError(f"mean must be a vector, got shape {mean.shape}")
    k = mean.shape[0]
    cov = _check_cov("cov", cov, k, allow_singular=True)
    eig = np.linalg.eigvalsh(cov)
    if eig[0] <= 0:
        return math.inf
    return 0.5 * (float(np.trace(cov)) + float(mean @ mean) - k - float(np.sum(np.log(eig))))


def _check_q(model, x, mean, cov, *, allow_singular=False):
    model = _check_model(model)
    x = _check_vector("x", x, model.data_dim)
    mean = _check_vector("mean", mean, model.latent_dim)
    cov = _check_cov("cov", cov, model.latent_dim, allow_singular=allow_singular)
    return model, x, mean, cov


# ----------------------------------------------------------------------------------------------
# ELBO (eqs. 1-3) in closed form and by Monte Carlo
# ----------------------------------------------------------------------------------------------
def expected_log_likelihood(model, x, mean, cov) -> float:
    """E_q[log p(x|z)], the reconstruction term of eq. (2), in closed form.

    ``-(d log(2 pi s^2) + |x - b - W m|^2 + tr(W^T W cov)) / 2`` for q = N(mean, cov).
    A singular ``cov`` (a point mass, variances 0) is allowed here.
    """
    model, x, mean, cov = _check_q(model, x, mean, cov, allow_singular=True)
    residual = x - model.bias - model.weights @ mean
    trace = float(np.sum((model.weights.T @ model.weights) * cov))
    return -0.5 * (model.data_dim * (LOG_2PI + math.log(model.noise_var)) + (float(residual @ residual) + trace) / model.noise_var)


def elbo(model, x, mean, cov) -> float:
    """ELBO(q) = E_q[log p(x|z)] - KL(q || p(z)) (eq. 2), exact, for q = N(mean, cov).

    Equal to E_q[log p(x, z) - log q(z)] (the first term of eq. 1).
    """
    model, x, mean, cov = _check_q(model, x, mean, cov)
    return expected_log_likelihood(model, x, mean, cov) - kl_to_prior(mean, cov)


def kl_to_posterior(model, x, mean, cov) -> float:
    """KL(q || p(z|x)), the gap in eq. (1): log p(x) = ELBO(q) + KL(q || p(z|x)). Exact."""
    model, x, mean, cov = _check_q(model, x, mean, cov)
    post_mean, post_cov = model.posterior(x)
    return kl_gaussians(mean, cov, post_mean, post_cov)


class MonteCarloEstimate(NamedTuple):
    """A Monte Carlo average with its standard error ``std(f, ddof=1) / sqrt(n_samples)``."""

    value: float
    standard_error: float
    n_samples: int


def _mc_estimate(values: np.ndarray) -> MonteCarloEstimate:
    n = len(values)
    return MonteCarloEstimate(float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(n)), n)


def _reparameterized_samples(mean, cov, n_samples, seed):
    rng = _check_seed(seed)
    epsilon = rng.standard_normal((n_samples, mean.shape[0]))
    return mean + epsilon @ np.linalg.cholesky(cov).T  # z = mu + L eps (eqs. 6-7)


def elbo_monte_carlo(model, x, mean, cov, n_samples: int = 10_000, seed=0) -> MonteCarloEstimate:
    """Estimate the ELBO as the average of log p(x, z) - log q(z) over z = mean + L eps, eps ~ N(0, I).

    Returns a :class:`MonteCarloEstimate`; the estimate is unbiased and its standard error is
    the sample standard deviation over sqrt(n_samples) (zero when q is the exact posterior,
    where the integrand is the constant log p(x)).
    """
    model, x, mean, cov = _check_q(model, x, mean, cov)
    n_samples = check_int("n_samples", n_samples, minimum=2)
    z = _reparameterized_samples(mean, cov, n_samples, seed)
    return _mc_estimate(model.log_joint(x, z) - mvn_log_density(z, mean, cov))


# ----------------------------------------------------------------------------------------------
# the beta objective (eq. 12)
# ----------------------------------------------------------------------------------------------
def beta_objective(model, x, mean, cov, beta) -> float:
    """F_beta(q) = E_q[log p(x|z)] - beta KL(q || p(z)) (the right-hand side of eq. 12), exact.

    beta = 1 gives the ELBO. For beta = 0 a singular ``cov`` is allowed (KL is not needed).
    """
    beta = check_beta(beta)
    model, x, mean, cov = _check_q(model, x, mean, cov, allow_singular=beta == 0)
    reconstruction = expected_log_likelihood(model, x, mean, cov)
    return reconstruction if beta == 0 else reconstruction - beta * kl_to_prior(mean, cov)


def beta_objective_monte_carlo(model, x, mean, cov, beta, n_samples: int = 10_000, seed=0) -> MonteCarloEstimate:
    """Estimate F_beta(q) by averaging log p(x|z) - beta (log q(z) - log p(z)) over reparameterized z ~ q."""
    beta = check_beta(beta)
    model, x, mean, cov = _check_q(model, x, mean, cov)
    n_samples = check_int("n_samples", n_samples, minimum=2)
    z = _reparameterized_samples(mean, cov, n_samples, seed)
    values = model.log_likelihood(x, z) - beta * (mvn_log_density(z, mean, cov) - model.log_prior(z))
    return _mc_estimate(values)


def beta_optimal_q(model, x, beta) -> tuple[np.ndarray, np.ndarray]:
    """The maximiser of F_beta over Gaussian q (which is also the maximiser over all q).

    Setting the derivatives of F_beta with respect to the mean m and covariance S to zero::

        dF/dm = W^T (x - b - W m) / s^2 - beta m = 0
        dF/dS = -W^T W / (2 s^2) - beta I / 2 + beta S^{-1} / 2 = 0

    gives, with M_beta = W^T W / s^2 + beta I,

        S_beta = beta M_beta^{-1},   m_beta = M_beta^{-1} W^T (x - b) / s^2.

    beta = 1 is the exact posterior; beta -> infinity tends to the prior N(0, I); beta = 0 returns
    the degenerate limit: covariance 0 and mean at the maximum-likelihood latent (needs W of full
    column rank). Returns ``(mean, cov)`` with shapes (k,) and (k, k).
    """
    model = _check_model(model)
    x = _check_vector("x", x, model.data_dim)
    beta = check_beta(beta)
    k = model.latent_dim
    if beta == 0:
        return model.maximum_likelihood_latent(x), np.zeros((k, k))
    precision_like = model.weights.T @ model.weights / model.noise_var + beta * np.eye(k)
    inverse = np.linalg.inv(precision_like)
    inverse = 0.5 * (inverse + inverse.T)
    mean = inverse @ model.weights.T @ (x - model.bias) / model.noise_var
    return mean, beta * inverse


def beta_optimal_value(model, x, beta) -> float:
    """max_q F_beta(q) = beta log E_{p(z)}[p(x|z)^{1/beta}] in closed form (beta > 0).

    The Gibbs variational principle gives the maximiser q ∝ p(z) p(x|z)^{1/beta}. For this model
    ``p(x|z)^{1/beta} = (2 pi s^2)^{-d/(2 beta)} (2 pi beta s^2)^{d/2} N(x; W z + b, beta s^2 I)``, so
    the expectation is a Gaussian marginal: N(x; b, W W^T + beta s^2 I) times those constants.
    beta = 1 gives log p(x).
    """
    model = _check_model(model)
    x = _check_vector("x", x, model.data_dim)
    beta = check_real("beta", beta, minimum=0.0, inclusive_minimum=False)
    d = model.data_dim
    log_const = -d / (2 * beta) * (LOG_2PI + math.log(model.noise_var)) + d / 2 * (LOG_2PI + math.log(beta * model.noise_var))
    cov = model.weights @ model.weights.T + beta * model.noise_var * np.eye(d)
    return beta * (log_const + mvn_log_density(x, model.bias, cov))


class NumericalFit(NamedTuple):
    """Result of :func:`fit_q_numerically`: the fitted q and the optimiser's report."""

    mean: np.ndarray
    cov: np.ndarray
    objective: float
    result: optimize.OptimizeResult
    beta: float

    @property
    def converged(self) -> bool:
        """L-BFGS-B converged, or its line search stopped at float64's noise floor of F_beta.

        F_beta holds terms of size ~beta that cancel, so at beta of several hundred its rounding
        noise exceeds the decrease a line-search step near the optimum can show, and L-BFGS-B
        reports "ABNORMAL" there (whether it does depends on the CPU's float rounding). That stop
        counts as converged when the largest gradient entry is within sqrt(eps) * (1 + beta).
        """
        if self.result.success:
            return True
        stopped_in_line_search = "ABNORMAL" in str(self.result.message)
        noise_floor = np.sqrt(np.finfo(np.float64).eps) * (1 + self.beta)
        return stopped_in_line_search and float(np.max(np.abs(self.result.jac))) <= noise_floor


def fit_q_numerically(model, x, beta=1.0, *, family: str = "full", seed=0, gtol: float = 1e-12) -> NumericalFit:
    """Maximise F_beta(q) (eq. 12; the ELBO when beta = 1) over Gaussian q with L-BFGS.

    An independent check of :func:`beta_optimal_q`: q is parameterised by its mean and either a
    Cholesky factor with log-diagonal (``family="full"``) or log-variances (``family="diag"``, a
    mean-field q), started from a random point drawn from ``seed``, with the exact gradient.
    ``beta`` must be > 0 (at beta = 0 the optimum is a point mass the parameterisation cannot reach).
    """
    model = _check_model(model)
    x = _check_vector("x", x, model.data_dim)
    beta = check_real("beta", beta, minimum=0.0, inclusive_minimum=False)
    family = check_choice("family", family, ("full", "diag"))
    gtol = check_real("gtol", gtol, minimum=0.0, inclusive_minimum=False)
    rng = _check_seed(seed)
    k = model.latent_dim
    gram = model.weights.T @ model.weights / model.noise_var
    target = model.weights.T @ (x - model.bias) / model.noise_var
    rows, cols = np.tril_indices(k)
    diagonal = rows == cols

    def unpack(theta):
        mean = theta[:k]
        if family == "diag":
            chol = np.diag(np.exp(0.5 * theta[k:]))
        else:
            chol = np.zeros((k, k))
            values = theta[k:].copy()
            values[diagonal] = np.exp(values[diagonal])
            chol[rows, cols] = values
        return mean, chol

    def negative_objective(theta):
        mean, chol = unpack(theta)
        cov = chol @ chol.T
        value = beta_objective(model, x, mean, cov, beta)
        grad_mean = target - gram @ mean - beta * mean
        if family == "diag":
            # dF/dv_j = -(gram_jj + beta)/2 + beta/(2 v_j); chain rule through v_j = exp(theta_j)
            variances = np.diag(cov)
            grad_tail = (-(np.diag(gram) + beta) / 2 + beta / (2 * variances)) * variances
        else:
            # dF/dL = 2 G L with G = dF/dS = -(gram + beta I)/2 + beta S^{-1}/2; S^{-1} L = L^{-T}
            grad_l = -(gram + beta * np.eye(k)) @ chol + beta * np.linalg.inv(chol).T
            grad_tail = grad_l[rows, cols]
            grad_tail[diagonal] *= chol[rows, cols][diagonal]
        return -value, -np.concatenate([grad_mean, grad_tail])

    n_tail = k if family == "diag" else len(rows)
    start = np.concatenate([rng.standard_normal(k), 0.5 * rng.standard_normal(n_tail)])
    result = optimize.minimize(
        negative_objective, start, jac=True, method="L-BFGS-B",
        options={"gtol": gtol, "ftol": 1e-15, "maxiter": 10_000},
    )
    mean, chol = unpack(result.x)
    return NumericalFit(mean, chol @ chol.T, -float(result.fun), result, beta)


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
