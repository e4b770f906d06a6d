"""Shared fixtures: small real-looking image sets and an isolated model cache."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import vaelib  # noqa: F401,I001  (first: the host pin must precede NumPy's import)
import numpy as np
import pytest


@pytest.fixture(scope="session")
def small_images():
    """512 training and 128 test images in [0, 1], shape (n, 784).

    Smooth random blobs rather than MNIST, so the library tests do not depend on which data
    source this machine has; the chapters exercise real MNIST.
    """
    rng = np.random.default_rng(1234)
    grid = np.stack(np.meshgrid(np.arange(28), np.arange(28), indexing="ij"), axis=-1).reshape(784, 2)
    centres = rng.uniform(6, 22, size=(640, 2))
    widths = rng.uniform(2.0, 5.0, size=(640, 1))
    squared = ((grid[None, :, :] - centres[:, None, :]) ** 2).sum(-1)
    images = np.exp(-squared / (2 * widths**2)).astype(np.float32)
    return images[:512], images[512:]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("VAELIB_CACHE", str(path))
    return path


@pytest.fixture
def forbid(monkeypatch):
    """``forbid(owner, name)``: from now on, calling ``owner.name`` fails the test with "ran again" (for
    results that must come from the cache). Returns a function that puts the real one back."""
    def replace(owner, name):
        real = getattr(owner, name)

        def ran_again(*args, **kwargs):
            raise AssertionError(f"{name} ran again although its result was cached")

        monkeypatch.setattr(owner, name, ran_again)
        return lambda: monkeypatch.setattr(owner, name, real)

    return replace
