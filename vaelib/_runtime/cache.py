"""An atomic, hash-verified on-disk store for trained models, and (through :func:`cached`) for what
the chapters compute from them: chapter 07's measures and explorer views, chapter 11's measures,
chapter 12's claim table.

An entry is a directory ``<cache_dir>/<key>/`` holding NumPy ``.npz`` files (weights, no
pickle) and ``manifest.json``, which lists every file's sha256 and carries a checksum of its
own content. Entries are written into a hidden temporary directory and renamed into place in
one step, so a reader sees a complete entry or none; a process killed mid-write leaves only a
temporary directory, which is never read and is swept away later. On load every hash is
checked; any mismatch raises :class:`CacheCorruptError` and the caller retrains.

Any number of processes may share a cache (two kernels, a test run beside a chapter). A published
entry is never changed or removed unless it fails verification. Publishing and discarding take a
short lock per key (``fcntl.flock`` on ``.lock-<key>``, released by the system if the process
dies): a writer that finds a valid entry already published keeps it and drops its own copy (the
results are the same: same key, same computation), and a reader that finds an entry corrupt reads
it again under the lock before discarding it, so an entry being replaced is never taken for a
corrupt one. A result that cannot be stored (a full disk, a read-only folder) is still returned,
with a :class:`CacheWriteWarning` naming the folder; a symlink or file where an entry belongs is
reported and moved out of the way.

The cache directory is ``$VAELIB_CACHE`` if set, else ``$XDG_CACHE_HOME/vaelib`` or
``~/.cache/vaelib``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

MANIFEST = "manifest.json"
TEMP_PREFIX = ".tmp-"
LOCK_PREFIX = ".lock-"
STALE_TEMP_SECONDS = 3600
LOCK_TIMEOUT_SECONDS = 120.0   # a lock is held to verify and rename an entry: well under a second
# Errors that mean "this folder cannot take the entry now", not "the caller did something wrong".
UNSTORABLE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


class CacheCorruptError(RuntimeError):
    """A cache entry failed verification (missing file, hash mismatch, unreadable)."""


class CacheLockTimeout(TimeoutError):
    """Another process held an entry's lock for longer than LOCK_TIMEOUT_SECONDS."""


class CacheWriteWarning(RuntimeWarning):
    """A computed result could not be stored in the cache (it is returned all the same)."""


