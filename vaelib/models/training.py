"""Seeded, cached training with per-epoch history and weight snapshots.

``train(config, x_train, x_test)`` builds the model that ``config`` describes, trains it for
``config.epochs`` epochs from ``config.seed`` and returns a :class:`TrainResult`: the per-epoch
history of every loss term on the training and test images, and the weights at each snapshot
epoch. Results are cached (see :mod:`vaelib._runtime.cache`) under a key made of the configuration,
a digest of the data, the source of the modules that decide training and the library
versions, so a model that several chapters use is trained once.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from vaelib._runtime import cache
from vaelib._runtime.validation import (
    check_beta, check_choice, check_int, check_int_sequence, check_real, check_seed, check_training_images,
)
from vaelib.data import images_digest
from vaelib.maths.latent_families import FAMILIES
from vaelib.models import progress
from vaelib.models.networks import (
    DEFAULT_HIDDEN_UNITS, LIKELIHOODS, METRIC_NAMES, PIXEL_REDUCTIONS, VAE, Autoencoder, check_hidden_units,
)

logger = logging.getLogger(__name__)

MODEL_KINDS = ("vae", "ae")
# Modules whose source decides a training result; their text is part of the cache key.
TRAINING_MODULES = ("_runtime/host.py", "_runtime/validation.py", "_runtime/random_draws.py", "maths/gaussian.py",
                    "maths/latent_families.py", "models/networks.py", "models/training.py")
STEPS_PER_EXECUTION = 32
# The whole training step (forward, backward, Adam's update, the trackers) is compiled by XLA,
# which fuses the elementwise work that otherwise runs as separate kernels
# (benchmarks/RESULTS.md: about 1.25x per epoch on this 2-core CPU).
JIT_COMPILE = True
# XLA compiles the step of the report's setting only (squared-error likelihood, Gaussian latent),
# which the book trains dozens of times. The other graphs train one or two models each: the Laplace
# and uniform VAEs (chapter 11) gain nothing from XLA (48 s either way for 20 epochs), the Bernoulli
# VAEs (chapters 04, 13) 1.13-1.45x, but every compiled step stays in the kernel for good
# (0.07-0.15 GB each) beside the report model's, which took those chapters over 1.5 GB; they run as
# plain TensorFlow graphs (benchmarks/LEVERS.md, lever 15).
XLA_SETTING = {"likelihood": "squared_error", "latent": "gaussian"}


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training result (and so the cache key).

    Parameters
    ----------
    model : "vae" or "ae"
    beta : KL weight of eq. (12), finite and >= 0; default 1.0 for "vae". An "ae" has no KL term:
        it takes None or 0.0 (stored as 0.0) and refuses any other value
    likelihood : "squared_error" (the report's) or "bernoulli"
    pixel_reduction : "sum" (the book's reading of the report) or "mean": how the reconstruction term
        combines the 784 pixels of an image (see vaelib.models.networks)
    latent : latent family, "gaussian" (the report's), "laplace" or "uniform" (vaelib.maths.latent_families)
    binarize : dynamic binarization of the training images (Bernoulli likelihood only)
    latent_dim, hidden_units : architecture (see vaelib.models.networks)
    epochs, batch_size, learning_rate, seed : optimisation (Adam)
    snapshot_epochs : epochs whose weights are kept besides the last one
    """

    model: str = "vae"
    beta: float | None = None
    likelihood: str = "squared_error"
    pixel_reduction: str = "sum"
    latent: str = "gaussian"
    binarize: bool = False
    latent_dim: int = 2
    hidden_units: tuple[int, ...] = DEFAULT_HIDDEN_UNITS
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    snapshot_epochs: tuple[int, ...] = field(default=())

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen dataclass)
        set_("model", check_choice("model", self.model, MODEL_KINDS))
        if self.model == "vae":
            set_("beta", 1.0 if self.beta is None else check_beta(self.beta))
        else:
            if self.beta is not None and check_beta(self.beta) != 0.0:
                raise ValueError(f"beta applies to model='vae' only (an autoencoder has no KL term), got "
                                 f"beta={self.beta!r} with model='ae'; leave beta out")
            set_("beta", 0.0)
        set_("likelihood", check_choice("likelihood", self.likelihood, LIKELIHOODS))
        set_("pixel_reduction", check_choice("pixel_reduction", self.pixel_reduction, PIXEL_REDUCTIONS))
        set_("latent", check_choice("latent", self.latent, FAMILIES))
        if not isinstance(self.binarize, bool):
            raise TypeError(f"binarize must be True or False, got {self.binarize!r}")
        if self.binarize and self.likelihood != "bernoulli":
            raise ValueError(f"binarize=True needs likelihood='bernoulli' (binary pixels), got {self.likelihood!r}")
        if self.model == "ae" and (self.latent != "gaussian" or self.binarize):
            raise ValueError(f"latent and binarize apply to model='vae' only, got latent={self.latent!r}, "
                             f"binarize={self.binarize!r} with model='ae'")
        set_("latent_dim", check_int("latent_dim", self.latent_dim, minimum=1))
        set_("hidden_units", check_hidden_units(self.hidden_units))
        set_("epochs", check_int("epochs", self.epochs, minimum=1))
        set_("batch_size", check_int("batch_size", self.batch_size, minimum=1))
        set_("learning_rate", check_real("learning_rate", self.learning_rate, minimum=0.0, inclusive_minimum=False))
        set_("seed", check_seed(self.seed))
        snapshots = check_int_sequence("snapshot_epochs", self.snapshot_epochs, minimum=1)
        if snapshots and snapshots[-1] > self.epochs:
            raise ValueError(f"snapshot_epochs must lie in 1..epochs={self.epochs}, got {list(snapshots)}")
        set_("snapshot_epochs", tuple(sorted(set(snapshots) | {self.epochs})))

    def build_model(self) -> keras.Model:
        """A fresh, untrained, compiled model for this configuration."""
        if self.model == "ae":
            model = Autoencoder(self.latent_dim, self.hidden_units, self.likelihood,
                                pixel_reduction=self.pixel_reduction)
        else:
            model = VAE(self.latent_dim, self.hidden_units, self.beta, self.likelihood, seed=self.seed,
                        latent=self.latent, binarize=self.binarize, pixel_reduction=self.pixel_reduction)
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), steps_per_execution=STEPS_PER_EXECUTION,
                      jit_compile=self.jit_compile)
        model.build((None, 784))
        return model

    @property
    def jit_compile(self) -> bool:
        """Whether XLA compiles this configuration's training step (JIT_COMPILE and XLA_SETTING)."""
        return JIT_COMPILE and all(getattr(self, name) == value for name, value in XLA_SETTING.items())

    def graph_key(self) -> tuple:
        """What decides the compiled training step: configurations that agree on it share one (see :func:`train`)."""
        return (self.model, self.likelihood, self.pixel_reduction, self.latent, self.binarize, self.latent_dim,
                self.hidden_units)

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


