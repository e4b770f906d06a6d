"""vaelib.measures.judge: the digit classifier, its cache, eq. (13) and the measures beside it."""

import math

import keras
import numpy as np
import pytest
from synthetic import digit_blobs
from tolerances import FLOAT32_REORDERED

from vaelib._runtime import cache

from vaelib.measures import judge


@pytest.fixture(scope="module")
def labelled_blobs():
    """400 training and 100 test images of a blob whose position encodes the label (10 classes)."""
    images, labels = digit_blobs(500, seed=7, jitter=0.7, width=2.0)
    images = images.astype(np.float32)
    return images[:400], labels[:400], images[400:], labels[400:]


TINY = dict(seed=3, epochs=4, batch_size=32)


def _entries(cache_dir):
    return [p for p in cache_dir.iterdir() if not p.name.startswith(".")]


def test_tiny_classifier_learns_and_probabilities_are_valid(labelled_blobs, cache_dir):
    classifier = judge.train_classifier(*labelled_blobs, **TINY)
    x_test, y_test = labelled_blobs[2:]
    probs = judge.predict_proba(classifier, x_test)
    assert probs.shape == (100, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)  # float32 softmax
    # chance is 0.1; the classes are well separated blobs, so a working classifier is far above it
    assert classifier.test_accuracy > 0.5
    assert classifier.test_accuracy == judge.label_accuracy(probs, y_test)
    assert not classifier.from_cache and classifier.train_seconds > 0
    # 28x28 input works as well as 784 and gives the same probabilities
    np.testing.assert_allclose(judge.predict_proba(classifier, x_test.reshape(-1, 28, 28)), probs)
    # through the traced function: Keras' predict's probabilities, bit for bit at the same block size,
    # and up to float32 summation order (conftest) in blocks of 7 rows
    expected = classifier.model.predict(x_test, batch_size=256, verbose=0).astype(np.float64)
    np.testing.assert_array_equal(probs, expected)
    np.testing.assert_allclose(judge.predict_proba(classifier, x_test, batch_size=7), expected,
                               **FLOAT32_REORDERED)


def test_classifier_cache_hit_miss_and_corruption(labelled_blobs, cache_dir):
    first = judge.train_classifier(*labelled_blobs, **TINY)
    hit = judge.train_classifier(*labelled_blobs, **TINY)
    assert hit.from_cache and hit.test_accuracy == first.test_accuracy
    x_test = labelled_blobs[2]
    np.testing.assert_array_equal(judge.predict_proba(hit, x_test), judge.predict_proba(first, x_test))
    assert len(_entries(cache_dir)) == 1
    # another seed is another entry
    judge.train_classifier(*labelled_blobs, **{**TINY, "seed": 4})
    assert len(_entries(cache_dir)) == 2
    # other labels (same images) are another entry too
    x_train, y_train, x_test, y_test = labelled_blobs
    judge.train_classifier(x_train, (y_train + 1) % 10, x_test, y_test, **TINY)
    assert len(_entries(cache_dir)) == 3
    # a corrupted weight file is detected, discarded and retrained with a warning
    config = judge.ClassifierConfig(**TINY)
    key = judge.classifier_cache_key(config, *labelled_blobs)
    weights = cache_dir / key / "weights.npz"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(cache.CacheCorruptError, match="sha256"):
        cache.read_entry(cache_dir, key)
    with pytest.warns(RuntimeWarning, match="retraining the classifier"):
        again = judge.train_classifier(*labelled_blobs, **TINY)
    assert not again.from_cache and again.test_accuracy == first.test_accuracy  # same seed, same result
    assert judge.train_classifier(*labelled_blobs, **TINY).from_cache


def test_confidence_ratio_on_hand_made_probabilities():
    # top-class probabilities 0.9 and 0.5 (mean 0.7) over a baseline with top probability 0.8 everywhere
    a = np.full((2, 10), 0.0)
    a[0, 3], a[0, 4] = 0.9, 0.1
    a[1, 7], a[1, 1], a[1, 2] = 0.5, 0.25, 0.25
    baseline = np.full((4, 10), 0.2 / 9)
    baseline[:, 0] = 0.8
    assert judge.mean_confidence(a) == pytest.approx(0.7, abs=1e-15)
    assert judge.confidence_ratio(a, baseline) == pytest.approx(0.7 / 0.8, abs=1e-15)
    assert judge.confidence_ratio(baseline, baseline) == 1.0
    # standard error by the delta method: baseline has zero spread, so se = se_a / b
    se_a = np.std([0.9, 0.5], ddof=1) / math.sqrt(2)
    assert judge.confidence_ratio_se(a, baseline) == pytest.approx(se_a / 0.8, rel=1e-12)
    assert judge.confident_fraction(a, 0.8) == 0.5
    assert judge.confident_fraction(a, 0.95) == 0.0
    assert judge.label_accuracy(a, np.array([3, 1])) == 0.5


