"""The book's experiments: MNIST for the chapters and the book's training settings.

Chapters ask for a trained model by what they vary (beta, model kind, epochs, training-set
size); everything else is the book's setting (:func:`report_config`), so two chapters asking for the same model get
the same cache entry and it trains once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from vaelib.checks import check_int
from vaelib.data import MnistDataset, load_mnist_dataset, to_unit_interval
from vaelib.memory import releases_free_memory
from vaelib.train import TrainConfig, TrainResult, train

REPORT_EPOCHS = 20
REPORT_SNAPSHOT_EPOCHS = (1, 5, 10, 20)
REPORT_BETAS = (0.0, 1.0, 5.0, 50.0)


@dataclass(frozen=True)
class UnitMnist:
    """MNIST for the chapters: test images as float32 in [0, 1], flattened to 784 values; the
    training images as uint8 pixels, scaled to float32 only when asked.

    The models train on the uint8 pixels (:func:`trained`), so a chapter that needs no training
    image as floats never holds the 0.19 GB float32 copy of the 60,000; ``x_train`` builds it (once)
    and :meth:`train_images` scales only the rows asked for.
    """

    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    dataset: MnistDataset

    @property
    def is_full(self) -> bool:
        return self.dataset.is_full

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def pixels_train(self) -> np.ndarray:
        """The training images as uint8 pixels 0-255, shape (n, 784) (a view, no copy)."""
        return self.dataset.x_train.reshape(len(self.dataset.x_train), 784)

    @property
    def pixels_test(self) -> np.ndarray:
        """The test images as uint8 pixels 0-255, shape (n, 784) (a view, no copy)."""
        return self.dataset.x_test.reshape(len(self.dataset.x_test), 784)

    @functools.cached_property
    def x_train(self) -> np.ndarray:
        """All training images as float32 in [0, 1], (n, 784), built on first use and kept."""
        return to_unit_interval(self.dataset.x_train)

    def train_images(self, rows=slice(None)) -> np.ndarray:
        """The training images ``rows`` selects (a slice or integer indices) as float32 in [0, 1]."""
        if "x_train" in self.__dict__:  # already scaled
            return self.x_train[rows]
        return to_unit_interval(self.dataset.x_train[rows])


@functools.lru_cache(maxsize=2)
def _unit_mnist(dataset: MnistDataset) -> UnitMnist:
    return UnitMnist(dataset.y_train, to_unit_interval(dataset.x_test), dataset.y_test, dataset)


def unit_mnist(path=None) -> UnitMnist:
    """Load MNIST (see :func:`vaelib.data.load_mnist_dataset`): test images scaled to [0, 1], training pixels as uint8."""
    return _unit_mnist(load_mnist_dataset(path))


def report_config(beta: float | None = None, *, model: str = "vae", epochs: int = REPORT_EPOCHS,
                  **overrides) -> TrainConfig:
    """The book's reading of the report's setting: the 2-D latent space, squared error and 20 epochs it
    states, with the sum over pixels, dense layers of 256 and 128 units, batch 128 and Adam, which it
    does not; snapshots at epochs 1, 5, 10 and 20;
    ``beta`` defaults to 1 for a VAE and is refused for an autoencoder (:class:`vaelib.train.TrainConfig`)."""
    epochs = check_int("epochs", epochs, minimum=1)
    snapshots = tuple(e for e in REPORT_SNAPSHOT_EPOCHS if e <= epochs)
    return TrainConfig(model=model, beta=beta, epochs=epochs, snapshot_epochs=snapshots, **overrides)


@releases_free_memory
def trained(config: TrainConfig, *, n_train: int | None = None, data: UnitMnist | None = None) -> TrainResult:
    """Train ``config`` on the first ``n_train`` training images (default: all) through the cache.

    The model trains on the uint8 pixels (:attr:`UnitMnist.pixels_train`); the step scales them to
    the same floats as ``x_train`` holds, and the cache key is the same for either form.
    """
    data = unit_mnist() if data is None else data
    x_train = data.pixels_train
    if n_train is not None:
        n_train = check_int("n_train", n_train, minimum=config.batch_size, maximum=len(x_train))
        x_train = x_train[:n_train]
    return train(config, x_train, data.pixels_test)
