"""Chapter 11's measures (vaelib.measures.family_comparison): the seed-spread rule, and the measures on
small trained VAEs of every latent family."""

import keras
import numpy as np
import pytest

from vaelib.maths import latent_families

from vaelib.measures import family_comparison
from vaelib.models.networks import VAE
from vaelib.models.training import TrainConfig, train

SMALL = dict(hidden_units=(16,), batch_size=64, epochs=1)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (600, 784)).astype(np.float32) ** 4  # sparse, MNIST-like range
    y = rng.integers(0, 10, 600).astype(np.int64)
    return x[:500], y[:500], x[500:], y[500:]


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])


@pytest.mark.parametrize("family", latent_families.FAMILIES)
def test_measures_of_a_small_model_of_every_family(family, images, classifier):
    x_train, y_train, x_test, y_test = images
    result = train(TrainConfig(latent=family, **SMALL), x_train, x_test, use_cache=False)
    measures = family_comparison.family_measures(result, x_train, y_train, x_test, y_test, classifier,
                                               n_prior=50, n_codes=100, use_cache=False)
    assert measures["test_loss"] == pytest.approx(result.history["test_loss"][-1])
    assert measures["test_kl"] >= 0
    assert 0 <= measures["knn_accuracy"] <= 1 and measures["active_dims"] in (0, 1, 2)
    assert all(np.isfinite(v) for v in measures.values())
    model = result.model()
    centres = family_comparison.encode_centres(model, x_test)
    assert centres.shape == (len(x_test), 2) and centres.dtype == np.float64
    a, s = (np.asarray(t) for t in model.encode(x_test))
    assert np.allclose(centres, latent_families.posterior_location(family, a, s), atol=1e-6)
    if family == "uniform":
        assert np.all(np.abs(centres) < latent_families.UNIFORM_PRIOR_HALF_WIDTH)
    samples = family_comparison.decode_prior_samples(model, 7, np.random.default_rng(1))
    assert samples.shape == (7, 784) and np.all((samples >= 0) & (samples <= 1))


def test_measures_are_read_back_as_measured(images, classifier, tmp_path, forbid):
    from vaelib._runtime import cache
    from vaelib.measures import judge

    x_train, y_train, x_test, y_test = images
    result = train(TrainConfig(latent="laplace", **SMALL), x_train, x_test, use_cache=False)

    def measure(scorer=classifier, **changes):
        return family_comparison.family_measures(result, x_train, y_train, x_test, y_test, scorer,
                                               **{"n_prior": 50, "n_codes": 100, "cache_dir": tmp_path, **changes})

    uncached = measure(use_cache=False)
    assert not cache.entries(tmp_path)
    fresh = measure()
    assert fresh == uncached and len(cache.entries(tmp_path)) == 1

    restore = forbid(judge, "predict_proba")
    assert measure() == fresh
    with pytest.raises(AssertionError, match="ran again"):  # another seed: another entry
        measure(seed=1)
    other = keras.models.clone_model(classifier)  # same architecture, other weights
    other.set_weights([w + 0.01 for w in classifier.get_weights()])
    with pytest.raises(AssertionError, match="ran again"):
        measure(other)

    # a corrupt entry is reported, discarded and measured again, never used
    (entry,) = cache.entries(tmp_path)
    (entry / cache.MANIFEST).write_text((entry / cache.MANIFEST).read_text().replace('"test_kl"', '"test_KL"'))
    restore()
    with pytest.warns(RuntimeWarning, match="measuring again"):
        assert measure() == fresh


def test_decoded_prior_samples_come_from_the_models_own_prior():
    model = VAE(hidden_units=(8,), latent="uniform", seed=0)
    model.build((None, 784))
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    expected = np.asarray(model.decode(latent_families.sample_prior("uniform", 4, 2, rng_b)))
    assert np.allclose(family_comparison.decode_prior_samples(model, 4, rng_a), expected)


def test_bad_measure_names_and_values():
    with pytest.raises(TypeError, match=r"model must be a vaelib.models.networks.VAE, got str"):
        family_comparison.decode_prior_samples("vae", 3)
    with pytest.raises(ValueError, match=r"n must be >= 1, got 0"):
        family_comparison.decode_prior_samples(VAE(hidden_units=(8,)), 0)