def test_delta_method_standard_error_matches_monte_carlo():
    # 2,000 repeats of a ratio of two means of 200 Beta-distributed confidences: the spread of the
    # repeats (relative error of a standard deviation from 2,000 draws: ~1.6%) matches the formula
    # within 10%, which allows for the delta method's own small bias at this n.
    rng = np.random.default_rng(0)

    def probs(top):
        p = np.zeros((len(top), 10))
        p[:, 0] = top
        p[:, 1:] = ((1 - top) / 9)[:, None]
        return p

    ratios, ses = [], []
    for _ in range(2000):
        a, b = probs(rng.beta(5, 2, 200)), probs(rng.beta(8, 2, 200))
        ratios.append(judge.confidence_ratio(a, b))
        ses.append(judge.confidence_ratio_se(a, b))
    assert np.std(ratios, ddof=1) == pytest.approx(np.mean(ses), rel=0.1)


def test_class_entropy_and_histogram():
    one_hot = np.eye(10)
    assert judge.class_entropy(one_hot) == pytest.approx(math.log2(10), abs=1e-12)
    always_one = np.tile(one_hot[1], (50, 1))
    assert judge.class_entropy(always_one) == 0.0
    two = np.concatenate([np.tile(one_hot[2], (5, 1)), np.tile(one_hot[8], (5, 1))])
    assert judge.class_entropy(two) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(judge.class_histogram(two), [0, 0, .5, 0, 0, 0, 0, 0, .5, 0])
    # a generator that always draws the same clean "1" beats a varied, less certain one on eq. 13
    varied = 0.3 * np.ones((10, 10)) / 10 + 0.7 * one_hot
    assert judge.confidence_ratio(always_one, varied) > 1 > 0 == judge.class_entropy(always_one)


def test_quality_measures_collects_everything():
    probs = np.eye(10)
    measures = judge.quality_measures(probs, probs, np.arange(10))
    assert measures == {"ratio": 1.0, "ratio_se": 0.0, "mean_confidence": 1.0, "confident_fraction": 1.0,
                        "class_entropy": pytest.approx(math.log2(10)), "accuracy": 1.0}
    assert "accuracy" not in judge.quality_measures(probs, probs)


@pytest.mark.parametrize("probs, error, match", [
    (np.ones((3, 9)) / 9, ValueError, r"shape \(n, 10\)"),
    (np.ones((0, 10)), ValueError, "empty"),
    (np.full((2, 10), 0.2), ValueError, "sum to 1"),
    (np.array([[1.5] + [-0.5 / 9] * 9]), ValueError, r"\[0, 1\]"),
    (np.array([[np.nan] * 10]), ValueError, "NaN"),
    (np.array([["a"] * 10]), TypeError, "numeric"),
])
def test_bad_probabilities_are_refused(probs, error, match):
    good = np.eye(10)
    with pytest.raises(error, match=match):
        judge.confidence_ratio(probs, good)
    with pytest.raises(error, match=match):
        judge.class_entropy(probs)


def test_bad_measure_arguments():
    good = np.eye(10)
    with pytest.raises(ValueError, match="threshold must be <= 1"):
        judge.confident_fraction(good, 1.5)
    with pytest.raises(TypeError, match="threshold must be a real number"):
        judge.confident_fraction(good, "high")
    with pytest.raises(ValueError, match=r"labels must have shape \(10,\)"):
        judge.label_accuracy(good, np.arange(9))
    with pytest.raises(ValueError, match="labels must lie in 0-9"):
        judge.label_accuracy(good, np.arange(10) + 1)


def test_classifier_from_uint8_pixels_shares_the_entry_of_their_floats(labelled_blobs, cache_dir):
    from vaelib.data import to_unit_interval

    x_train, y_train, x_test, y_test = labelled_blobs
    pixels_train, pixels_test = (np.round(x * 255).astype(np.uint8) for x in (x_train, x_test))
    from_pixels = judge.train_classifier(pixels_train, y_train, pixels_test, y_test, **TINY)
    from_floats = judge.train_classifier(to_unit_interval(pixels_train), y_train, to_unit_interval(pixels_test),
                                            y_test, **TINY)
    assert not from_pixels.from_cache and from_floats.from_cache
    assert from_floats.test_accuracy == from_pixels.test_accuracy


def test_bad_classifier_inputs(labelled_blobs, cache_dir):
    x_train, y_train, x_test, y_test = labelled_blobs
    with pytest.raises(TypeError, match=r"x_train must be uint8 pixels 0-255 or floats in \[0, 1\], got dtype int64"):
        judge.train_classifier((x_train * 255).astype(np.int64), y_train, x_test, y_test, **TINY)
    with pytest.raises(ValueError, match=r"y_train must have shape \(400,\)"):
        judge.train_classifier(x_train, y_train[:-1], x_test, y_test, **TINY)
    with pytest.raises(ValueError, match="y_test must lie in 0-9"):
        judge.train_classifier(x_train, y_train, x_test, y_test + 10, **TINY)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        judge.train_classifier(x_train, y_train, x_test, y_test, seed=0, epochs=0)
    with pytest.raises(TypeError, match="seed must be an integer"):
        judge.train_classifier(x_train, y_train, x_test, y_test, seed=0.5)
    with pytest.raises(ValueError, match="batch_size=1000 exceeds the 400 training images"):
        judge.train_classifier(x_train, y_train, x_test, y_test, batch_size=1000)
    with pytest.raises(ValueError, match="filters must be two positive integers"):
        judge.ClassifierConfig(filters=(8,))
    with pytest.raises(TypeError, match="classifier must be"):
        judge.predict_proba("not a model", x_test)
    with pytest.raises(ValueError, match=r"images must lie in \[0, 1\]"):
        judge.predict_proba(judge.ClassifierConfig().build_model(), x_test * 2)
    assert not _entries(cache_dir) if cache_dir.exists() else True  # nothing was trained or cached


