"""Every claim of the report's section 4, measured from the cached models of several seeds (chapter 12).

:func:`measure_claim_table` runs the measurements of chapters 06-11 with their arguments (the
``measure_*`` functions of this package, :mod:`vaelib.measures.family_comparison` and :mod:`vaelib.measures.travel`)
on the models of one training seed and returns the :class:`Claim` records in the table's order.
:func:`measure_claims_over_seeds` does so for the models of every seed (trained through the cache)
and combines them (:func:`across_seeds`).
One seed's measurement takes half a minute and a few hundred megabytes, so its records are cached
like a trained model: the key covers the weights of every model used, the classifier's, the data,
the seed of the draws and the source of the whole package, so any change to what decides a verdict
measures anew.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np

from vaelib._runtime import cache
from vaelib._runtime.memory import releases_free_memory
from vaelib._runtime.validation import check_images, check_int, check_labels, check_seed, check_training_images
from vaelib.claims import (
    ae_vs_vae, beta_effects, latent_travel, loss_dynamics, other_latents, sample_quality, space_allocation,
)
from vaelib.claims.rules import Claim, across_seeds
from vaelib.data import UnitMnist, images_digest, unit_images
from vaelib.measures import family_comparison, figure14, judge
from vaelib.models.report_settings import REPORT_EPOCHS, announce_training, report_config, trained
from vaelib.models.training import TrainResult

CHAPTER_06_ONWARDS = ("closer", "normal", "narrower", "repeat", "overfit", "far", "tv",
                      "epoch1-shape", "space", "epoch1-recon", "beta0-least-epoch1", "separation", "after5", "extreme",
                      "beta0-nn", "beta0-least", "fig9", "fig9-kl", "share-0", "share-1", "share-5", "share-50",
                      "beta0-recon", "beta0-match", "beat-recon", "improve", "beats-originals")
"""The table's order up to figure 13; figure 14's claims (``travel-*``) and the closing paragraph's
(``laplace``, ``uniform``) follow. ``overfit`` (§4.1: sampling hinders overfitting, said of figure 3) and
``space`` (§4.2: larger β allocates the space more efficiently, said of figure 5 beside ``epoch1-shape``'s
rounder scatter) are statements no earlier chapter tested; chapter 12 measures and explains them."""
BETAS_FIGURES_5_8 = (0.0, 1.0, 5.0)
BETA_LARGE = 50.0
BETAS_EXTREME = (200.0, 500.0)
BETAS_LOSS_SHARES = (0.0, 1.0, 5.0, 50.0)
BETAS_FIGURE_14 = (0.0, 5.0)
N_GAUSSIAN_SEEDS = 3
MODEL_SEEDS = (0, 1, 2)
"""The training seeds behind every verdict: each model a claim rests on is trained from each of them."""
N_HEAD = 10_000
"""Training images held as floats: chapter 11's kNN reference codes (10,000), chapter 10's
nearest-neighbour search (its first 5,000) and the training errors of the generalisation gap (10,000)."""


@dataclass(frozen=True)
class ClaimsAcrossSeeds:
    """The claims measured on the models of each seed (``per_seed``) and combined (``claims``)."""

    seeds: list[int]
    per_seed: list[list[Claim]]
    claims: list[Claim]
    from_cache: bool


@dataclass(frozen=True)
class ClaimTable:
    """The measured claims in the table's order, how long measuring took and whether it was cached."""

    claims: list[Claim]
    seconds: float
    from_cache: bool


def _needed_betas() -> set[float]:
    return {*BETAS_FIGURES_5_8, BETA_LARGE, *BETAS_EXTREME, *BETAS_LOSS_SHARES, *BETAS_FIGURE_14}


