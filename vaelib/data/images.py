"""MNIST as the book uses it: pixels in [0, 1] (the one representation every model and measure
sees), the chapters' split of MNIST (:class:`UnitMnist`) and the images' digest for cache keys."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

from vaelib._runtime.validation import check_training_images
from vaelib.data.dataset import MNIST_DTYPE, MnistDataset
from vaelib.data.mnist import load_mnist_dataset


def to_unit_interval(images) -> np.ndarray:
    """Scale uint8 pixels 0-255 to float32 in [0, 1], flattened to shape ``(n, 784)``.

    Parameters
    ----------
    images : np.ndarray
        uint8 array of shape ``(n, 28, 28)`` or ``(n, 784)`` with ``n >= 1``.

    Returns
    -------
    np.ndarray
        float32 array of shape ``(n, 784)``, ``images / 255``.

    Raises
    ------
    TypeError
        If ``images`` is not uint8 (floats are refused so that data are never scaled twice).
    ValueError
        If the shape is not ``(n, 28, 28)`` or ``(n, 784)``, or ``n == 0``.
    """
    array = np.asarray(images)
    if array.dtype != MNIST_DTYPE:
        raise TypeError(f"images must be uint8 pixels 0-255, got dtype {array.dtype}"
                        + ("; they already look scaled, do not scale twice"
                           if np.issubdtype(array.dtype, np.floating) else ""))
    if array.ndim == 3 and array.shape[1:] == (28, 28):
        array = array.reshape(len(array), 784)
    if array.ndim != 2 or array.shape[1] != 784:
        raise ValueError(f"images must have shape (n, 28, 28) or (n, 784), got {array.shape}")
    if len(array) == 0:
        raise ValueError("images is empty: at least one image is needed")
    return array.astype(np.float32) / np.float32(255.0)


def unit_images(images, *, name: str = "images") -> np.ndarray:
    """Images as float32 (n, 784) in [0, 1] from either form :func:`vaelib.models.training.train` accepts:
    uint8 pixels are scaled (:func:`to_unit_interval`), floats are checked (:func:`vaelib._runtime.validation.check_images`)."""
    array = check_training_images(images, name=name)
    return to_unit_interval(array) if array.dtype == MNIST_DTYPE else array


def images_digest(*images, block_rows: int = 8192) -> str:
    """sha256 over images as float32 in [0, 1] (for cache keys): uint8 pixels are scaled by
    :func:`to_unit_interval` ``block_rows`` at a time, never all at once, so the same images give
    the same digest in either form. Equal to ``vaelib._runtime.cache.data_digest`` of the scaled arrays.
    """
    digest = hashlib.sha256()
    for i, array in enumerate(images):
        array = check_training_images(array, name=f"images[{i}]")
        digest.update(f"{array.shape}float32".encode())
        for start in range(0, len(array), block_rows):
            block = np.ascontiguousarray(unit_images(array[start:start + block_rows], name=f"images[{i}]"))
            digest.update(memoryview(block).cast("B"))
    return digest.hexdigest()


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