def data_digest(*arrays: np.ndarray) -> str:
    """sha256 over the shapes, dtypes and bytes of the arrays (part of a cache key)."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


PACKAGE = Path(__file__).resolve().parent.parent
"""The vaelib package directory: source paths in cache keys are relative to it."""


def source_digest(*relative_paths: str) -> str:
    """sha256 of the named vaelib source files (paths relative to the package, e.g. ``"models/training.py"``),
    in order, each with its path (part of a cache key)."""
    digest = hashlib.sha256()
    for relative in relative_paths:
        path = PACKAGE / relative
        if not path.is_file():
            raise FileNotFoundError(f"no vaelib source file {relative!r} (looked for {path})")
        digest.update(str(relative).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def entry_key(kind: str, config: dict, data: str, sources: str) -> str:
    """A cache key from everything that decides a result: its kind and configuration, a digest
    of the data, a digest of the deciding source code, the versions of the numeric libraries and
    the host pin they ran under (:func:`vaelib._runtime.host.effective`)."""
    import keras
    import tensorflow as tf

    from vaelib._runtime import host

    content = {
        "kind": kind,
        "config": config,
        "data": data,
        "source": sources,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__},
        "host_pin": host.effective(),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def package_source_digest() -> str:
    """sha256 of every module of vaelib (``vaelib/**/*.py``): the source part of a cached measurement's
    key, so any change to the package measures anew."""
    return source_digest(*(path.relative_to(PACKAGE).as_posix() for path in sorted(PACKAGE.rglob("*.py"))))


def cached(key: str, compute, *, encode, decode, use_cache: bool = True, cache_dir=None,
           then: str = "measuring again", describes: dict | None = None) -> tuple[object, bool]:
    """A result through the cache: ``(result, from_cache)``.

    A verified entry ``key`` is returned as ``decode(arrays, metadata)``; otherwise ``compute()`` runs
    and its result is stored as ``encode(result)``, a pair ``(arrays, metadata)`` for :func:`write_entry`.
    Both paths return ``decode`` of the encoded form (metadata through JSON), so a cached result
    equals a fresh one. ``use_cache=False`` neither reads nor writes; a corrupt entry, or one whose
    metadata contradicts ``describes``, is discarded with a warning saying what happens ``then``
    (:func:`read_or_discard`). Every cached result of vaelib (models, classifiers, measures) goes through here.
    """
    if not isinstance(use_cache, bool):
        raise TypeError(f"use_cache must be True or False, got {use_cache!r}")
    directory = writable_cache_dir(cache_dir) if use_cache else None
    if use_cache:
        stored = read_or_discard(directory, key, then=then, describes=describes)
        if stored is not None:
            return decode(*stored), True
    arrays, metadata = encode(compute())
    if use_cache:
        publish_entry(directory, key, arrays, metadata)
    return decode(arrays, json.loads(json.dumps(metadata))), False


def default_cache_dir() -> Path:
    """Where trained models are cached (see the module docstring)."""
    if os.environ.get("VAELIB_CACHE"):
        return Path(os.environ["VAELIB_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vaelib"


def writable_cache_dir(cache_dir=None) -> Path:
    """Resolve and create the cache directory; raise naming it if it is not a folder or cannot be created.

    A folder that exists but cannot be written (read-only) is returned: its entries are read, and a
    new result is returned without being stored, with a :class:`CacheWriteWarning`.
    """
    if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
        raise TypeError(f"cache_dir must be a path (str or os.PathLike) or None, got {cache_dir!r} "
                        f"of type {type(cache_dir).__name__}")
    if cache_dir is not None and not os.fspath(cache_dir).strip():
        raise ValueError("cache_dir must name a folder, got an empty path (use None for the default cache, "
                         "or '.' for the working directory)")
    path = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"cache directory {str(path)!r} exists and is not a directory; "
                                 "set VAELIB_CACHE to a writable folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PermissionError(f"cache directory {str(path)!r} is not writable ({error.strerror or error}); "
                              "set VAELIB_CACHE to a writable folder") from error
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksum(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def entries(cache_dir) -> list[Path]:
    """The published entries of a cache folder (not its hidden temporary folders and lock files)."""
    return sorted(p for p in Path(cache_dir).iterdir() if not p.name.startswith(".") and p.is_dir())


def entry_path(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / key


@contextlib.contextmanager
def _key_lock(cache_dir: Path, key: str, timeout: float = LOCK_TIMEOUT_SECONDS):
    """Hold the lock of entry ``key`` (yields False, without locking, where no lock file can be made:
    a read-only folder, which no process publishes to)."""
    path = Path(cache_dir) / f"{LOCK_PREFIX}{key}"
    if path.is_symlink():
        path.unlink()   # a lock file is ours alone; a link there would lock (or create) something else
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    except OSError as error:
        if error.errno in UNSTORABLE:
            yield False
            return
        raise
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise CacheLockTimeout(f"cache entry {key!r} in {str(cache_dir)!r}: another process has held "
                                           f"its lock for over {timeout:g} s") from None
                time.sleep(0.02)
        yield True
    finally:
        os.close(handle)   # closing releases the lock


def _clear_the_way(final: Path) -> None:
    """Move a symlink or a file that stands where entry ``final`` belongs out of the way, with a warning."""
    if final.is_symlink() and not final.is_dir():
        what = f"a dangling symlink to {os.readlink(final)!r}" if not final.exists() else "a symlink to a non-folder"
    elif final.exists() and not final.is_dir():
        what = "a file"
    else:
        return
    warnings.warn(f"cache entry {str(final)!r} was {what}, not an entry; replacing it", RuntimeWarning, stacklevel=4)
    final.unlink()


def write_entry(cache_dir: Path, key: str, arrays: dict[str, dict[str, np.ndarray]], metadata: dict) -> Path:
    """Write an entry atomically. ``arrays`` maps file stem -> {name: array}; returns the entry path.

    If another process published a valid entry under ``key`` first, that one is kept (see the module
    docstring). Raises OSError if the folder cannot take the entry (:func:`publish_entry` warns instead).
    """
    cache_dir = writable_cache_dir(cache_dir)
    _sweep_stale_temporaries(cache_dir)
    final = entry_path(cache_dir, key)
    temporary = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f"{TEMP_PREFIX}{key[:16]}-"))
    try:
        files = {}
        for stem, named_arrays in arrays.items():
            name = f"{stem}.npz"
            with open(temporary / name, "wb") as handle:
                np.savez(handle, **named_arrays)
                handle.flush()
                os.fsync(handle.fileno())
            files[name] = sha256_file(temporary / name)
        content = {"key": key, "files": files, "metadata": metadata}
        manifest = {"content": content, "checksum": _checksum(content)}
        with open(temporary / MANIFEST, "w") as handle:
            json.dump(manifest, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        with _key_lock(cache_dir, key):
            _clear_the_way(final)
            if final.is_dir():
                try:
                    read_entry(cache_dir, key)
                    return final   # another process published first: keep its entry
                except CacheCorruptError:
                    _remove(final)
            os.rename(temporary, final)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    return final


def publish_entry(cache_dir: Path, key: str, arrays: dict[str, dict[str, np.ndarray]], metadata: dict) -> Path | None:
    """:func:`write_entry`, except that a folder that cannot take the entry (full disk, quota, read-only,
    permissions) gives a :class:`CacheWriteWarning` naming it and None: the caller keeps its result."""
    try:
        return write_entry(cache_dir, key, arrays, metadata)
    except OSError as error:
        if error.errno not in UNSTORABLE:
            raise
        warnings.warn(f"the result could not be stored in the cache folder {str(cache_dir)!r} "
                      f"({error.strerror or error}); it is returned but will be computed again next time",
                      CacheWriteWarning, stacklevel=3)
        return None


def read_entry(cache_dir: Path, key: str) -> tuple[dict[str, dict[str, np.ndarray]], dict] | None:
    """Return ``(arrays, metadata)`` for a verified entry, None if absent; raise CacheCorruptError if bad."""
    path = entry_path(cache_dir, key)
    if not path.is_dir():
        return None
    try:
        manifest = json.loads((path / MANIFEST).read_text())
        content = manifest["content"]
        if manifest["checksum"] != _checksum(content) or content["key"] != key:
            raise CacheCorruptError(f"cache entry {str(path)!r}: manifest checksum or key mismatch")
        arrays = {}
        for name, expected in content["files"].items():
            if sha256_file(path / name) != expected:
                raise CacheCorruptError(f"cache entry {str(path)!r}: {name} does not match its sha256")
            with np.load(path / name, allow_pickle=False) as archive:
                arrays[name.removesuffix(".npz")] = {k: archive[k] for k in archive.files}
        return arrays, content["metadata"]
    except CacheCorruptError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CacheCorruptError(f"cache entry {str(path)!r} is unreadable: {error}") from error


def read_or_discard(cache_dir: Path, key: str, *, then: str, describes: dict | None = None
                    ) -> tuple[dict[str, dict[str, np.ndarray]], dict] | None:
    """:func:`read_entry`, except that a corrupt entry is reported (a RuntimeWarning naming it and
    saying what happens ``then``, e.g. "retraining"), discarded and read as absent: never used.

    An entry that fails is read once more under its lock before it is discarded (it may have been
    replaced while it was read). ``describes``: metadata items the entry must hold, e.g. the
    configuration it was made for; an entry whose metadata says otherwise counts as corrupt.
    """
    try:
        return _read_describing(cache_dir, key, describes)
    except CacheCorruptError:
        pass
    with _key_lock(cache_dir, key):
        try:
            return _read_describing(cache_dir, key, describes)
        except CacheCorruptError as error:
            warnings.warn(f"{error}; discarding it and {then}", RuntimeWarning, stacklevel=3)
            discard_entry(cache_dir, key)
            return None


def _read_describing(cache_dir: Path, key: str, describes: dict | None):
    stored = read_entry(cache_dir, key)
    if stored is not None and describes:
        metadata = stored[1]
        wrong = [name for name, value in describes.items()
                 if json.loads(json.dumps(metadata.get(name))) != json.loads(json.dumps(value))]
        if wrong:
            raise CacheCorruptError(f"cache entry {str(entry_path(cache_dir, key))!r}: its manifest describes "
                                    f"another {', '.join(wrong)} than the one asked for")
    return stored


def discard_entry(cache_dir: Path, key: str) -> None:
    """Remove an entry (used after a failed verification); an entry already gone is fine."""
    path = entry_path(cache_dir, key)
    try:
        if path.is_symlink() and not path.is_dir():
            path.unlink()
        elif path.exists():
            _remove(path)
    except OSError as error:
        if error.errno not in UNSTORABLE:
            raise   # a read-only folder keeps its corrupt entry; it is never used all the same


def _remove(path: Path) -> None:
    # Rename first so a concurrent reader never sees a half-deleted entry.
    doomed = path.with_name(f"{TEMP_PREFIX}doomed-{path.name}-{os.getpid()}-{time.time_ns()}")
    try:
        os.rename(path, doomed)
    except FileNotFoundError:
        return   # another process removed it first
    if doomed.is_symlink():
        doomed.unlink()   # a symlinked entry: remove the link, never what it points to
    else:
        shutil.rmtree(doomed, ignore_errors=True)


def _sweep_stale_temporaries(cache_dir: Path) -> None:
    now = time.time()
    for candidate in Path(cache_dir).glob(f"{TEMP_PREFIX}*"):
        try:
            if now - candidate.stat().st_mtime > STALE_TEMP_SECONDS:
                shutil.rmtree(candidate, ignore_errors=True) if candidate.is_dir() else candidate.unlink()
        except OSError:
            pass
