"""The AEVB algorithm (report §2.6, Algorithm 1) and its ELBO estimator (eq. 11) on trained VAEs.

Chapter 04 writes Algorithm 1 out by hand and checks it against :mod:`vaelib.models.training`; this
module holds what that check and the chapter's measurements need:

``minibatch_orders``
    Algorithm 1's random minibatches: one random permutation of the training set per epoch.
``fit_in_order``
    vaelib's own training (``TrainConfig.build_model`` + :func:`vaelib.models.training.fit_model`, the
    function :func:`vaelib.models.training.train` calls) with the minibatch order fixed in advance,
    instead of Keras' internal shuffling, so that a hand-written loop can be compared with it
    step for step. :func:`vaelib.models.training.train` itself is untouched.
``log_likelihood``
    log p(x|z) per image for the two likelihoods of :mod:`vaelib.models.networks`, with their
    normalising constants (the squared error is a Gaussian of variance 1/2).
``elbo_estimate``
    Eq. (11): the closed-form KL (eq. 10) plus an L-sample average of log p(x|z).
``reconstruction_moments``
    E_q[log p(x|z)] and Var_q[log p(x|z)] by Gauss-Hermite quadrature, the reference values
    for eq. (11) in a low-dimensional latent space.
``equivalent_kl_weight``
    The KL weight hidden in the squared-error loss: squared error + beta * KL is, up to a
    positive factor and a constant, the negative beta-ELBO of a Gaussian likelihood of variance
    sigma^2 with weight beta / (2 sigma^2).
"""

from __future__ import annotations

import functools
import math
import warnings

import keras
import numpy as np
import tensorflow as tf
from scipy import special

from vaelib._runtime.batching import EAGER_ROWS, in_blocks
from vaelib._runtime.validation import (
    check_beta, check_choice, check_images, check_int, check_real, check_rng, check_seed,
)
from vaelib.maths.gaussian import gaussian_kl_numpy
from vaelib._runtime import random_draws
from vaelib.models.networks import LIKELIHOODS, METRIC_NAMES, VAE, check_vae, encode_mean, reconstruction_loss
from vaelib.models.training import TrainConfig, fit_model

__all__ = [
    "SQUARED_ERROR_VARIANCE",
    "minibatch_orders",
    "standard_normal",
    "fit_in_order",
    "log_likelihood",
    "decoder_logits",
    "log_likelihood_at_mean",
    "elbo_estimate",
    "reconstruction_moments",
    "equivalent_kl_weight",
]

#: The Gaussian variance per pixel for which -log p(x|z) = squared error + constant.
SQUARED_ERROR_VARIANCE = 0.5
# Rows per block of log_likelihood's float64 temporaries (1,024 x 784 float64: 6.4 MB each).
_LIKELIHOOD_BLOCK_ROWS = 1024
#: Largest quadrature grid (points per image) :func:`reconstruction_moments` accepts.
MAX_QUADRATURE_POINTS = 10_000


def standard_normal(shape, seed_generator) -> "tf.Tensor":
    """eps ~ N(0, I) of ``shape`` from ``seed_generator``, drawn as vaelib's training step draws it.

    The training step is compiled by XLA (:data:`vaelib.models.training.JIT_COMPILE`), whose Philox
    generator gives other numbers than TensorFlow's own kernels for the same seed (see
    :mod:`vaelib._runtime.random_draws`); drawing through an XLA-compiled function reproduces the trainer's eps
    exactly (Algorithm 1 in chapter 04).
    """
    return _xla_standard_normal(tuple(int(n) for n in shape), seed_generator)


@functools.partial(tf.function, jit_compile=True, reduce_retracing=True)
def _xla_standard_normal(shape, seed_generator):
    return random_draws.standard_normal(shape, seed_generator)


# --------------------------------------------------------------------------------------------
# Algorithm 1 and vaelib's trainer
# --------------------------------------------------------------------------------------------
def minibatch_orders(n: int, epochs: int, seed: int = 0) -> np.ndarray:
    """Random minibatch order for Algorithm 1: one permutation of ``range(n)`` per epoch.

    Consecutive slices of ``batch_size`` indices of a row are that epoch's minibatches
    (the last one smaller when ``batch_size`` does not divide ``n``), which is how
    ``model.fit(shuffle=True)`` draws them: every image once per epoch, in random order.

    Returns an int64 array of shape ``(epochs, n)`` drawn from ``np.random.default_rng(seed)``.
    """
    n = check_int("n", n, minimum=1)
    epochs = check_int("epochs", epochs, minimum=1)
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n) for _ in range(epochs)]).astype(np.int64)


