"""Chapter 14's experiments: binarized MNIST for Bernoulli VAEs and cached evaluations of the bounds.

``binarize``
    Each pixel drawn from Bernoulli(its grey level), seeded: the one fixed binarization of the
    test images (:func:`test_binarization`) every evaluation uses.
``bernoulli_config`` / ``train_bernoulli``
    A Bernoulli-likelihood VAE trained through :func:`vaelib.models.training.train` (and so its cache) on
    the grey training images with dynamic binarization (``TrainConfig(binarize=True)``: every
    training step draws the binary pixels afresh), evaluated during training on the fixed
    binarization of the test images.
``evaluate_bounds``
    Per image: the ELBO (eq. 11 with L = K draws and the closed-form KL, eq. 10), the
    reconstruction term, the KL (the rate) and the importance-weighted bound L_k for several k
    from the same K draws (:mod:`vaelib.measures.iwae`). Cached with :mod:`vaelib._runtime.cache` under a key made
    of the model's configuration and weights, the images, the settings and this source.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from vaelib._runtime import cache
from vaelib._runtime.memory import releases_free_memory
from vaelib._runtime.validation import (
    check_images, check_int, check_int_sequence, check_rng, check_seed, check_training_images,
)
from vaelib.maths.gaussian import gaussian_kl_numpy
from vaelib.measures import iwae
from vaelib.models.networks import encode_mean
from vaelib.models.training import TrainConfig, TrainResult, train

__all__ = ["binarize", "test_binarization", "bernoulli_config", "train_bernoulli",
           "BoundEvaluation", "evaluate_bounds", "TEST_BINARIZATION_SEED"]

#: Seed of the one fixed binarization of the test images used for every evaluation.
TEST_BINARIZATION_SEED = 20160101


def binarize(x, seed=0) -> np.ndarray:
    """Binary images: each pixel 1 with probability its grey level (float32 0/1, shape (n, 784))."""
    x = check_images(x, name="x")
    rng = check_rng(seed)
    return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)


def test_binarization(x_test) -> np.ndarray:
    """The fixed binarization of the test images (seed :data:`TEST_BINARIZATION_SEED`)."""
    return binarize(x_test, TEST_BINARIZATION_SEED)


def bernoulli_config(latent_dim: int, epochs: int, hidden_units=(200, 200), *, seed: int = 0) -> TrainConfig:
    """A beta = 1 VAE with Bernoulli pixels and dynamic binarization (Adam 1e-3, batch 128 as the report's)."""
    return TrainConfig(beta=1.0, likelihood="bernoulli", binarize=True, latent_dim=latent_dim,
                       hidden_units=tuple(hidden_units), epochs=epochs, seed=seed)


@releases_free_memory
def train_bernoulli(config: TrainConfig, x_train, x_test, *, n_train: int | None = None) -> TrainResult:
    """Train ``config`` (cached) on the first ``n_train`` grey training images, binarized afresh at every step.

    ``config`` must have ``likelihood="bernoulli"`` and ``binarize=True`` (:func:`bernoulli_config`);
    ``x_train`` holds uint8 pixels or floats in [0, 1] (as :func:`vaelib.models.training.train` takes them).
    The test images are binarized once (:func:`test_binarization`), so the history's ``test_*``
    entries are one-sample estimates of the negative ELBO on the same binary test set that
    :func:`evaluate_bounds` uses.
    """
    if not isinstance(config, TrainConfig) or config.likelihood != "bernoulli" or not config.binarize:
        raise ValueError(f"config must be a TrainConfig with likelihood='bernoulli' and binarize=True "
                         f"(see bernoulli_config), got {config!r}")
    x_train = check_training_images(x_train, name="x_train")
    if n_train is not None:
        x_train = x_train[:check_int("n_train", n_train, minimum=config.batch_size, maximum=len(x_train))]
    return train(config, x_train, test_binarization(x_test))


@dataclass(frozen=True)
class BoundEvaluation:
    """Per-image bounds of one model on a set of images (float64 arrays of length n)."""

    ks: tuple[int, ...]
    iwae: np.ndarray            # (n, len(ks)): L_k per image, averaged over the K // k groups of draws
    log_likelihood: np.ndarray  # (n,): mean of log p(x|z) over the K draws (the reconstruction term)
    kl: np.ndarray              # (n,): KL(q(z|x) || p(z)), exact (eq. 10): the rate
    n_samples: int
    seconds: float
    from_cache: bool

    @property
    def elbo(self) -> np.ndarray:
        """Eq. (11) with L = K draws: reconstruction term minus the closed-form KL."""
        return self.log_likelihood - self.kl

    def bound(self, k: int) -> np.ndarray:
        """L_k per image."""
        if k not in self.ks:
            raise ValueError(f"k must be one of the evaluated {list(self.ks)}, got {k!r}")
        return self.iwae[:, self.ks.index(k)]


_SOURCES = ("measures/iwae.py", "measures/tightness.py", "maths/gaussian.py", "models/networks.py")


@releases_free_memory
def evaluate_bounds(result: TrainResult, x, *, n_samples: int, ks, seed: int = 0,
                    use_cache: bool = True, cache_dir=None) -> BoundEvaluation:
    """ELBO, reconstruction, KL and L_k (k in ``ks``, each <= n_samples) per image of ``x``.

    K = ``n_samples`` draws per image from q(z|x) (seeded by ``seed``) serve every k: L_k is
    averaged over the K // k disjoint groups (:func:`vaelib.measures.iwae.iwae_from_log_weights`).
    """
    if not isinstance(result, TrainResult):
        raise TypeError(f"result must be a vaelib.models.training.TrainResult, got {type(result).__name__}")
    x = check_images(x, name="x")
    n_samples = check_int("n_samples", n_samples, minimum=1)
    ks = check_int_sequence("ks", ks, minimum=1, maximum=n_samples)
    if not ks:
        raise ValueError("ks must name at least one k")
    seed = check_seed(seed)
    weights = result.snapshots[result.config.epochs]
    key = cache.entry_key("iwae_bounds", {"config": result.config.as_dict(), "n_samples": n_samples,
                                          "ks": list(ks), "seed": seed},
                          cache.data_digest(x, *weights), cache.source_digest(*_SOURCES))

    def evaluate() -> BoundEvaluation:
        start = time.perf_counter()
        model = result.model()
        log_w, log_lik = iwae.log_weights(model, x, n_samples, rng=seed, return_log_likelihood=True)
        bounds = np.stack([iwae.iwae_from_log_weights(log_w, k) for k in ks], axis=1)
        mu, log_var = encode_mean(model, x)
        kl = gaussian_kl_numpy(mu, log_var).astype(np.float64)
        return BoundEvaluation(ks, bounds, log_lik.mean(axis=1), kl, n_samples, time.perf_counter() - start,
                               from_cache=False)

    def encode(e: BoundEvaluation) -> tuple[dict, dict]:
        return ({"bounds": {"iwae": e.iwae, "log_likelihood": e.log_likelihood, "kl": e.kl}},
                {"ks": list(e.ks), "n_samples": e.n_samples, "seconds": e.seconds})

    def decode(arrays: dict, metadata: dict) -> BoundEvaluation:
        b = arrays["bounds"]
        return BoundEvaluation(tuple(metadata["ks"]), b["iwae"], b["log_likelihood"], b["kl"], metadata["n_samples"],
                               metadata["seconds"], from_cache=True)

    evaluation, from_cache = cache.cached(key, evaluate, encode=encode, decode=decode, use_cache=use_cache,
                                          cache_dir=cache_dir, then="computing the bounds again",
                                          describes={"ks": list(ks), "n_samples": n_samples})
    return dataclasses.replace(evaluation, from_cache=from_cache)
