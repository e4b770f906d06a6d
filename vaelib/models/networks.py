"""Dense encoder/decoder builders, a plain autoencoder and the (beta-)VAE, in Keras 3 idioms.

Images enter as float32 vectors of 784 pixels in [0, 1] (training and evaluation by ``fit`` also
take uint8 pixels 0-255, scaled inside the step by :func:`as_unit_interval`). The decoder outputs one logit per
pixel; ``decode`` applies the sigmoid to give pixel means. Two reconstruction terms are
offered, both summed over the 784 pixels of an image (``pixel_reduction="mean"`` averages them
instead, the other common Keras idiom: the same as the sum with beta multiplied by 784, up to
Adam's epsilon) and averaged over the batch:

``"squared_error"``
    sum_j (x_j - sigmoid(logit_j))^2, the report's choice (Dobilas 2022). Up to constants it
    is -log p(x|z) for a Gaussian p(x|z) with variance 1/2 per pixel; the scale is a hidden
    weight on the reconstruction term relative to the KL term (chapter 04).
``"bernoulli"``
    sum_j BCE(x_j, logit_j) = -log p(x|z) for independent Bernoulli pixels.

The VAE minimises ``reconstruction + beta * KL`` (the negative of eq. 12); beta = 1 is the
ELBO of eq. (2) and beta = 0 leaves an autoencoder with noise in its code.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from vaelib._runtime.batching import EAGER_ROWS, in_blocks
from vaelib._runtime.validation import check_beta, check_choice, check_images, check_int, check_seed
from vaelib.maths.latent_families import FAMILIES, kl_to_prior, posterior_location, sample_posterior
from vaelib._runtime import random_draws

IMAGE_SIZE = 784
LIKELIHOODS = ("squared_error", "bernoulli")
PIXEL_REDUCTIONS = ("sum", "mean")
DEFAULT_HIDDEN_UNITS = (256, 128)
METRIC_NAMES = ("loss", "reconstruction", "kl", "beta_kl")


def check_hidden_units(hidden_units) -> tuple[int, ...]:
    """Hidden layer widths: a non-empty sequence of positive ints."""
    if isinstance(hidden_units, (str, bytes)) or not hasattr(hidden_units, "__iter__"):
        raise TypeError(f"hidden_units must be a sequence of positive integers, got {hidden_units!r}")
    units = tuple(check_int("hidden_units entry", u, minimum=1) for u in hidden_units)
    if not units:
        raise ValueError("hidden_units must name at least one hidden layer, got ()")
    return units


def build_encoder(latent_dim: int = 2, hidden_units=DEFAULT_HIDDEN_UNITS, *, variational: bool = True,
                  name: str = "encoder") -> keras.Model:
    """Dense ReLU encoder 784 -> hidden_units -> latent code.

    Returns a model mapping images to ``[mu, log_var]`` (``variational=True``, the q_phi(z|x)
    of eq. 2) or to a single deterministic code ``z`` (the plain autoencoder).
    """
    latent_dim = check_int("latent_dim", latent_dim, minimum=1)
    inputs = keras.Input(shape=(IMAGE_SIZE,), name="image")
    h = inputs
    for i, units in enumerate(check_hidden_units(hidden_units)):
        h = layers.Dense(units, activation="relu", name=f"hidden_{i}")(h)
    if variational:
        mu = layers.Dense(latent_dim, name="mu")(h)
        log_var = layers.Dense(latent_dim, name="log_var")(h)
        return keras.Model(inputs, [mu, log_var], name=name)
    return keras.Model(inputs, layers.Dense(latent_dim, name="z")(h), name=name)


def build_decoder(latent_dim: int = 2, hidden_units=DEFAULT_HIDDEN_UNITS, *, name: str = "decoder") -> keras.Model:
    """Dense ReLU decoder latent -> reversed(hidden_units) -> 784 pixel logits (p_theta(x|z))."""
    latent_dim = check_int("latent_dim", latent_dim, minimum=1)
    inputs = keras.Input(shape=(latent_dim,), name="z")
    h = inputs
    for i, units in enumerate(reversed(check_hidden_units(hidden_units))):
        h = layers.Dense(units, activation="relu", name=f"hidden_{i}")(h)
    return keras.Model(inputs, layers.Dense(IMAGE_SIZE, name="logits")(h), name=name)


PIXEL_LEVELS = np.arange(256, dtype=np.float32) / np.float32(255.0)
"""The 256 grey levels of a uint8 pixel in [0, 1], exactly as :func:`vaelib.data.to_unit_interval` scales them."""


def as_unit_interval(x):
    """uint8 pixels -> float32 in [0, 1] by looking up :data:`PIXEL_LEVELS` (the same numbers as
    scaling beforehand); float images pass unchanged. The training and test steps call it, so a model
    trains on uint8 pixels without a float32 copy of the training set."""
    if keras.backend.standardize_dtype(x.dtype) == "uint8":
        return ops.take(PIXEL_LEVELS, ops.cast(x, "int32"))
    return x


def reconstruction_loss(x, logits, likelihood: str = "squared_error", pixel_reduction: str = "sum"):
    """Per-image reconstruction loss, summed (or averaged) over pixels (see the module docstring)."""
    reduce = {"sum": ops.sum, "mean": ops.mean}.get(pixel_reduction)
    if reduce is None:
        check_choice("pixel_reduction", pixel_reduction, PIXEL_REDUCTIONS)
    if likelihood == "squared_error":
        return reduce(ops.square(x - ops.sigmoid(logits)), axis=-1)
    if likelihood == "bernoulli":
        return reduce(ops.binary_crossentropy(x, logits, from_logits=True), axis=-1)
    check_choice("likelihood", likelihood, LIKELIHOODS)


class _TrackedModel(keras.Model):
    """Shared plumbing: Mean trackers for the loss terms, train_step and test_step."""

    def __init__(self, likelihood: str, pixel_reduction: str = "sum", **kwargs):
        super().__init__(**kwargs)
        self.likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
        self.pixel_reduction = check_choice("pixel_reduction", pixel_reduction, PIXEL_REDUCTIONS)
        # float64 running sums: with steps_per_execution > 1 the per-step updates may be applied in
        # a different order from run to run; in float64 that cannot change the float32 result.
        self.trackers = {name: keras.metrics.Mean(name=name, dtype="float64") for name in METRIC_NAMES}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def loss_terms(self, x, training: bool):
        """Return a dict of batch-mean tensors for every name in METRIC_NAMES."""
        raise NotImplementedError

    def _update(self, terms):
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data):
        x = as_unit_interval(data[0] if isinstance(data, tuple) else data)
        with tf.GradientTape() as tape:
            terms = self.loss_terms(x, training=True)
        gradients = tape.gradient(terms["loss"], self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return self._update(terms)

    def test_step(self, data):
        x = as_unit_interval(data[0] if isinstance(data, tuple) else data)
        return self._update(self.loss_terms(x, training=False))

    def decode(self, z):
        """Pixel means sigmoid(decoder(z)) for latent points z, shape (n, 784)."""
        return ops.sigmoid(self.decoder(z))

    def load_initial_state(self, other: "_TrackedModel") -> None:
        """Make this compiled model train exactly as ``other`` (same class and graph, not yet trained)
        would: copy its weights, noise-generator state, optimizer variables and KL weight.

        :func:`vaelib.models.training.train` uses it to train several configurations with one compiled step.
        """
        if type(other) is not type(self) or [v.shape for v in other.variables] != [v.shape for v in self.variables]:
            raise ValueError(f"cannot load the state of {type(other).__name__} (variable shapes "
                             f"{[tuple(v.shape) for v in other.variables]}) into {type(self).__name__} (variable "
                             f"shapes {[tuple(v.shape) for v in self.variables]}): they differ in graph")
        other.optimizer.build(other.trainable_variables)  # Adam's zero moments and step count
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)
        for target, source in zip(self.variables + self.optimizer.variables, other.variables + other.optimizer.variables):
            target.assign(source)


class Autoencoder(_TrackedModel):
    """A deterministic autoencoder: z = encoder(x), loss = reconstruction only (kl tracked as 0)."""

    def __init__(self, latent_dim: int = 2, hidden_units=DEFAULT_HIDDEN_UNITS,
                 likelihood: str = "squared_error", *, pixel_reduction: str = "sum", **kwargs):
        super().__init__(likelihood, pixel_reduction, **kwargs)
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        self.encoder = build_encoder(latent_dim, hidden_units, variational=False)
        self.decoder = build_decoder(latent_dim, hidden_units)

    def call(self, x, training=False):
        return self.decoder(self.encoder(x, training=training), training=training)

    def encode(self, x):
        """Latent codes z = encoder(x)."""
        return self.encoder(x)

    def loss_terms(self, x, training: bool):
        reconstruction = ops.mean(reconstruction_loss(x, self(x, training=training), self.likelihood,
                                                      self.pixel_reduction))
        zero = ops.zeros_like(reconstruction)
        return {"loss": reconstruction, "reconstruction": reconstruction, "kl": zero, "beta_kl": zero}


class VAE(_TrackedModel):
    """VAE with a beta-weighted KL term (eq. 12), a choice of likelihood and of latent family.

    q_phi(z|x) and p(z) come from ``latent`` (see :mod:`vaelib.maths.latent_families`; the report's
    ``"gaussian"``: q = N(mu(x), diag(exp(log_var(x)))), p = N(0, I)); one reparameterized draw
    per image and step (L = 1 in eq. 11); the KL term in closed form (eq. 10 for the Gaussian).
    ``binarize=True`` (Bernoulli likelihood only) trains on dynamically binarized images: every
    step draws each pixel from Bernoulli(its grey level) afresh; evaluation uses the images as given.
    """

    def __init__(self, latent_dim: int = 2, hidden_units=DEFAULT_HIDDEN_UNITS, beta: float = 1.0,
                 likelihood: str = "squared_error", seed: int | None = None, *, latent: str = "gaussian",
                 binarize: bool = False, pixel_reduction: str = "sum", **kwargs):
        super().__init__(likelihood, pixel_reduction, **kwargs)
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        # A variable, not a constant of the compiled step, so one compiled model trains every beta
        # (vaelib.models.training); a plain tf.Variable, so it is not one of the model's weights.
        self._beta = tf.Variable(check_beta(beta), trainable=False, dtype="float32", name="beta")
        self.latent = check_choice("latent", latent, FAMILIES)
        if not isinstance(binarize, bool):
            raise TypeError(f"binarize must be True or False, got {binarize!r}")
        if binarize and self.likelihood != "bernoulli":
            raise ValueError(f"binarize=True needs likelihood='bernoulli' (binary pixels), got {self.likelihood!r}")
        self.binarize = binarize
        self.encoder = build_encoder(latent_dim, hidden_units, variational=True)
        self.decoder = build_decoder(latent_dim, hidden_units)
        self.noise = keras.random.SeedGenerator(None if seed is None else check_seed(seed))

    @property
    def beta(self) -> float:
        """The KL weight of eq. (12)."""
        return float(self._beta.numpy())

    def load_initial_state(self, other: "VAE") -> None:
        if isinstance(other, VAE) and ((other.latent, other.likelihood, other.binarize, other.pixel_reduction)
                                       != (self.latent, self.likelihood, self.binarize, self.pixel_reduction)):
            raise ValueError(f"cannot load a VAE with latent={other.latent!r}, likelihood={other.likelihood!r}, "
                             f"binarize={other.binarize!r}, pixel_reduction={other.pixel_reduction!r} into one with "
                             f"latent={self.latent!r}, likelihood={self.likelihood!r}, binarize={self.binarize!r}, "
                             f"pixel_reduction={self.pixel_reduction!r}")
        super().load_initial_state(other)
        self._beta.assign(other._beta)

    def encode(self, x):
        """The encoder's two heads for q_phi(z|x): (mu, log_var) for the Gaussian, else the
        family's raw (location, scale) parameters (see :mod:`vaelib.maths.latent_families`)."""
        return self.encoder(x)

    def posterior_location(self, x):
        """The centre of q_phi(z|x) for each image (mu for the Gaussian), a NumPy array."""
        a, s = self.encoder(x)
        return posterior_location(self.latent, a, s)

    def call(self, x, training=False):
        a, s = self.encoder(x, training=training)
        z = sample_posterior(self.latent, a, s, self.noise)
        return self.decoder(z, training=training)

    def loss_terms(self, x, training: bool):
        if training and self.binarize:
            x = ops.cast(random_draws.uniform(ops.shape(x), self.noise, dtype=x.dtype) < x, x.dtype)
        a, s = self.encoder(x, training=training)
        z = sample_posterior(self.latent, a, s, self.noise)
        logits = self.decoder(z, training=training)
        reconstruction = ops.mean(reconstruction_loss(x, logits, self.likelihood, self.pixel_reduction))
        kl = ops.mean(kl_to_prior(self.latent, a, s))
        beta_kl = self._beta * kl
        return {"loss": reconstruction + beta_kl, "reconstruction": reconstruction, "kl": kl, "beta_kl": beta_kl}


def check_vae(model, *, latent: str | None = None) -> VAE:
    """``model`` if it is a vaelib :class:`VAE` (with latent family ``latent``, if given), else a clear error."""
    if not isinstance(model, VAE):
        raise TypeError(f"model must be a vaelib.models.networks.VAE, got {type(model).__name__}")
    if latent is not None and model.latent != check_choice("latent", latent, FAMILIES):
        raise ValueError(f"this needs a VAE with latent={latent!r} (q(z|x) and p(z) of that family), "
                         f"got latent={model.latent!r}")
    return model


def encode_mean(model, x, *, batch_size: int = EAGER_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Run a VAE's encoder on images ``x`` (``batch_size`` rows a call, :func:`vaelib._runtime.batching.in_blocks`):
    return (mu, log_var) of q_phi(z|x) as float64 arrays."""
    x = check_images(x, name="x")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if not hasattr(model, "encode"):
        raise TypeError(f"model must have an encode method (a vaelib VAE), got {type(model).__name__}")
    out = in_blocks(model.encode, x, rows=batch_size)
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError("model.encode must return (mu, log_var): pass a VAE, not an autoencoder")
    return out[0].astype(np.float64), out[1].astype(np.float64)