@dataclass
class TrainResult:
    """A trained model's configuration, per-epoch history and weight snapshots."""

    config: TrainConfig
    history: dict[str, list[float]]
    snapshots: dict[int, list[np.ndarray]]
    train_seconds: float
    from_cache: bool

    def model(self, epoch: int | None = None) -> keras.Model:
        """The model with its weights as they were after ``epoch`` (default: the last)."""
        epoch = self.config.epochs if epoch is None else epoch
        if epoch not in self.snapshots:
            raise ValueError(f"epoch must be one of the snapshot epochs {sorted(self.snapshots)}, got {epoch!r}")
        model = self.config.build_model()
        model.set_weights(self.snapshots[epoch])
        return model


def source_digest() -> str:
    """sha256 of the source of the modules that decide training (TRAINING_MODULES)."""
    return cache.source_digest(*TRAINING_MODULES)


def cache_key(config: TrainConfig, x_train: np.ndarray, x_test: np.ndarray) -> str:
    """The cache key: configuration, data (as floats in [0, 1], so uint8 pixels and their scaled
    floats give one key: :func:`vaelib.data.images_digest`), training source and library versions."""
    return _key(config, images_digest(x_train, x_test))


def _key(config: TrainConfig, data_digest: str) -> str:
    return cache.entry_key("trained_model", config.as_dict(), data_digest, source_digest())


def missing_from_cache(configs, x_train: np.ndarray, x_test: np.ndarray, *, cache_dir=None) -> list[TrainConfig]:
    """The configurations in ``configs`` whose model is not in the cache yet (unverified: an entry that
    turns out corrupt is retrained all the same)."""
    digest, directory = images_digest(x_train, x_test), cache.default_cache_dir() if cache_dir is None else Path(cache_dir)
    return [c for c in configs if not (cache.entry_path(directory, _key(c, digest)) / cache.MANIFEST).is_file()]


class _Snapshots(keras.callbacks.Callback):
    """Keep weights at the snapshot epochs; stop with an error naming the epoch on a NaN loss."""

    def __init__(self, epochs: tuple[int, ...]):
        super().__init__()
        self.epochs = set(epochs)
        self.weights: dict[int, list[np.ndarray]] = {}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        bad = {k: v for k, v in logs.items() if not math.isfinite(float(v))}
        if bad:
            raise TrainingDivergedError(
                f"training diverged at epoch {epoch + 1}: {', '.join(f'{k}={v}' for k, v in bad.items())}; "
                "lower the learning rate or check the data")
        if epoch + 1 in self.epochs:
            self.weights[epoch + 1] = [np.array(w) for w in self.model.get_weights()]


