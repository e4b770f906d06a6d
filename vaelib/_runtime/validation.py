"""Argument validation shared by vaelib's public functions.

Every check raises ``TypeError`` or ``ValueError`` with a message that names the
argument, the offending value and what is accepted (in the spirit of
scikit-learn's ``check_array``), so a bad call never trains silently on garbage.
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable, Sequence

import numpy as np


def check_real(name: str, value, *, minimum: float | None = None, maximum: float | None = None,
               inclusive_minimum: bool = True) -> float:
    """Return ``value`` as a finite float, or raise naming ``name`` and the accepted range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if minimum is not None:
        too_small = value < minimum if inclusive_minimum else value <= minimum
        if too_small:
            bound = ">=" if inclusive_minimum else ">"
            raise ValueError(f"{name} must be {bound} {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value!r}")
    return value


SEED_MAX = 2**32 - 1  # NumPy's legacy seeding, which keras.utils.set_random_seed calls, takes 0 .. 2**32 - 1


def check_seed(seed, name: str = "seed") -> int:
    """A random seed that NumPy, Python and TensorFlow all accept: an int in [0, 2**32 - 1]."""
    return check_int(name, seed, minimum=0, maximum=SEED_MAX)


def check_path(name: str, value):
    """A non-empty path (str or os.PathLike); an empty string would silently mean the working directory."""
    import os

    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {value!r} of type {type(value).__name__}")
    if not os.fspath(value).strip():
        raise ValueError(f"{name} must name a file or folder, got an empty path {os.fspath(value)!r}")
    return value


def check_beta(beta, name: str = "beta") -> float:
    """The KL weight of eq. (12): any finite float >= 0."""
    return check_real(name, beta, minimum=0.0)


def check_int(name: str, value, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``value`` as an int in ``[minimum, maximum]`` or raise naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise listing them."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def _check_length(name: str, values: tuple, min_length: int) -> tuple:
    if len(values) < min_length:
        raise ValueError(f"{name} must hold at least {min_length} distinct value{'s' if min_length > 1 else ''}, "
                         f"got {list(values)}")
    return values


def check_int_sequence(name: str, values, *, minimum: int = 1, maximum: int | None = None,
                       min_length: int = 0) -> tuple[int, ...]:
    """A sorted tuple of at least ``min_length`` distinct ints, each within ``[minimum, maximum]``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of integers, got {values!r}")
    checked = tuple(sorted({check_int(f"{name} entry", v, minimum=minimum, maximum=maximum) for v in values}))
    return _check_length(name, checked, min_length)


def check_real_sequence(name: str, values, *, minimum: float | None = None, maximum: float | None = None,
                        inclusive_minimum: bool = True, min_length: int = 1) -> tuple[float, ...]:
    """A sorted tuple of at least ``min_length`` distinct finite floats within the bounds (see :func:`check_real`)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a list of numbers, got {values!r} of type {type(values).__name__}")
    checked = tuple(sorted({check_real(f"{name} entry", v, minimum=minimum, maximum=maximum,
                                       inclusive_minimum=inclusive_minimum) for v in values}))
    return _check_length(name, checked, min_length)


def check_rng(rng) -> np.random.Generator:
    """A NumPy Generator from a Generator, a non-negative int seed or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, a non-negative int seed or None, got {rng!r}")


def check_training_images(images, *, name: str = "images") -> np.ndarray:
    """Validate images for training: uint8 pixels 0-255 or floats in [0, 1], shape (n, 28, 28) or (n, 784).

    Returned flat, shape (n, 784): uint8 pixels stay uint8 (the training step scales them,
    :func:`vaelib.models.networks.as_unit_interval`, a quarter of the memory of float32), floats go through
    :func:`check_images`.
    """
    array = np.asarray(images)
    if array.dtype != np.uint8:
        if array.dtype != object and np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"{name} must be uint8 pixels 0-255 or floats in [0, 1], got dtype {array.dtype}")
        return check_images(array, name=name)
    return _flat_images(array, name)


def _flat_images(array: np.ndarray, name: str) -> np.ndarray:
    """(n, 28, 28) or (n, 784) with n >= 1, returned as (n, 784)."""
    if array.ndim == 3 and array.shape[1:] == (28, 28):
        array = array.reshape(len(array), 784)
    if array.ndim != 2 or array.shape[1] != 784:
        raise ValueError(f"{name} must have shape (n, 28, 28) or (n, 784), got {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{name} is empty: at least one image is needed")
    return array


def check_images(images, *, name: str = "images") -> np.ndarray:
    """Validate a batch of images scaled to [0, 1] and return it as float32 of shape (n, 784).

    Accepts shape ``(n, 28, 28)`` or ``(n, 784)``, any float dtype, values within [0, 1].
    uint8 arrays and floats above 1 (0-255 scale) are refused rather than silently rescaled:
    call :func:`vaelib.data.to_unit_interval` first.
    """
    array = np.asarray(images)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(
            f"{name} must hold floats in [0, 1], got dtype {array.dtype}; "
            "convert uint8 pixels with vaelib.data.to_unit_interval"
        )
    array = _flat_images(array, name)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        if high > 2.0:
            hint = "; looks like 0-255 pixels: divide by 255 (vaelib.data.to_unit_interval)"
        else:
            hint = "; clip the values to [0, 1] (numpy.clip) if they are rounding errors"
        outside = [f"{count:,} below 0 (smallest {low!r})" for count in [int(np.sum(array < 0))] if count] + [
            f"{count:,} above 1 (largest {high!r})" for count in [int(np.sum(array > 1))] if count]
        raise ValueError(f"{name} must lie in [0, 1], got {' and '.join(outside)}{hint}")
    return array.astype(np.float32, copy=False)


def check_labels(labels, n: int, *, name: str = "labels") -> np.ndarray:
    """Integer digit labels 0-9, one per image."""
    array = np.asarray(labels)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must be integers 0-9, got dtype {array.dtype}")
    if array.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match the images, got {array.shape}")
    if n and (array.min() < 0 or array.max() > 9):
        raise ValueError(f"{name} must lie in 0-9, got values in [{array.min()}, {array.max()}]")
    return array


def check_same_length(**arrays: Sequence) -> int:
    """All arrays have the same first dimension; return it."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"arrays must have the same length, got {lengths}")
    return next(iter(lengths.values()))


def check_real_vector(name: str, value, *, positive: bool = False, min_length: int = 1,
                      scalar_ok: bool = False, positive_because: str = "") -> np.ndarray:
    """A finite float64 vector of shape (n,) with n >= ``min_length`` (a scalar becomes shape (1,) if
    ``scalar_ok``); ``positive`` requires every entry > 0 (``positive_because`` says why, in the message)."""
    what = "a real number or array of reals" if scalar_ok else "a 1-D numeric array"
    if isinstance(value, (str, bytes, bool)):
        raise TypeError(f"{name} must be {what}, got {value!r}")
    array = np.asarray(value)
    if array.dtype == object or array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be {what}, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if scalar_ok:
        array = np.atleast_1d(array)
    if array.ndim != 1 or len(array) < min_length:
        raise ValueError(f"{name} must be {what} with at least {min_length} entries, got shape {np.shape(value)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array!r}")
    if positive and np.any(array <= 0):
        raise ValueError(f"{name} must be > 0{positive_because}, got {array!r}")
    return array