def _check_inputs(runs, autoencoder, family_runs):
    if not isinstance(runs, Mapping) or not _needed_betas() <= set(runs):
        raise ValueError(f"runs must map every beta in {sorted(_needed_betas())} to a TrainResult, "
                         f"got keys {sorted(runs) if isinstance(runs, Mapping) else type(runs).__name__}")
    gaussian = family_runs.get("gaussian") if isinstance(family_runs, Mapping) else None
    if not isinstance(gaussian, Sequence) or len(gaussian) != N_GAUSSIAN_SEEDS or not {"laplace", "uniform"} <= set(family_runs):
        raise ValueError(f"family_runs must hold 'gaussian' ({N_GAUSSIAN_SEEDS} TrainResults from consecutive seeds), "
                         f"'laplace' and 'uniform', got {family_runs!r:.200}")
    every = [*runs.values(), autoencoder, *gaussian, family_runs["laplace"], family_runs["uniform"]]
    if not all(isinstance(r, TrainResult) for r in every):
        raise TypeError("runs, autoencoder and family_runs must hold vaelib.models.training.TrainResult objects")
    return every


def _measure(runs, autoencoder, classifier, family_runs, x_train, y_train, x_test, y_test, seed) -> list[Claim]:
    # chapters 10 and 11 and the generalisation gap use the first 10,000 training images, so only those are
    # held as floats
    x_head = unit_images(x_train[:N_HEAD], name="x_train")
    # section 4.1, figures 2-4 (chapter 06), and its statement on overfitting (measured here only)
    found = ae_vs_vae.section_41_claims(autoencoder.model(), runs[1.0].model(), x_head, x_test, y_test, seed=seed)
    # section 4.2, figures 5-9 (chapter 07); one draw per image for the sampled error, which no claim uses
    # (the table is cached as a whole, so this measurement is not cached on its own)
    betas = list(BETAS_FIGURES_5_8)
    beta_m = beta_effects.measure_beta_effects(runs, x_train, y_train, x_test, y_test, betas=betas, beta_large=BETA_LARGE,
                                         betas_extreme=list(BETAS_EXTREME), seed=seed, n_draws=1, use_cache=False)
    found.update({c.key: c for c in beta_effects.beta_effects_claims(beta_m, betas=betas, beta_large=BETA_LARGE,
                                                               betas_extreme=list(BETAS_EXTREME))})
    first, last = min(runs[1.0].snapshots), max(runs[1.0].snapshots)
    found["epoch1-recon"] = beta_effects.claim_epoch1_reconstructions_alike({b: beta_m["rows"][b, first]["err_mu"]
                                                                       for b in betas})
    # the coverage of the prior's region by the same test codes (one draw per image), after the first and last epoch
    coverage = space_allocation.measure_space_coverage({(b, e): beta_m["summary"][b, e]["z"] for b in betas
                                                        for e in (first, last)}, seed=seed)
    found["space"] = space_allocation.claim_space_allocation({e: {b: coverage["covered"][b, e] for b in betas}
                                                              for e in (first, last)})
    # figures 9-11 (chapter 08)
    for b in BETAS_LOSS_SHARES:
        found[f"share-{b:g}"] = loss_dynamics.claim_kl_share_dynamics(runs[b].history, b, "unweighted")
    found["fig9-kl"] = loss_dynamics.claim_large_beta_kl_increases(runs[BETA_LARGE].history, BETA_LARGE)
    # figures 5, 8 and 12-13 (chapter 09)
    quality = sample_quality.measure_sample_quality(classifier, {b: runs[b] for b in BETAS_LOSS_SHARES}, x_test, y_test,
                                            seed=seed)
    at = lambda epoch: {b: quality["results"][b, epoch] for b in BETAS_LOSS_SHARES}  # noqa: E731
    found.update({c.key: c for c in sample_quality.sample_quality_claims(at(quality["last_epoch"]))})
    found["beta0-least-epoch1"] = sample_quality.claim_beta0_samples_least_recognizable(at(first), epoch=first)
    found["beta0-match"] = sample_quality.claim_beta0_samples_match_reconstructions(at(quality["last_epoch"]))
    found["beat-recon"] = sample_quality.claim_samples_beat_reconstructions(at(quality["last_epoch"]))
    # figure 14 (chapter 10): the report's reading of it as claims
    travel_m = figure14.measure_figure14({b: runs[b].model() for b in BETAS_FIGURE_14}, classifier, x_test, y_test,
                                       x_head, seed=seed)
    travel_claims = latent_travel.figure14_claims(**travel_m["claim_inputs"])
    found.update({f"travel-{c.key}": c for c in travel_claims})
    # the closing paragraph (chapter 11): Gaussian VAEs from three seeds, a Laplace and a uniform VAE
    measure = lambda run: family_comparison.family_measures(run, x_head, y_train[:len(x_head)], x_test, y_test,  # noqa: E731
                                                          classifier, n_codes=len(x_head), seed=seed,
                                                          use_cache=False)
    gaussian = [measure(r) for r in family_runs["gaussian"]]
    found["laplace"] = other_latents.claim_laplace_same_results(measure(family_runs["laplace"]), gaussian)
    found["uniform"] = other_latents.claim_uniform_usable(measure(family_runs["uniform"]))

    order = [*CHAPTER_06_ONWARDS, *[f"travel-{c.key}" for c in travel_claims], "laplace", "uniform"]
    if sorted(order) != sorted(found):
        raise RuntimeError(f"the table's order and the measured claims differ: {sorted(set(order) ^ set(found))}")
    return [found[key] for key in order]


