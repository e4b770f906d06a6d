"""Synthetic labelled digits shared by several test modules (imported as ``from synthetic import ...``, like
``tolerances``): a Gaussian blob whose position on the 28 x 28 grid encodes one of ten labels."""

import numpy as np

_GRID = np.stack(np.meshgrid(np.arange(28), np.arange(28), indexing="ij"), axis=-1).reshape(784, 2)
_ANCHORS = np.array([(7 + 14 * (c // 5), 4 + 5 * (c % 5)) for c in range(10)], dtype=float)


def digit_blobs(n: int, *, seed: int, jitter: float, width: float) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (n, 784) in [0, 1] (float64) and their labels (uint8): a blob of standard deviation
    ``width`` pixels at its label's anchor, moved by ``jitter`` pixels (standard deviation) at random."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    centres = _ANCHORS[labels] + rng.normal(0, jitter, size=(n, 2))
    squared = ((_GRID[None] - centres[:, None]) ** 2).sum(-1)
    return np.exp(-squared / (2 * width**2)), labels
