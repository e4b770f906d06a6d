"""The linear-Gaussian model, its evidence and exact posterior, and Gaussian densities, entropies and KLs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from vaelib._runtime.validation import check_int, check_real, check_seed

LOG_2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------------------------------------
# validation helpers (private; the messages follow vaelib._runtime.validation: name, value, what is accepted)
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


def _mean_vector(name: str, value) -> np.ndarray:
    """A finite float64 vector of any length (the mean that fixes the dimension k)."""
    array = _as_float_array(name, value)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a vector, got shape {array.shape}")
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
    mean = _mean_vector("mean", mean)
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
    mean_q = _mean_vector("mean_q", mean_q)
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
    mean = _mean_vector("mean", mean)
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
