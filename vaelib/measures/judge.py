"""Judging generated digits with a digit classifier: the report's eq. (13) and measures beside it.

The report scores images by the confidence of a digit classifier: the average probability of
the top class over a set of images, divided by the same average over the MNIST test images
(eq. 13, :func:`confidence_ratio`). That ratio rewards confident, prototype-like digits; it does
not see realism or diversity. The other measures here do: the fraction of images classified
with high confidence (:func:`confident_fraction`), the entropy of the predicted-class histogram
over many prior samples (:func:`class_entropy`, low for a generator that always draws the same
digit) and, for reconstructions, the accuracy against the true label (:func:`label_accuracy`:
a reconstruction that looks like another digit counts as wrong).

The classifier (:func:`train_classifier`) is a small convolutional network trained with a seed
and cached on disk exactly like the VAEs (:mod:`vaelib._runtime.cache`): the key is made of its
configuration, a digest of the data, the source of this module and the library versions. A weaker
judge of about the report's quality, a dense network trained briefly (``architecture="mlp"``,
:data:`ARCHITECTURES`), goes through the same path.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from vaelib._runtime import cache
from vaelib._runtime.batching import in_blocks
from vaelib._runtime.memory import releases_free_memory
from vaelib._runtime.validation import (
    check_choice, check_images, check_int, check_labels, check_real, check_seed, check_training_images,
)
from vaelib.data import images_digest, unit_images
from vaelib.models.networks import as_unit_interval

N_CLASSES = 10
STEPS_PER_EXECUTION = 16

ARCHITECTURES = {
    "cnn": {"epochs": 3, "learning_rate": 2e-3, "filters": (16, 32), "dense_units": 64, "dense_layers": 1},
    "mlp": {"epochs": 10, "learning_rate": 2.5e-5, "filters": (), "dense_units": 32, "dense_layers": 2},
}
"""The classifiers and the settings each takes by default (a setting left as None in :class:`ClassifierConfig`).