def fit_model(model: keras.Model, config: TrainConfig, x_train: np.ndarray, x_test: np.ndarray | None = None,
              callbacks=()) -> keras.callbacks.History:
    """Fit a compiled ``model`` for ``config.epochs`` epochs, exactly as :func:`train` does.

    ``x_train`` and ``x_test`` are uint8 pixels or floats in [0, 1], (n, 784) (see :func:`train`).
    ``x_test``, if given, is evaluated after every epoch (the ``val_*`` history entries).
    ``benchmarks/bench_training.py`` times this function, so speed-ups belong here.
    """
    validation_data = None if x_test is None else (x_test,)
    return model.fit(x_train, epochs=config.epochs, batch_size=config.batch_size, shuffle=True,
                     validation_data=validation_data, validation_batch_size=1024, callbacks=list(callbacks),
                     verbose=0)


# One compiled model per graph (TrainConfig.graph_key), kept for the life of the process. XLA keeps
# the code it compiles for every new model's step until the process ends (about 0.07 GB and 4 s a
# model, benchmarks/RESULTS.md), so the models a chapter trains reuse one compiled step: each starts
# from the state a fresh model built from its seed would have (beta and the learning rate are
# variables), and trains exactly as that fresh model would (tests/test_train.py).
_COMPILED_MODELS: dict[tuple, keras.Model] = {}


def _model_to_fit(config: TrainConfig) -> keras.Model:
    """A compiled model in the initial state of ``config.build_model()`` after seeding with ``config.seed``."""
    keras.utils.set_random_seed(config.seed)
    fresh = config.build_model()
    compiled = _COMPILED_MODELS.setdefault(config.graph_key(), fresh)
    if compiled is not fresh:
        compiled.load_initial_state(fresh)
    return compiled


def _fit(config: TrainConfig, x_train: np.ndarray, x_test: np.ndarray) -> tuple[dict, dict, float]:
    model = _model_to_fit(config)
    snapshots = _Snapshots(config.snapshot_epochs)
    start = time.perf_counter()
    shown = [progress.TrainingProgress(config, len(x_train))] if progress.enabled() else []
    fitted = fit_model(model, config, x_train, x_test, callbacks=[snapshots, *shown])
    seconds = time.perf_counter() - start
    history = {}
    for name in METRIC_NAMES:
        history[f"train_{name}"] = [float(np.float32(v)) for v in fitted.history[name]]
        history[f"test_{name}"] = [float(np.float32(v)) for v in fitted.history[f"val_{name}"]]
    return history, snapshots.weights, seconds


def train(config: TrainConfig, x_train, x_test, *, use_cache: bool = True, cache_dir=None) -> TrainResult:
    """Train (or load from the cache) the model ``config`` describes.

    Parameters
    ----------
    config : TrainConfig
    x_train, x_test : uint8 pixels 0-255, or float arrays in [0, 1] (:func:`vaelib.data.to_unit_interval`);
        shape (n, 784) or (n, 28, 28). uint8 pixels train with a quarter of the memory: the step scales
        them (:func:`vaelib.models.networks.as_unit_interval`) to exactly the floats, so both forms give the same
        model and share a cache entry.
    use_cache : read and write the on-disk cache (default True).
    cache_dir : overrides the cache location (default :func:`vaelib._runtime.cache.default_cache_dir`).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a vaelib.models.training.TrainConfig, got {type(config).__name__}")
    if not isinstance(use_cache, bool):
        raise TypeError(f"use_cache must be True or False, got {use_cache!r}")
    x_train = check_training_images(x_train, name="x_train")
    x_test = check_training_images(x_test, name="x_test")
    if config.batch_size > len(x_train):
        raise ValueError(f"batch_size={config.batch_size} exceeds the {len(x_train)} training images")
    def fit() -> TrainResult:
        history, snapshots, seconds = _fit(config, x_train, x_test)
        return TrainResult(config, history, snapshots, seconds, from_cache=False)

    result, from_cache = cache.cached(cache_key(config, x_train, x_test), fit, encode=_encode_result,
                                      decode=functools.partial(_decode_result, config), use_cache=use_cache,
                                      cache_dir=cache_dir, then="retraining", describes={"config": config.as_dict()})
    return dataclasses.replace(result, from_cache=from_cache)


def _encode_result(result: TrainResult) -> tuple[dict, dict]:
    arrays = {f"weights_e{epoch:03d}": {f"w{i}": w for i, w in enumerate(weights)}
              for epoch, weights in result.snapshots.items()}
    return arrays, {"config": result.config.as_dict(), "history": result.history, "train_seconds": result.train_seconds}


def _decode_result(config: TrainConfig, arrays: dict, metadata: dict) -> TrainResult:
    snapshots = {int(stem.removeprefix("weights_e")): [named[f"w{i}"] for i in range(len(named))]
                 for stem, named in arrays.items()}
    return TrainResult(config, metadata["history"], snapshots, metadata["train_seconds"], from_cache=True)
