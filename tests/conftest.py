"""Shared fixtures: small real-looking image sets and an isolated model cache."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import vaelib  # noqa: F401,I001  (first: the host pin must precede NumPy's import)
import numpy as np
import pytest

# The same float32 network on another number of rows: a matrix product of 7 rows may take another
# CPU kernel than one of 5,000, and which kernels exist depends on the CPU (AVX-512 or AVX2), so
# the sums of several hundred products come out in another order. Bit-for-bit equality held on
# one AMD EPYC and not on another (up to 3.6e-7 apart on latent means of size 0.4, 1.8e-7 on
# probabilities near 1): such comparisons use this float32 reordering tolerance instead.
FLOAT32_REORDERED = {"rtol": 1e-5, "atol": 1e-6}


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