``"cnn"``, the book's judge: two 3x3 convolutions (``filters`` channels, each followed by 2x2 max pooling)
and one hidden dense layer, 98-99% test accuracy on MNIST after 3 epochs. ``"mlp"``, a judge of
about the report's quality ("a neural network with multiple layers" that after 10 epochs classified
"over 85 percent" of the test digits right, with an average top-class confidence of 0.71 on them):
two dense hidden layers of 32 units and no convolutions, trained for 10 epochs with Adam at a small
learning rate, 2.5e-5, chosen so that it stops well short of what it could learn. Measured on full
MNIST (60,000 training, 10,000 test images), seeds 0, 1, 2: test accuracy 0.878, 0.864, 0.863 and
mean top-class confidence on the test images 0.709, 0.685, 0.674 (the same network trained with
Adam's default rate, 1e-3, reaches 0.92 after a single epoch).
"""


@dataclass(frozen=True)
class ClassifierConfig:
    """Everything that decides the classifier (and so its cache key).

    Parameters
    ----------
    seed : seeds weight initialisation and shuffling (keras.utils.set_random_seed)
    architecture : ``"cnn"`` (the book's judge) or ``"mlp"`` (a weaker one); see :data:`ARCHITECTURES`
    epochs, batch_size, learning_rate : optimisation (Adam, cross-entropy)
    filters : channels of the two 3x3 convolution layers (each followed by 2x2 max pooling); "cnn" only
        (an "mlp" has none: ``()``)
    dense_units, dense_layers : width and number of the hidden dense layers before the 10-way softmax
        (after the convolutions, for "cnn")

    epochs, learning_rate, filters, dense_units and dense_layers left as None take the architecture's
    value in :data:`ARCHITECTURES`.
    """

    seed: int = 0
    architecture: str = "cnn"
    epochs: int | None = None
    batch_size: int = 256
    learning_rate: float | None = None
    filters: tuple[int, ...] | None = None
    dense_units: int | None = None
    dense_layers: int | None = None

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen dataclass)
        set_("seed", check_seed(self.seed))
        set_("architecture", check_choice("architecture", self.architecture, ARCHITECTURES))
        for name, default in ARCHITECTURES[self.architecture].items():
            if getattr(self, name) is None:
                set_(name, default)
        set_("epochs", check_int("epochs", self.epochs, minimum=1))
        set_("batch_size", check_int("batch_size", self.batch_size, minimum=1))
        set_("learning_rate", check_real("learning_rate", self.learning_rate, minimum=0.0, inclusive_minimum=False))
        n_filters = 2 if self.architecture == "cnn" else 0
        if isinstance(self.filters, (str, bytes)) or len(tuple(self.filters)) != n_filters:
            raise ValueError(f"filters must be two positive integers for architecture='cnn' and () for 'mlp' "
                             f"(which has no convolutions), got {self.filters!r} with {self.architecture!r}")
        set_("filters", tuple(check_int("filters entry", f, minimum=1) for f in self.filters))
        set_("dense_units", check_int("dense_units", self.dense_units, minimum=1))
        set_("dense_layers", check_int("dense_layers", self.dense_layers, minimum=1))

    def build_model(self) -> keras.Model:
        """A fresh, compiled classifier: (n, 784) pixels in [0, 1] -> (n, 10) class probabilities."""
        layers = keras.layers
        inputs = keras.Input(shape=(784,), name="pixels")
        h = inputs
        if self.filters:
            h = layers.Reshape((28, 28, 1))(h)
            for i, channels in enumerate(self.filters):
                h = layers.Conv2D(channels, 3, activation="relu", name=f"conv_{i}")(h)
                h = layers.MaxPooling2D(2, name=f"pool_{i}")(h)
            h = layers.Flatten()(h)
        for i in range(self.dense_layers):
            h = layers.Dense(self.dense_units, activation="relu", name="hidden" if i == 0 else f"hidden_{i}")(h)
        outputs = layers.Dense(N_CLASSES, activation="softmax", name="probabilities")(h)
        model = _PixelClassifier(inputs, outputs, name="digit_classifier")
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], steps_per_execution=STEPS_PER_EXECUTION)
        return model

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


class _PixelClassifier(keras.Model):
    """The classifier's network; it trains on uint8 pixels or floats in [0, 1] alike.

    Its training step scales uint8 pixels (:func:`vaelib.models.networks.as_unit_interval`, the same floats
    as scaling beforehand), so fitting on the 60,000 training pixels never holds a float32 copy of
    them: 0.35 GB less at the peak of training (benchmarks/LEVERS.md), the same weights bit for bit.
    """

    def train_step(self, data):
        x, y = data
        return super().train_step((as_unit_interval(x), y))


@dataclass
class Classifier:
    """A trained digit classifier with its test accuracy and how it was obtained."""

    config: ClassifierConfig
    model: keras.Model
    test_accuracy: float
    train_seconds: float
    from_cache: bool


def classifier_cache_key(config: ClassifierConfig, x_train, y_train, x_test, y_test) -> str:
    """The cache key: configuration, data digest, this module's source and library versions.

    The arrays are validated first (images as (n, 784), digested as floats in [0, 1] by
    :func:`vaelib.data.images_digest`; labels as int32), so the same data in another accepted
    layout or as uint8 pixels gives the same key.
    """
    if not isinstance(config, ClassifierConfig):
        raise TypeError(f"config must be a vaelib.measures.judge.ClassifierConfig, got {type(config).__name__}")
    x_train, y_train = _check_labelled(x_train, y_train, "train")
    x_test, y_test = _check_labelled(x_test, y_test, "test")
    data = images_digest(x_train, x_test) + cache.data_digest(y_train, y_test)
    return cache.entry_key("digit_classifier", config.as_dict(), data,
                           cache.source_digest("measures/judge.py"))


def _check_labelled(x, y, name: str) -> tuple[np.ndarray, np.ndarray]:
    x = check_training_images(x, name=f"x_{name}")
    y = check_labels(y, len(x), name=f"y_{name}").astype(np.int32)
    return x, y


@releases_free_memory
def train_classifier(x_train, y_train, x_test, y_test, seed: int = 0, epochs: int | None = None, *,
                     batch_size: int = 256, architecture: str = "cnn", use_cache: bool = True,
                     cache_dir=None) -> Classifier:
    """Train (or load from the cache) the digit classifier used to score images.

    Parameters
    ----------
    x_train, x_test : uint8 pixels 0-255 or float arrays in [0, 1], shape (n, 784) or (n, 28, 28);
        both forms of the same images give the same cache entry (pixels are scaled only to train)
    y_train, y_test : integer labels 0-9
    seed, epochs, batch_size, architecture : see :class:`ClassifierConfig` (epochs None: the architecture's,
        3 for "cnn" and 10 for "mlp")
    use_cache : read and write the on-disk cache (default True)
    cache_dir : overrides the cache location (default :func:`vaelib._runtime.cache.default_cache_dir`)

    Returns
    -------
    Classifier, whose ``test_accuracy`` is measured on ``(x_test, y_test)``.
    """
    x_train, y_train = _check_labelled(x_train, y_train, "train")
    x_test, y_test = _check_labelled(x_test, y_test, "test")
    config = ClassifierConfig(seed=seed, architecture=architecture, epochs=epochs, batch_size=batch_size)
    if config.batch_size > len(x_train):
        raise ValueError(f"batch_size={config.batch_size} exceeds the {len(x_train)} training images")

    def fit() -> Classifier:
        keras.utils.set_random_seed(config.seed)
        model = config.build_model()
        start = time.perf_counter()
        model.fit(x_train, y_train, epochs=config.epochs, batch_size=config.batch_size, shuffle=True, verbose=0)
        seconds = time.perf_counter() - start
        accuracy = label_accuracy(predict_proba(model, unit_images(x_test, name="x_test")), y_test)
        if not math.isfinite(accuracy):
            raise RuntimeError("classifier training diverged: the test accuracy is not finite")
        return Classifier(config, model, accuracy, seconds, from_cache=False)

    def encode(classifier: Classifier) -> tuple[dict, dict]:
        weights = {f"w{i}": np.asarray(w) for i, w in enumerate(classifier.model.get_weights())}
        return {"weights": weights}, {"config": config.as_dict(), "test_accuracy": classifier.test_accuracy,
                                      "train_seconds": classifier.train_seconds}

    def decode(arrays: dict, metadata: dict) -> Classifier:
        named = arrays["weights"]
        model = config.build_model()
        model.set_weights([named[f"w{i}"] for i in range(len(named))])
        return Classifier(config, model, metadata["test_accuracy"], metadata["train_seconds"], from_cache=True)

    classifier, from_cache = cache.cached(classifier_cache_key(config, x_train, y_train, x_test, y_test), fit,
                                          encode=encode, decode=decode, use_cache=use_cache, cache_dir=cache_dir,
                                          then="retraining the classifier", describes={"config": config.as_dict()})
    return dataclasses.replace(classifier, from_cache=from_cache)


def classifier_model(classifier) -> keras.Model:
    """The keras network of a :class:`Classifier`, or ``classifier`` itself if it is a keras model."""
    model = classifier.model if isinstance(classifier, Classifier) else classifier
    if not isinstance(model, keras.Model):
        raise TypeError(f"classifier must be a vaelib.measures.judge.Classifier or a keras.Model, "
                        f"got {type(classifier).__name__}")
    return model


@functools.partial(tf.function, reduce_retracing=True)
def _probabilities(model: keras.Model, images: tf.Tensor) -> tf.Tensor:
    return model(images, training=False)


def predict_proba(classifier, images, *, batch_size: int = 256) -> np.ndarray:
    """Class probabilities, shape (n, 10), float64, for images in [0, 1] ((n, 784) or (n, 28, 28)).

    ``classifier`` is a :class:`Classifier` or a keras model mapping (n, 784) to probabilities.
    The images go through the network in blocks of ``batch_size`` (the first convolution's output
    is batch_size x 26 x 26 x 32 floats) by one traced function per model, not ``model.predict``:
    ``predict`` kept about 0.015 GB for every call with a new image count (eight calls: 0.11 GB
    more than this path) and took longer; the probabilities are the same bit for bit at the same
    block size (``benchmarks/LEVERS.md``). Another ``batch_size`` changes them by float32 rounding
    at most (the CPU may pick another matrix kernel for another row count).
    """
    model = classifier_model(classifier)
    images = check_images(images)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    probs = in_blocks(lambda block: _probabilities(model, block), images, rows=batch_size)
    return check_probabilities(probs.astype(np.float64))


def check_probabilities(probs, *, name: str = "probs") -> np.ndarray:
    """Validate class probabilities: shape (n, 10), n >= 1, entries in [0, 1], rows summing to 1.

    The row-sum tolerance, 1e-4, allows for float32 softmax outputs (relative error ~1e-7 per
    entry) with room to spare.
    """
    array = np.asarray(probs)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if array.ndim != 2 or array.shape[1] != N_CLASSES:
        raise ValueError(f"{name} must have shape (n, {N_CLASSES}), got {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{name} is empty: at least one row of probabilities is needed")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if array.min() < 0.0 or array.max() > 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got values in [{array.min():g}, {array.max():g}]")
    worst = float(np.max(np.abs(array.sum(axis=1) - 1.0)))
    if worst > 1e-4:
        raise ValueError(f"each row of {name} must sum to 1, got a row off by {worst:g}")
    return array


def mean_confidence(probs) -> float:
    """Average top-class probability of a set of images (the numerator of eq. 13)."""
    return float(check_probabilities(probs).max(axis=1).mean())


def confidence_ratio(probs, baseline_probs) -> float:
    """Eq. (13): average top-class probability of ``probs`` over that of ``baseline_probs``.

    With the test images as baseline, the ratio of the test images themselves is 1 by definition.
    """
    return mean_confidence(probs) / mean_confidence(baseline_probs)


def confidence_ratio_se(probs, baseline_probs) -> float:
    """Standard error of :func:`confidence_ratio` by the delta method.

    se(a / b) ~= (a / b) * sqrt((se_a / a)^2 + (se_b / b)^2), with se of each average its sample
    standard deviation over sqrt(n). The two sets are treated as independent; when they are
    the same images (ratio 1) or reconstructions of them, the true error is smaller, so this
    errs on the side of caution.
    """
    top, base = check_probabilities(probs).max(axis=1), check_probabilities(baseline_probs, name="baseline_probs").max(axis=1)
    a, b = top.mean(), base.mean()
    se_a = top.std(ddof=1) / math.sqrt(len(top)) if len(top) > 1 else 0.0
    se_b = base.std(ddof=1) / math.sqrt(len(base)) if len(base) > 1 else 0.0
    return float(a / b * math.sqrt((se_a / a) ** 2 + (se_b / b) ** 2))


def confident_fraction(probs, threshold: float = 0.9) -> float:
    """Fraction of images whose top-class probability exceeds ``threshold`` (in [0, 1))."""
    threshold = check_real("threshold", threshold, minimum=0.0, maximum=1.0)
    return float(np.mean(check_probabilities(probs).max(axis=1) > threshold))


def class_histogram(probs) -> np.ndarray:
    """Fraction of images assigned to each digit 0-9 (by the top class), shape (10,)."""
    predicted = check_probabilities(probs).argmax(axis=1)
    return np.bincount(predicted, minlength=N_CLASSES) / len(predicted)


def class_entropy(probs) -> float:
    """Entropy, in bits, of the predicted-class histogram (0 = one digit only, log2(10) ~ 3.32 = uniform).

    Over many prior samples it measures diversity: a generator that always draws the same
    prototype scores 0 however confident the classifier is.
    """
    frequencies = class_histogram(probs)
    frequencies = frequencies[frequencies > 0]
    return float(max(0.0, -np.sum(frequencies * np.log2(frequencies))))


def label_accuracy(probs, labels) -> float:
    """Fraction of images whose top class is the true label (for reconstructions: a
    reconstruction that looks like another digit counts as wrong)."""
    probs = check_probabilities(probs)
    labels = check_labels(labels, len(probs))
    return float(np.mean(probs.argmax(axis=1) == labels))


def quality_measures(probs, baseline_probs, labels=None, *, threshold: float = 0.9) -> dict[str, float]:
    """All measures for one set of images: eq. 13's ratio and its standard error, the mean
    confidence, the confident fraction, the class entropy and (given ``labels``) the accuracy."""
    measures = {
        "ratio": confidence_ratio(probs, baseline_probs),
        "ratio_se": confidence_ratio_se(probs, baseline_probs),
        "mean_confidence": mean_confidence(probs),
        "confident_fraction": confident_fraction(probs, threshold),
        "class_entropy": class_entropy(probs),
    }
    if labels is not None:
        measures["accuracy"] = label_accuracy(probs, labels)
    return measures


