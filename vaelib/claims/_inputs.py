"""Reading the numbers a claim is judged on: validation that names the bad value, and the two
standard errors the rules use."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from vaelib._runtime.validation import check_beta, check_real


def real(name: str, value, **bounds) -> float:
    if isinstance(value, np.generic):
        value = value.item()
    return check_real(name, value, **bounds)


def fraction(name: str, value) -> float:
    return real(name, value, minimum=0.0, maximum=1.0)


def fields(name: str, mapping, *, required: Sequence[str]) -> Mapping:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{name} must be a mapping with keys {list(required)}, got {type(mapping).__name__}")
    missing = [f for f in required if f not in mapping]
    if missing:
        raise KeyError(f"{name} lacks {missing}; it has {sorted(map(str, mapping))}")
    return mapping


def by_beta(name: str, mapping, *, minimum: int = 1) -> dict[float, object]:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{name} must be a mapping from beta to values, got {type(mapping).__name__}")
    if len(mapping) < minimum:
        raise ValueError(f"{name} must hold at least {minimum} values of beta, got {len(mapping)}")
    return {check_beta(b): v for b, v in sorted(mapping.items())}


def per_image(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or len(array) < 2 or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be a 1-D array of at least 2 finite per-image values, got shape {array.shape}")
    return array


def paired_errors(**named) -> list[np.ndarray]:
    """Per-image errors (:func:`per_image`, and non-negative) given by name, every array of the same length
    (one error per image of the same images)."""
    arrays = {name: per_image(name, values) for name, values in named.items()}
    for name, array in arrays.items():
        if np.any(array < 0):
            raise ValueError(f"{name} must hold non-negative errors, got values down to {array.min():g}")
    if len({len(a) for a in arrays.values()}) > 1:
        raise ValueError(f"{' and '.join(arrays)} must hold one error per image of the same images, got "
                         f"{', '.join(str(len(a)) for a in arrays.values())} errors")
    return list(arrays.values())


def mean_se(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the mean of per-item values."""
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def binomial_se_difference(p1: float, p2: float, n: int) -> float:
    """Standard error of the difference of two proportions, each over ``n`` trials (treated as independent)."""
    return math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n)