def _check_orders(orders, n: int, epochs: int) -> np.ndarray:
    array = np.asarray(orders)
    if array.dtype == object or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"orders must be an integer array of shape (epochs, n), got dtype {array.dtype}")
    if array.shape != (epochs, n):
        raise ValueError(f"orders must have shape (epochs, n) = ({epochs}, {n}), got {array.shape}")
    expected = np.arange(n)
    for epoch, row in enumerate(array):
        if not np.array_equal(np.sort(row), expected):
            raise ValueError(f"orders[{epoch}] must be a permutation of range({n}) (each image once per epoch)")
    return array.astype(np.int64)


class _OrderedBatches(keras.callbacks.Callback):
    """Feeds ``model.fit`` the minibatches of a fixed order: epoch e yields x[orders[e]] in slices.

    The generator reads the epoch number that ``on_epoch_begin`` stored, not a count of how
    often it was started, so it does not matter how many iterators Keras creates per epoch.
    """

    def __init__(self, x: np.ndarray, orders: np.ndarray, batch_size: int):
        super().__init__()
        self.x, self.orders, self.batch_size = x, orders, batch_size
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def _batches(self):
        order = self.orders[self.epoch]
        for start in range(0, len(order), self.batch_size):
            yield self.x[order[start:start + self.batch_size]]

    def dataset(self):
        import tensorflow as tf

        n_batches = -(-len(self.x) // self.batch_size)
        dataset = tf.data.Dataset.from_generator(
            self._batches, output_signature=tf.TensorSpec((None, self.x.shape[1]), tf.float32))
        return dataset.apply(tf.data.experimental.assert_cardinality(n_batches))


def fit_in_order(config: TrainConfig, x_train, orders) -> tuple[keras.Model, dict[str, list[float]]]:
    """Train ``config`` as :func:`vaelib.models.training.train` does, but on minibatches in a given order.

    Seeds Keras with ``config.seed``, builds the model with ``config.build_model()`` and fits it
    with :func:`vaelib.models.training.fit_model` (Adam, ``steps_per_execution``, the model's own
    ``train_step`` and noise generator), feeding epoch ``e`` the slices of
    ``x_train[orders[e]]`` of ``config.batch_size`` images. No test set is evaluated (which
    would also draw noise). The cache is not used.

    Parameters
    ----------
    config : TrainConfig
    x_train : float array in [0, 1], shape (n, 784) or (n, 28, 28)
    orders : int array of shape (config.epochs, n), each row a permutation of range(n)
        (see :func:`minibatch_orders`).

    Returns
    -------
    model : the trained keras.Model
    history : dict mapping each of ``loss, reconstruction, kl, beta_kl`` to its per-epoch
        training mean (the mean over the epoch's minibatches of the minibatch means).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a vaelib.models.training.TrainConfig, got {type(config).__name__}")
    x_train = check_images(x_train, name="x_train")
    orders = _check_orders(orders, len(x_train), config.epochs)
    feed = _OrderedBatches(x_train, orders, config.batch_size)
    keras.utils.set_random_seed(config.seed)
    model = config.build_model()
    with warnings.catch_warnings():
        # fit_model passes shuffle=True, which Keras ignores (with a warning) for a tf.data.Dataset
        warnings.filterwarnings("ignore", message=r".*`shuffle=True` was passed, but will be ignored.*")
        fitted = fit_model(model, config, feed.dataset(), None, callbacks=[feed])
    history = {name: [float(v) for v in fitted.history[name]] for name in METRIC_NAMES}
    return model, history


# --------------------------------------------------------------------------------------------
# The estimator of eq. (11)
# --------------------------------------------------------------------------------------------
def log_likelihood(x, logits, likelihood: str = "squared_error", *, variance: float = SQUARED_ERROR_VARIANCE):
    """log p(x|z) per image (summed over the last axis), in float64, constants included.

    ``"squared_error"``: a Gaussian N(x; sigmoid(logits), variance * I), so that
    ``-log p = sum (x - x_hat)^2 / (2 variance) + (D / 2) log(2 pi variance)``; with the
    default variance 1/2 this is the squared error of :mod:`vaelib.models.networks` plus
    ``(D / 2) log(pi)``. ``"bernoulli"``: independent Bernoulli pixels with means
    sigmoid(logits), ``log p = -sum BCE(x, logits)`` (``variance`` is not used).

    ``x`` and ``logits`` broadcast against each other; their last axes have the same length D.
    """
    likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
    variance = check_real("variance", variance, minimum=0.0, inclusive_minimum=False)
    x, logits = np.asarray(x), np.asarray(logits)
    if x.ndim == 0 or logits.ndim == 0 or x.shape[-1] != logits.shape[-1]:
        raise ValueError(f"x and logits must have the same last axis (pixels), got shapes {x.shape} and {logits.shape}")
    try:
        shape = np.broadcast_shapes(x.shape, logits.shape)
    except ValueError:
        raise ValueError(f"x and logits must broadcast against each other, got shapes {x.shape} and {logits.shape}") from None
    x, logits = np.broadcast_to(x, shape), np.broadcast_to(logits, shape)
    if len(shape) == 1:
        return _log_likelihood_rows(x, logits, likelihood, variance)
    # Blocks of rows: each row's sum is computed alone, so the numbers are those of one pass over
    # everything, with float64 temporaries of a block instead of the whole array.
    out = np.empty(shape[:-1])
    for start in range(0, shape[0], _LIKELIHOOD_BLOCK_ROWS):
        block = slice(start, start + _LIKELIHOOD_BLOCK_ROWS)
        out[block] = _log_likelihood_rows(x[block], logits[block], likelihood, variance)
    return out


def _log_likelihood_rows(x, logits, likelihood: str, variance: float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    logits = np.asarray(logits, dtype=np.float64)
    if likelihood == "squared_error":
        x_hat = 0.5 * (1.0 + np.tanh(0.5 * logits))  # sigmoid without overflow
        n_pixels = x.shape[-1]
        return (-np.sum((x - x_hat) ** 2, axis=-1) / (2.0 * variance)
                - 0.5 * n_pixels * math.log(2.0 * math.pi * variance))
    # log sigmoid(l) = -softplus(-l), log(1 - sigmoid(l)) = -softplus(l)
    return -np.sum(np.maximum(logits, 0.0) - logits * x + np.log1p(np.exp(-np.abs(logits))), axis=-1)


def _encode(model: VAE, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return encode_mean(model, x)


def decoder_logits(model, z) -> np.ndarray:
    """The decoder's outputs (the logits of eq. (11)'s p(x|z)) at latent points ``z`` of shape (n, J),
    float64, computed a block of rows at a time."""
    model = check_vae(model)
    z = np.asarray(z, dtype=np.float32)
    if z.ndim != 2 or z.shape[1] != model.latent_dim:
        raise ValueError(f"z must have shape (n, {model.latent_dim}), got {z.shape}")
    return in_blocks(lambda block: model.decoder(block, training=False), z).astype(np.float64)


def log_likelihood_at_mean(model, x, likelihood: str | None = None) -> np.ndarray:
    """log p(x | z = mu(x)) per image, float64: :func:`log_likelihood` (``likelihood``, default the
    model's own) of the decoder's outputs at the posterior mean, a block of images at a time, so
    that no (n, 784) float64 array of logits is made. The same numbers as one pass."""
    model = check_vae(model)
    x = check_images(x, name="x")
    likelihood = model.likelihood if likelihood is None else check_choice("likelihood", likelihood, LIKELIHOODS)

    def block(images):
        return log_likelihood(images, decoder_logits(model, _encode(model, images)[0]), likelihood)

    return in_blocks(block, x)


def _log_likelihood_at(model: VAE, x: np.ndarray, z: np.ndarray, likelihood: str) -> np.ndarray:
    """log p(x_i | z[k, i, :]) for latent points z of shape (K, n, J); returns (K, n)."""
    n_points, n_images, latent_dim = z.shape
    flat = z.reshape(-1, latent_dim).astype(np.float32)
    # The training loss in float32 (multi-threaded; ~1e-6 relative), then the constant of
    # log_likelihood: the Gaussian's (D / 2) log(2 pi sigma^2) for squared error, 0 for Bernoulli.
    constant = (0.5 * x.shape[-1] * math.log(2.0 * math.pi * SQUARED_ERROR_VARIANCE)
                if likelihood == "squared_error" else 0.0)
    out = np.empty(len(flat))
    for start in range(0, len(flat), EAGER_ROWS):
        rows = np.arange(start, min(start + EAGER_ROWS, len(flat)))
        logits = model.decoder(flat[rows], training=False)
        loss = reconstruction_loss(x[rows % n_images], logits, likelihood)  # row k belongs to image k mod n
        out[rows] = -np.asarray(loss, dtype=np.float64) - constant
    return out.reshape(n_points, n_images)


def elbo_estimate(model, x, n_samples: int = 1, *, rng=None, epsilon=None, likelihood: str | None = None) -> np.ndarray:
    """Eq. (11) for every image: -KL(q(z|x) || p(z)) (eq. 10) + (1/L) sum_l log p(x | z^(l)).

    ``z^(l) = mu + sigma * epsilon^(l)`` with ``epsilon^(l) ~ N(0, I)`` drawn from ``rng``
    (a seed or a numpy Generator), or taken from ``epsilon`` of shape
    ``(n_samples, n_images, latent_dim)``. log p(x|z) is :func:`log_likelihood` for
    ``likelihood`` (default: the model's own), reading the decoder's outputs as that
    distribution's means. The estimate is unbiased for the ELBO (eq. 2) and, the KL being
    exact, its variance is Var_q[log p(x|z)] / L.

    Returns a float64 array of shape ``(n_images,)``.
    """
    model = check_vae(model)
    x = check_images(x, name="x")
    n_samples = check_int("n_samples", n_samples, minimum=1)
    likelihood = model.likelihood if likelihood is None else check_choice("likelihood", likelihood, LIKELIHOODS)
    mu, log_var = _encode(model, x)
    if epsilon is None:
        epsilon = check_rng(rng).standard_normal((n_samples,) + mu.shape)
    else:
        if rng is not None:
            raise ValueError("give rng or epsilon, not both")
        epsilon = np.asarray(epsilon, dtype=np.float64)
        if epsilon.shape != (n_samples,) + mu.shape:
            raise ValueError(f"epsilon must have shape (n_samples, n_images, latent_dim) = "
                             f"{(n_samples,) + mu.shape}, got {epsilon.shape}")
        if not np.all(np.isfinite(epsilon)):
            raise ValueError("epsilon must be finite")
    z = mu + np.exp(0.5 * log_var) * epsilon
    return -gaussian_kl_numpy(mu, log_var) + _log_likelihood_at(model, x, z, likelihood).mean(axis=0)


def reconstruction_moments(model, x, n_nodes: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of log p(x|z) under q(z|x), per image, by Gauss-Hermite quadrature.

    A tensor grid of ``n_nodes`` probabilists' Hermite nodes per latent dimension, mapped
    through z = mu + sigma * node, so the model is evaluated at ``n_nodes ** latent_dim``
    points per image (at most :data:`MAX_QUADRATURE_POINTS`; meant for 2-D latents). The
    decoder is piecewise smooth (ReLU), so the error falls slowly with ``n_nodes``: compare two
    values of ``n_nodes`` to bound it. ``mean - KL`` is the exact ELBO that eq. (11) estimates,
    and ``variance / L`` is the variance of that estimate.

    Returns two float64 arrays of shape ``(n_images,)``.
    """
    model = check_vae(model)
    x = check_images(x, name="x")
    n_nodes = check_int("n_nodes", n_nodes, minimum=2)
    latent_dim = model.latent_dim
    n_points = n_nodes ** latent_dim
    if n_points > MAX_QUADRATURE_POINTS:
        raise ValueError(f"n_nodes={n_nodes} gives {n_points} quadrature points per image in {latent_dim} latent "
                         f"dimensions, more than {MAX_QUADRATURE_POINTS}; use fewer nodes or Monte Carlo")
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    weights = weights / math.sqrt(2.0 * math.pi)  # weights of N(0, 1), summing to 1
    grid = np.stack(np.meshgrid(*[nodes] * latent_dim, indexing="ij"), axis=-1).reshape(n_points, latent_dim)
    grid_weights = np.prod(np.stack(np.meshgrid(*[weights] * latent_dim, indexing="ij"), axis=-1)
                           .reshape(n_points, latent_dim), axis=-1)
    mu, log_var = _encode(model, x)
    values = _log_likelihood_at(model, x, mu + np.exp(0.5 * log_var) * grid[:, None, :], model.likelihood)
    mean = grid_weights @ values
    variance = grid_weights @ (values - mean) ** 2
    return mean, variance


def equivalent_kl_weight(beta: float, variance: float) -> float:
    """The KL weight a squared-error VAE with weight ``beta`` has under a Gaussian likelihood.

    For a Gaussian p(x|z) = N(x_hat, variance * I),
    ``sum (x - x_hat)^2 + beta * KL = 2 variance * [-log p(x|z) + (beta / (2 variance)) * KL] + const``,
    so training with squared error and ``beta`` minimises the negative beta-ELBO (eq. 12) of that
    Gaussian with weight ``beta / (2 variance)``; it is the ELBO itself when variance = beta / 2.
    """
    beta = check_beta(beta)
    variance = check_real("variance", variance, minimum=0.0, inclusive_minimum=False)
    return beta / (2.0 * variance)


def bernoulli_floor(images) -> np.ndarray:
    """The smallest Bernoulli reconstruction term each image allows (eq. aevb-bce-floor of chapter 04):
    the binary entropy of its pixels, sum_j [-x_j log x_j - (1 - x_j) log(1 - x_j)], in float64."""
    images = check_images(images, name="images")

    def floor(block):
        pixels = block.astype(np.float64)
        return np.sum(special.entr(pixels) + special.entr(1 - pixels), axis=1)

    return in_blocks(floor, images)