def _plain(value):
    """A claim's values as JSON: NumPy scalars and arrays become numbers and lists; keys become strings."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"a claim value of type {type(value).__name__} cannot be stored: {value!r:.80}")


def claim_records(found: list[Claim]) -> list[dict]:
    """Claims as JSON records (for the cache)."""
    return [_plain(asdict(c)) for c in found]


def claims_from_records(records: list[dict]) -> list[Claim]:
    """Claims from :func:`claim_records`."""
    return [Claim(**record) for record in records]


def claim_table_key(runs, autoencoder, classifier, family_runs, x_train, y_train, x_test, y_test, seed: int) -> str:
    """The cache key: every model's weights, the classifier's, the data, the seed and the package source."""
    every = _check_inputs(runs, autoencoder, family_runs)
    weights = [w for r in every for epoch in sorted(r.snapshots) for w in r.snapshots[epoch]]
    weights += [np.asarray(w) for w in judge.classifier_model(classifier).get_weights()]
    configs = {"runs": {f"{b:g}": r.config.as_dict() for b, r in sorted(runs.items())},
               "autoencoder": autoencoder.config.as_dict(), "seed": seed,
               "families": {name: [r.config.as_dict() for r in (family_runs[name] if name == "gaussian"
                                                                 else [family_runs[name]])]
                            for name in ("gaussian", "laplace", "uniform")}}
    data = images_digest(x_train, x_test) + cache.data_digest(y_train, y_test, *weights)
    return cache.entry_key("claim_table", configs, data, cache.package_source_digest())


@releases_free_memory
def measure_claim_table(runs: Mapping[float, TrainResult], autoencoder: TrainResult, classifier,
                        family_runs: Mapping, x_train, y_train, x_test, y_test, *, seed: int = 0,
                        use_cache: bool = True, cache_dir=None) -> ClaimTable:
    """Measure every claim of section 4 (through the cache).

    Parameters
    ----------
    runs : beta -> TrainResult of the report's VAE, for beta in 0, 1, 5, 50, 200 and 500
    autoencoder : TrainResult of the report's plain autoencoder
    classifier : chapter 09's :class:`vaelib.measures.judge.Classifier`
    family_runs : ``{"gaussian": [three TrainResults from consecutive seeds], "laplace": ..., "uniform": ...}``
        (chapter 11's beta = 1 models)
    x_train, y_train, x_test, y_test : MNIST and its digits, as the chapters use them; ``x_train`` may be
        uint8 pixels (then only its first :data:`N_HEAD` images are scaled, and only to measure)
    seed : seeds every draw, as in chapters 06-11
    use_cache : read and write the on-disk cache (default True); cache_dir overrides its location
    """
    seed = check_seed(seed)
    x_train, x_test = check_training_images(x_train, name="x_train"), check_images(x_test, name="x_test")
    y_train, y_test = check_labels(y_train, len(x_train), name="y_train"), check_labels(y_test, len(x_test), name="y_test")
    key = claim_table_key(runs, autoencoder, classifier, family_runs, x_train, y_train, x_test, y_test, seed)

    def measure():
        start = time.perf_counter()
        records = claim_records(_measure(runs, autoencoder, classifier, family_runs, x_train, y_train, x_test, y_test, seed))
        return {"claims": records, "seconds": time.perf_counter() - start}

    stored, from_cache = cache.cached(key, measure, encode=lambda metadata: ({}, metadata),
                                      decode=lambda _arrays, metadata: metadata, use_cache=use_cache, cache_dir=cache_dir)
    return ClaimTable(claims_from_records(stored["claims"]), stored["seconds"], from_cache=from_cache)


def check_model_seeds(seeds) -> list[int]:
    """Training seeds for :func:`measure_claims_over_seeds`: distinct, at least :data:`N_GAUSSIAN_SEEDS`
    (the Laplace claim measures the Gaussian VAE's seed-to-seed spread over that many)."""
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence):
        raise TypeError(f"model_seeds must be a sequence of seeds, got {seeds!r}")
    seeds = [check_seed(s, "model_seeds entry") for s in seeds]
    if len(seeds) < N_GAUSSIAN_SEEDS or len(set(seeds)) != len(seeds):
        raise ValueError(f"model_seeds must hold at least {N_GAUSSIAN_SEEDS} distinct seeds, got {seeds}")
    return seeds


def measure_claims_over_seeds(classifier, data: UnitMnist, *, model_seeds=MODEL_SEEDS, seed: int = 0,
                              n_train: int | None = None, epochs: int = REPORT_EPOCHS) -> ClaimsAcrossSeeds:
    """Every claim, measured on the models of each training seed in ``model_seeds`` and combined.

    For each seed the report's VAEs (beta in 0, 1, 5, 50, 200, 500), its autoencoder and the Laplace
    and uniform VAEs of chapter 11 are trained through the cache (``n_train`` images, ``epochs``
    epochs) and measured with :func:`measure_claim_table`; the Laplace claim compares against the
    Gaussian VAEs of the first :data:`N_GAUSSIAN_SEEDS` seeds. ``seed`` seeds every draw of the
    measurements, the same for every model seed. The verdicts combine by
    :data:`vaelib.claims.rules.ACROSS_SEEDS_RULE`.
    """
    seeds, seed = check_model_seeds(model_seeds), check_seed(seed)
    epochs = check_int("epochs", epochs, minimum=2)  # claim 10 compares the first snapshot with the last
    if not isinstance(data, UnitMnist):
        raise TypeError(f"data must be a vaelib.models.report_settings.UnitMnist, got {type(data).__name__}")
    n_fit = data.n_train if n_train is None else check_int("n_train", n_train, minimum=1, maximum=data.n_train)
    x_fit, y_fit = data.pixels_train[:n_fit], data.y_train[:n_fit]
    configs = lambda s: {**{b: report_config(beta=b, epochs=epochs, seed=s) for b in sorted(_needed_betas())},  # noqa: E731
                         "ae": report_config(model="ae", epochs=epochs, seed=s),
                         "laplace": report_config(beta=1.0, epochs=epochs, seed=s, latent="laplace"),
                         "uniform": report_config(beta=1.0, epochs=epochs, seed=s, latent="uniform")}
    announce_training([c for s in seeds for c in configs(s).values()], n_train=n_train, data=data)
    gaussian = [trained(configs(s)[1.0], n_train=n_train, data=data) for s in seeds[:N_GAUSSIAN_SEEDS]]
    per_seed, from_cache = [], True
    for s in seeds:
        models = {name: trained(config, n_train=n_train, data=data) for name, config in configs(s).items()}
        runs = {b: models[b] for b in sorted(_needed_betas())}
        family_runs = {"gaussian": gaussian, "laplace": models["laplace"], "uniform": models["uniform"]}
        table = measure_claim_table(runs, models["ae"], classifier, family_runs, x_fit, y_fit,
                                    data.x_test, data.y_test, seed=seed)
        per_seed.append(table.claims)
        from_cache = from_cache and table.from_cache
        del models, runs, family_runs, table
    return ClaimsAcrossSeeds(seeds, per_seed, across_seeds(per_seed, seeds), from_cache)
