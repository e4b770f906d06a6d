"""Measures of a trained (beta-)VAE that turn the report's visual claims into numbers.

Pure NumPy/SciPy functions on arrays (latent codes, images, labels), and the reconstruction
errors of a model. Used by the results chapters to check the
report's statements about latent spaces, reconstructions and prior samples:

* :func:`moment_kl_to_standard_normal` -- how far a cloud of codes is from N(0, I) (eq. 10
  applied to the Gaussian with the cloud's mean and covariance);
* :func:`covariance_isotropy` -- how round a cloud of codes is;
* :func:`active_dimensions` -- which latent dimensions carry information (Burda et al. 2016);
* :func:`knn_accuracy` -- how well digit classes separate in the latent space;
* :func:`squared_error`, :func:`reconstruction_errors`, :func:`errors_at_code` -- reconstruction
  error per image (the report's squared-error term of eq. 12);
* :func:`relative_gap`, :func:`relative_gap_difference` -- how much larger the error is on test
  images than on training images, and how two models compare in that;
* :func:`nearest_neighbour_distance` -- distance of images to the nearest of a reference set.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from vaelib._runtime.validation import (
    check_images, check_int, check_labels, check_real, check_seed, check_training_images,
)
from vaelib.data import unit_images
from vaelib.maths.gaussian import gaussian_kl_numpy
from vaelib.measures.latent_space import check_codes, code_moments, moment_matched_kl
from vaelib._runtime.batching import EAGER_ROWS, in_blocks
from vaelib.models.networks import VAE, Autoencoder, encode_mean

__all__ = [
    "moment_kl_to_standard_normal", "covariance_isotropy", "active_dimensions",
    "knn_accuracy", "squared_error", "reconstruction_errors", "errors_at_code", "relative_gap",
    "relative_gap_difference", "nearest_neighbour_distance", "kl_per_image", "summarise_vae",
]


def kl_per_image(mu, log_var) -> np.ndarray:
    """KL(q_phi(z|x) || N(0, I)) of each image in nats (eq. 10), shape (n,)."""
    mu = check_codes(mu, name="mu")
    log_var = check_codes(log_var, name="log_var")
    if mu.shape != log_var.shape:
        raise ValueError(f"mu and log_var must have the same shape, got {mu.shape} and {log_var.shape}")
    return gaussian_kl_numpy(mu, log_var)


def moment_kl_to_standard_normal(z) -> float:
    """KL(N(m, S) || N(0, I)) in nats, with m, S the mean and covariance of the codes ``z`` (n, d).

    The closed form 0.5 (tr S + m'm - d - log det S) is eq. (10) for a full covariance; it is 0
    exactly when the cloud has the moments of the prior, and grows as the cloud moves away,
    stretches, shrinks or tilts. Needs n > d codes (a non-singular covariance).
    """
    mean, cov = code_moments(z)
    if np.linalg.slogdet(cov)[0] <= 0:
        raise ValueError("the covariance of z is singular: need more codes than dimensions, spread in every direction")
    return moment_matched_kl(mean, cov)


def covariance_isotropy(z) -> float:
    """Roundness of a cloud of codes: smallest / largest eigenvalue of its covariance, in [0, 1].

    1 for a circular (isotropic) cloud, near 0 for a cloud stretched along one direction.
    """
    _, cov = code_moments(z)
    eigenvalues = np.linalg.eigvalsh(cov)
    if eigenvalues[-1] <= 0:
        raise ValueError("the codes z do not vary: their covariance is zero")
    return float(max(eigenvalues[0], 0.0) / eigenvalues[-1])


def active_dimensions(mu, *, threshold: float = 0.01) -> tuple[np.ndarray, int]:
    """Variance of each latent mean across the data set, and how many exceed ``threshold``.

    A dimension is *active* if Var_x(E_q[z_j | x]) > threshold (Burda et al. 2016 use 0.01); an
    inactive one ignores its input, as when q_phi(z|x) collapses onto the prior.
    """
    mu = check_codes(mu, name="mu", min_rows=2)
    threshold = check_real("threshold", threshold, minimum=0.0)
    variances = mu.var(axis=0, ddof=1)
    return variances, int(np.sum(variances > threshold))


def knn_accuracy(train_codes, train_labels, test_codes, test_labels, *, k: int = 15) -> float:
    """Accuracy of a k-nearest-neighbour majority vote that labels ``test_codes`` from ``train_codes``.

    Euclidean distances in the latent space (a k-d tree); ties in the vote go to the smallest
    label. A measure of class separation: chance is about 0.1 for the ten digits.
    """
    train_codes = check_codes(train_codes, name="train_codes")
    test_codes = check_codes(test_codes, name="test_codes")
    if train_codes.shape[1] != test_codes.shape[1]:
        raise ValueError(f"train_codes and test_codes must have the same dimension, "
                         f"got {train_codes.shape[1]} and {test_codes.shape[1]}")
    train_labels = check_labels(train_labels, len(train_codes), name="train_labels")
    test_labels = check_labels(test_labels, len(test_codes), name="test_labels")
    k = check_int("k", k, minimum=1, maximum=len(train_codes))
    _, neighbours = cKDTree(train_codes).query(test_codes, k=k)
    votes = train_labels[np.asarray(neighbours).reshape(len(test_codes), k)]
    counts = np.zeros((len(test_codes), 10), dtype=np.int64)
    np.add.at(counts, (np.arange(len(test_codes))[:, None], votes), 1)
    return float(np.mean(counts.argmax(axis=1) == test_labels))


def squared_error(x, x_hat, *, block_rows: int = 1024) -> np.ndarray:
    """Squared error summed over the 784 pixels of each image, shape (n,) (the report's loss term).

    ``x_hat`` has the shape of ``x``, or is one image (1, 784) compared with every row of ``x``.
    Computed in float64, ``block_rows`` images at a time (the same numbers as all at once), so the
    temporaries stay near 20 MB however many images there are.
    """
    x = check_images(x, name="x")
    x_hat = check_images(x_hat, name="x_hat")
    if x_hat.shape != x.shape and x_hat.shape != (1,) + x.shape[1:]:
        raise ValueError(f"x_hat must have the shape of x, {x.shape}, or be one image {(1,) + x.shape[1:]}, "
                         f"got {x_hat.shape}")
    block_rows = check_int("block_rows", block_rows, minimum=1)
    out = np.empty(len(x))
    for start in range(0, len(x), block_rows):
        rows = slice(start, start + block_rows)
        out[rows] = _row_squared_error(x[rows], x_hat if len(x_hat) == 1 else x_hat[rows])
    return out


def mean_image_error(x_train, x_test) -> float:
    """Mean squared error (summed over pixels) of answering every test image with the mean training image: what a
    model that ignores its input can reach at best. ``x_train`` may be uint8 pixels (summed exactly in float64)."""
    x_train = check_training_images(x_train, name="x_train")
    mean_image = x_train.sum(axis=0, keepdims=True, dtype=np.float64) / len(x_train)
    if x_train.dtype == np.uint8:
        mean_image /= 255.0
    return float(squared_error(x_test, mean_image).mean())


def _row_squared_error(x, x_hat) -> np.ndarray:
    return np.sum((x.astype(np.float64) - x_hat.astype(np.float64)) ** 2, axis=1)


def reconstruction_errors(model, x, *, n_draws: int = 1, seed: int = 0,
                          batch_size: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Per-image squared error of a VAE's reconstructions of ``x``, two ways.

    Returns ``(at_mean, sampled)``, each shape (n,): ``at_mean`` decodes z = mu(x);
    ``sampled`` averages the error over ``n_draws`` draws z ~ q_phi(z|x) (the Monte Carlo
    estimate of the expected reconstruction term of eq. 12, with L = n_draws).
    """
    x = check_images(x, name="x")
    n_draws = check_int("n_draws", n_draws, minimum=1)
    seed = check_seed(seed)
    mu, log_var = encode_mean(model, x, batch_size=batch_size)
    rng = np.random.default_rng(seed)
    std = np.exp(0.5 * log_var)
    at_mean = _decoded_errors(model, x, mu, batch_size)
    sampled = np.zeros(len(x))
    for _ in range(n_draws):
        sampled += _decoded_errors(model, x, mu + std * rng.standard_normal(mu.shape), batch_size)
    return at_mean, sampled / n_draws


def _decoded_errors(model, x, z, batch_size: int) -> np.ndarray:
    """Squared error of ``model.decode(z)`` against ``x`` per image, decoded and compared batch by batch
    (float64 temporaries of one batch only)."""
    return np.concatenate([
        _row_squared_error(x[s:s + batch_size], np.asarray(model.decode(z[s:s + batch_size].astype(np.float32))))
        for s in range(0, len(z), batch_size)])


def errors_at_code(model, x, *, batch_size: int = EAGER_ROWS) -> np.ndarray:
    """Per-image squared error (n,) of a model's reconstruction of ``x`` decoded at its code, with no draw:
    z = encoder(x) for an :class:`~vaelib.models.networks.Autoencoder`, z = the centre of q_phi(z|x) (mu for the
    Gaussian: :func:`reconstruction_errors`' ``at_mean``, bit for bit) for a :class:`~vaelib.models.networks.VAE`.

    Measured the same way for both kinds of model and for any images, so it compares a model's errors
    on training and test images (:func:`relative_gap`) and two models' with each other.
    """
    x = check_images(x, name="x")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if isinstance(model, VAE):
        z = in_blocks(model.posterior_location, x, rows=batch_size)
    elif isinstance(model, Autoencoder):
        z = in_blocks(model.encode, x, rows=batch_size)
    else:
        raise TypeError(f"model must be a vaelib Autoencoder or VAE, got {type(model).__name__}")
    return _decoded_errors(model, x, np.asarray(z, dtype=np.float64), batch_size)


def _check_errors(name: str, errors) -> np.ndarray:
    array = np.asarray(errors, dtype=np.float64)
    if array.ndim != 1 or len(array) < 2:
        raise ValueError(f"{name} must be a 1-D array of at least 2 per-image errors, got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must hold finite, non-negative errors, got values in [{array.min()}, {array.max()}]")
    return array


def _linearised_gap(train_errors, test_errors, names: tuple[str, str]) -> tuple[float, np.ndarray, np.ndarray]:
    """g = T / R - 1 (T, R the test and training means) and its first-order terms per image: test image j
    adds t_j / R, training image i adds -T r_i / R^2 (the delta method: var g = var(u) / n_test +
    var(w) / n_train, the two sets being independent samples)."""
    train, test = _check_errors(names[0], train_errors), _check_errors(names[1], test_errors)
    r, t = train.mean(), test.mean()
    if r <= 0:
        raise ValueError(f"{names[0]} must have a positive mean: the relative gap divides by it, got 0")
    return float(t / r - 1.0), test / r, -t * train / r**2


def _delta_se(u: np.ndarray, w: np.ndarray) -> float:
    return float(np.sqrt(u.var(ddof=1) / len(u) + w.var(ddof=1) / len(w)))


def relative_gap(train_errors, test_errors) -> tuple[float, float]:
    """The relative generalisation gap g = (E_test - E_train) / E_train of per-image errors, and its standard error.

    E_train and E_test are means over two different sets of images (independent samples), so by the
    delta method se(g) = (E_test / E_train) * sqrt((se_test / E_test)^2 + (se_train / E_train)^2).
    A model that fits its training images better than unseen ones has g > 0. (Keras' per-epoch
    training loss is no substitute for E_train: it is a running mean over the epoch's batches while
    the weights still change, and for a VAE it is averaged over draws of z.)
    """
    gap, u, w = _linearised_gap(train_errors, test_errors, ("train_errors", "test_errors"))
    return gap, _delta_se(u, w)


def relative_gap_difference(train_a, test_a, train_b, test_b) -> tuple[float, float]:
    """g_a - g_b, the relative gaps (:func:`relative_gap`) of two models measured on the same images, and its s.e.

    ``train_a`` and ``train_b`` are the two models' errors on the same training images, in the same
    order; likewise ``test_a`` and ``test_b``. On one image the two models' errors are correlated (a
    hard digit is hard for both), so the standard error pairs them: the delta method's per-image terms
    of g_a and g_b are subtracted image by image before their variance is taken. Training and test
    images are independent samples, so their two variances add.
    """
    gap_a, u_a, w_a = _linearised_gap(train_a, test_a, ("train_a", "test_a"))
    gap_b, u_b, w_b = _linearised_gap(train_b, test_b, ("train_b", "test_b"))
    if u_a.shape != u_b.shape or w_a.shape != w_b.shape:
        raise ValueError(f"the two models must be measured on the same images: a has {len(w_a)} training and "
                         f"{len(u_a)} test errors, b has {len(w_b)} and {len(u_b)}")
    return gap_a - gap_b, _delta_se(u_a - u_b, w_a - w_b)


def nearest_neighbour_distance(images, reference, *, chunk_size: int = 2048) -> np.ndarray:
    """Squared Euclidean distance (summed over pixels) from each image to its nearest reference image.

    Shape (n,). A crude measure of how much a generated image looks like *some* real digit;
    blurry images sit at moderate distances from everything. The distances are computed in blocks
    of ``chunk_size`` reference images by at most 512 images, so the temporaries stay near 40 MB
    however many images and references there are (200 images against the 60,000 training pixels:
    37 MB at the default, 143 MB with blocks of 8,192, the same distances). ``reference`` may be
    uint8 pixels (scaled block by block, the same numbers as scaling it first).
    """
    images = check_images(images, name="images")
    reference = check_training_images(reference, name="reference")
    chunk_size = check_int("chunk_size", chunk_size, minimum=1)
    image_chunk = 512
    # float64 copies of at most image_chunk images at a time (a float64 copy of 6,300 images is 40 MB)
    as_float64 = lambda rows: images[rows].astype(np.float64)  # noqa: E731
    image_norms = np.concatenate([np.sum(as_float64(slice(row, row + image_chunk))**2, axis=1)
                                  for row in range(0, len(images), image_chunk)])
    best = np.full(len(images), np.inf)
    for start in range(0, len(reference), chunk_size):
        block = unit_images(reference[start:start + chunk_size], name="reference").astype(np.float64)
        block_norms = np.sum(block**2, axis=1)
        for row in range(0, len(images), image_chunk):
            rows = slice(row, row + image_chunk)
            distances = image_norms[rows, None] + block_norms[None, :] - 2.0 * as_float64(rows) @ block.T
            best[rows] = np.minimum(best[rows], distances.min(axis=1))
    return np.maximum(best, 0.0)


def summarise_vae(model, x_test, x_reference, *, show, z_prior, n_draws: int = 1, seed: int = 0) -> dict:
    """Everything the beta chapters measure about one VAE snapshot, as NumPy arrays.

    Parameters
    ----------
    model : a vaelib VAE (``encode`` -> (mu, log_var), ``decode`` -> pixel means)
    x_test : test images (n, 784); x_reference : training images (r, 784) whose codes serve as kNN references
    show : indices into ``x_test`` of the digits whose reconstructions are drawn
    z_prior : draws from N(0, I), shape (p, latent_dim), decoded as "prior samples"
    n_draws, seed : draws per image for the sampled reconstruction error (see :func:`reconstruction_errors`)

    Returns a dict with ``mu``, ``log_var`` (test), ``z`` (one draw from q(z|x) per test image),
    ``z_reference`` (the same for ``x_reference``), ``kl`` (nats per test image, eq. 10),
    ``error_at_mean``, ``error_sampled`` (per test image), ``reconstructions`` (of ``x_test[show]``
    at z = mu) and ``prior_images`` (decodings of ``z_prior``).
    """
    x_test = check_images(x_test, name="x_test")
    x_reference = check_images(x_reference, name="x_reference")
    show = np.asarray(show)
    if show.ndim != 1 or not np.issubdtype(show.dtype, np.integer) or len(show) == 0:
        raise ValueError(f"show must be a non-empty 1-D array of integer indices, got {show!r}")
    if show.min() < 0 or show.max() >= len(x_test):
        raise ValueError(f"show must index x_test (0..{len(x_test) - 1}), got values in [{show.min()}, {show.max()}]")
    z_prior = check_codes(z_prior, name="z_prior")
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    mu, log_var = encode_mean(model, x_test)
    if z_prior.shape[1] != mu.shape[1]:
        raise ValueError(f"z_prior must have {mu.shape[1]} columns (the latent dimension), got {z_prior.shape[1]}")
    mu_ref, log_var_ref = encode_mean(model, x_reference)
    error_at_mean, error_sampled = reconstruction_errors(model, x_test, n_draws=n_draws, seed=seed)
    decode = lambda z: np.asarray(model.decode(np.asarray(z, dtype=np.float32)), dtype=np.float32)  # noqa: E731
    return {
        "mu": mu, "log_var": log_var,
        "z": mu + np.exp(0.5 * log_var) * rng.standard_normal(mu.shape),
        "z_reference": mu_ref + np.exp(0.5 * log_var_ref) * rng.standard_normal(mu_ref.shape),
        "kl": gaussian_kl_numpy(mu, log_var),
        "error_at_mean": error_at_mean, "error_sampled": error_sampled,
        "reconstructions": np.clip(decode(mu[show]), 0.0, 1.0),
        "prior_images": np.clip(decode(z_prior), 0.0, 1.0),
    }
