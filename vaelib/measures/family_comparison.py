"""Measures that compare VAEs with different latent families (chapter 11).

Every measure is defined for all three families of :mod:`vaelib.maths.latent_families`: the test-set loss
terms of the training history, the code structure (active dimensions and a k-NN accuracy on
the centres of q(z|x)), and the decoded samples of each model's own prior scored by the digit
classifier (eq. 13's ratio against the test images, and the spread of digits they show).
The claim "the Laplace VAE gives almost the same results as the Gaussian" is judged in
:mod:`vaelib.claims.other_latents`.
"""

from __future__ import annotations

import numpy as np

from vaelib._runtime import cache
from vaelib._runtime.batching import EAGER_ROWS, in_blocks
from vaelib._runtime.memory import releases_free_memory
from vaelib._runtime.validation import check_images, check_int, check_labels, check_rng, check_seed
from vaelib.data import images_digest
from vaelib.maths import latent_families
from vaelib.measures import judge, metrics
from vaelib.models.networks import check_vae

HISTORY_MEASURES = ("test_loss", "test_reconstruction", "test_kl")


def encode_centres(model, x, *, batch_size: int = EAGER_ROWS) -> np.ndarray:
    """Centres of q_phi(z|x) (the mean; mu for the Gaussian), float64 of shape (n, latent_dim)."""
    model = check_vae(model)
    x = check_images(x)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    return in_blocks(model.posterior_location, x, rows=batch_size).astype(np.float64)


def decode_prior_samples(model, n: int, rng=None) -> np.ndarray:
    """Decode ``n`` draws from the model's own prior p(z) (its latent family), shape (n, 784)."""
    model = check_vae(model)
    n = check_int("n", n, minimum=1)
    z = latent_families.sample_prior(model.latent, n, model.latent_dim, check_rng(rng))
    return in_blocks(model.decode, z).astype(np.float32)


def family_measures(result, x_train, y_train, x_test, y_test, classifier, *, n_prior: int = 2000,
                    n_codes: int = 10000, seed: int = 0, use_cache: bool = True, cache_dir=None) -> dict[str, float]:
    """Everything chapter 11 compares, for one trained VAE (a :class:`vaelib.models.training.TrainResult`).

    Returns the last epoch's test loss, reconstruction and KL terms; the number of active
    dimensions of the code centres (variance > 0.01, Burda et al. 2016); the 15-NN accuracy of
    test codes labelled from the first ``n_codes`` training codes; and, for ``n_prior`` decoded
    prior samples, eq. 13's confidence ratio against the test images (with its standard error),
    the fraction classified with confidence > 0.9 and the entropy (bits) of their predicted digits.

    Cached (:func:`vaelib._runtime.cache.cached`; the key covers the model's last weights and history, the
    classifier's weights, the images used, the arguments and vaelib's source); ``use_cache=False``
    measures without the cache.
    """
    model = check_vae(result.model())
    n_prior = check_int("n_prior", n_prior, minimum=2)
    n_codes = check_int("n_codes", n_codes, minimum=15, maximum=len(x_train))
    seed = check_seed(seed)
    x_codes, x_test = x_train[:n_codes], check_images(x_test, name="x_test")
    y_codes = check_labels(np.asarray(y_train)[:n_codes], n_codes, name="y_train")
    y_test = check_labels(y_test, len(x_test), name="y_test")
    history = {name: float(result.history[name][-1]) for name in HISTORY_MEASURES}
    weights = [np.asarray(w) for w in model.get_weights() + judge.classifier_model(classifier).get_weights()]
    key = cache.entry_key("family_measures", {"model": result.config.as_dict(), "history": history,
                                              "n_prior": n_prior, "n_codes": n_codes, "seed": seed},
                          images_digest(x_codes, x_test) + cache.data_digest(y_codes, y_test, *weights),
                          cache.package_source_digest())

    def measure() -> dict[str, float]:
        return _family_measures(model, history, x_codes, y_codes, x_test, y_test, classifier, n_prior=n_prior, seed=seed)

    measures, _ = cache.cached(key, measure, encode=lambda m: ({}, m), decode=lambda _arrays, m: dict(m),
                               use_cache=use_cache, cache_dir=cache_dir)
    return measures


@releases_free_memory
def _family_measures(model, history, x_codes, y_codes, x_test, y_test, classifier, *, n_prior, seed) -> dict[str, float]:
    measures = dict(history)
    test_codes = encode_centres(model, x_test)
    measures["active_dims"] = float(metrics.active_dimensions(test_codes)[1])
    measures["knn_accuracy"] = metrics.knn_accuracy(encode_centres(model, x_codes), y_codes, test_codes, y_test)
    samples = decode_prior_samples(model, n_prior, np.random.default_rng(seed))
    quality = judge.quality_measures(judge.predict_proba(classifier, samples),
                                        judge.predict_proba(classifier, x_test))
    measures.update({f"prior_{key}": value for key, value in quality.items()
                     if key in ("ratio", "ratio_se", "confident_fraction", "class_entropy")})
    return measures
