"""The book's experiments: MNIST scaled to [0, 1] and the report's training settings.

Chapters ask for a trained model by what they vary (beta, model kind, epochs, training-set
size); everything else is the report's setting, so two chapters asking for the same model get
the same cache entry and it trains once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from vaelib.checks import check_int
from vaelib.data import MnistDataset, load_mnist_dataset, to_unit_interval
from vaelib.train import TrainConfig, TrainResult, train

REPORT_EPOCHS = 20
REPORT_SNAPSHOT_EPOCHS = (1, 5, 10, 20)
REPORT_BETAS = (0.0, 1.0, 5.0, 50.0)


@dataclass(frozen=True)
class UnitMnist:
    """MNIST as float32 pixels in [0, 1], images flattened to 784 values."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    dataset: MnistDataset

    @property
    def is_full(self) -> bool:
        return self.dataset.is_full


@functools.lru_cache(maxsize=2)
def _unit_mnist(dataset: MnistDataset) -> UnitMnist:
    return UnitMnist(to_unit_interval(dataset.x_train), dataset.y_train,
                     to_unit_interval(dataset.x_test), dataset.y_test, dataset)


def unit_mnist(path=None) -> UnitMnist:
    """Load MNIST (see :func:`vaelib.data.load_mnist_dataset`) scaled to [0, 1]."""
    return _unit_mnist(load_mnist_dataset(path))


def report_config(beta: float = 1.0, *, model: str = "vae", epochs: int = REPORT_EPOCHS, **overrides) -> TrainConfig:
    """The report's setting (2-D latent, squared error, batch 128) with snapshots at 1, 5, 10, 20."""
    epochs = check_int("epochs", epochs, minimum=1)
    snapshots = tuple(e for e in REPORT_SNAPSHOT_EPOCHS if e <= epochs)
    return TrainConfig(model=model, beta=beta, epochs=epochs, snapshot_epochs=snapshots, **overrides)


def trained(config: TrainConfig, *, n_train: int | None = None, data: UnitMnist | None = None) -> TrainResult:
    """Train ``config`` on the first ``n_train`` training images (default: all) through the cache."""
    data = unit_mnist() if data is None else data
    x_train = data.x_train
    if n_train is not None:
        n_train = check_int("n_train", n_train, minimum=config.batch_size, maximum=len(x_train))
        x_train = x_train[:n_train]
    return train(config, x_train, data.x_test)