def test_classifier_trains_on_pixels_exactly_as_on_their_floats(labelled_blobs):
    # the training step scales uint8 pixels itself: the same weights, bit for bit, with no float copy
    from vaelib.data import to_unit_interval

    x_train, y_train, x_test, y_test = labelled_blobs
    pixels_train = np.round(x_train * 255).astype(np.uint8)
    from_pixels = judge.train_classifier(pixels_train, y_train, x_test, y_test, **TINY, use_cache=False)
    from_floats = judge.train_classifier(to_unit_interval(pixels_train), y_train, x_test, y_test, **TINY,
                                            use_cache=False)
    for a, b in zip(from_pixels.model.get_weights(), from_floats.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert from_pixels.test_accuracy == from_floats.test_accuracy


def test_the_weaker_mlp_judge_builds_trains_and_caches_apart(labelled_blobs, cache_dir):
    mlp = judge.ClassifierConfig(architecture="mlp")
    # the architecture's own settings fill what is left out (judge.ARCHITECTURES)
    assert (mlp.epochs, mlp.learning_rate, mlp.filters, mlp.dense_units, mlp.dense_layers) == (10, 2.5e-5, (), 32, 2)
    model = mlp.build_model()
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense", "Dense", "Dense"]
    assert model.count_params() == 784 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10
    cnn = judge.ClassifierConfig()
    assert (cnn.epochs, cnn.learning_rate, cnn.filters, cnn.dense_units, cnn.dense_layers) == (3, 2e-3, (16, 32), 64, 1)
    assert any(type(layer).__name__ == "Conv2D" for layer in cnn.build_model().layers)
    # the cache keys of the two architectures differ, with everything else the same
    assert (judge.classifier_cache_key(judge.ClassifierConfig(**TINY, architecture="mlp"), *labelled_blobs)
            != judge.classifier_cache_key(judge.ClassifierConfig(**TINY), *labelled_blobs))
    # it trains through the same path and cache as the CNN; a learning rate that learns on 400 images
    x_train, y_train, x_test, y_test = labelled_blobs
    first = judge.train_classifier(x_train, y_train, x_test, y_test, **TINY, architecture="mlp")
    assert first.config.architecture == "mlp" and not first.from_cache and 0.0 <= first.test_accuracy <= 1.0
    assert judge.predict_proba(first, x_test).shape == (100, 10)
    again = judge.train_classifier(x_train, y_train, x_test, y_test, **TINY, architecture="mlp")
    assert again.from_cache and again.test_accuracy == first.test_accuracy
    for a, b in zip(first.model.get_weights(), again.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    judge.train_classifier(x_train, y_train, x_test, y_test, **TINY)  # the CNN: another entry
    assert len(_entries(cache_dir)) == 2
    learning = judge.ClassifierConfig(**TINY, architecture="mlp", learning_rate=1e-2)
    keras_model = learning.build_model()
    keras.utils.set_random_seed(learning.seed)
    keras_model.fit(x_train, y_train.astype(np.int32), epochs=learning.epochs, batch_size=learning.batch_size, verbose=0)
    # the blobs are well separated: a dense network at a working learning rate labels most test images right
    assert judge.label_accuracy(judge.predict_proba(keras_model, x_test), y_test) > 0.5


def test_bad_architectures_are_refused(labelled_blobs, cache_dir):
    with pytest.raises(ValueError, match="architecture must be one of 'cnn', 'mlp'; got 'resnet'"):
        judge.ClassifierConfig(architecture="resnet")
    with pytest.raises(ValueError, match="architecture must be one of 'cnn', 'mlp'; got 'MLP'"):
        judge.train_classifier(*labelled_blobs, **TINY, architecture="MLP")
    with pytest.raises(ValueError, match=r"filters must be two positive integers for architecture='cnn' and \(\) for "
                                         r"'mlp' \(which has no convolutions\), got \(8, 8\) with 'mlp'"):
        judge.ClassifierConfig(architecture="mlp", filters=(8, 8))
    with pytest.raises(ValueError, match="dense_layers must be >= 1, got 0"):
        judge.ClassifierConfig(architecture="mlp", dense_layers=0)
    assert not _entries(cache_dir) if cache_dir.exists() else True  # nothing was trained or cached
