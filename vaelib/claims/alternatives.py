"""What the verdicts depend on: chapter 12's claims re-measured under other plausible settings (chapter 13).

The report does not state its judge, how its squared error is reduced over the 784 pixels, its
architecture or its batch size. The book's choices (:func:`vaelib.models.report_settings.report_config`,
chapter 09's convolutional judge) are one reading; each alternative here changes one of them:

    judge    eq. (13)'s classifier: a small dense network of about the report's quality
             (:class:`vaelib.measures.judge.ClassifierConfig`, ``architecture="mlp"``), every claim re-measured
    identity the squared error averaged over pixels with beta / 784 (chapter 04's hidden beta):
             :func:`hidden_beta_identity` measures whether that is the book's model up to a change of seed
    literal  averaged over pixels with beta as written: §4.1's claims (autoencoder against the beta = 1 VAE)
    classic  Keras' classic VAE example, one hidden layer of 256 units and minibatches of 100: the claims
             the beta = 1 and beta = 50 VAEs decide on their own (figure 9, the KL shares, figure 13's beta = 50)

Every alternative model is trained from each of chapter 12's seeds through the cache; its claims are
judged by the same functions and combined over the seeds by the same rule (:data:`ACROSS_SEEDS_RULE`).
:func:`dependence` then applies :data:`ROBUST_RULE` and :func:`dependence_table` shows the answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vaelib._runtime import cache
from vaelib._runtime.validation import check_int, check_seed
from vaelib.claims import ae_vs_vae, beta_effects, loss_dynamics, sample_quality
from vaelib.claims.over_seeds import BETA_LARGE, N_HEAD, check_model_seeds, claims_from_records, claim_records
from vaelib.claims.rules import ACROSS_SEEDS_RULE, N_SE, Claim, across_seeds
from vaelib.claims.tables import SEED_VERDICT_MARKS
from vaelib.data import UnitMnist, images_digest, unit_images
from vaelib.measures import judge, metrics
from vaelib.models.networks import IMAGE_SIZE
from vaelib.models.report_settings import REPORT_EPOCHS, announce_training, report_config, trained
from vaelib.models.training import TrainResult

__all__ = ["ACROSS_SEEDS_RULE", "CLASSIC", "CLASSIC_KEYS", "COLLAPSE_MAX_NATS", "HIDDEN_BETA_RULE", "LITERAL",
           "LITERAL_KEYS", "ROBUST_RULE", "SETTING_NAMES", "AlternativeClaims", "dependence", "dependence_table",
           "final_kl", "hidden_beta_identity", "identity_rows", "mean_image_error", "measure_classic", "measure_literal"]

LITERAL = {"pixel_reduction": "mean"}
"""The squared error averaged over the 784 pixels, beta as written (the other common Keras idiom)."""
CLASSIC = {"hidden_units": (256,), "batch_size": 100}
"""Keras' classic VAE example (``examples/variational_autoencoder.py``): one hidden layer of 256 units
in the encoder and in the decoder, minibatches of 100, a two-dimensional code."""
LITERAL_KEYS = ("closer", "normal", "narrower", "repeat", "overfit", "far", "tv")
"""§4.1's claims: the autoencoder against the beta = 1 VAE (table rows 1-7)."""
CLASSIC_KEYS = ("fig9", "fig9-kl", "share-1", "share-50", "beats-originals")
"""The claims that rest on the beta = 1 and beta = 50 VAEs alone."""
SETTING_NAMES = {"book": "the book", "judge": "weaker judge", "identity": "mean, β/784", "literal": "mean, β as written",
                 "classic": "Keras' classic example"}
COLLAPSE_MAX_NATS = 0.01
"""A VAE whose test KL term ends below this many nats per image has collapsed onto its prior: on average its
code tells the decoder less than a hundredth of a nat (0.014 bits) about the image, so the decoder answers
every image with nearly the same output."""
HIDDEN_BETA_RULE = (f"the averaged error with β/784 counts as the book's setting up to a change of seed if each measure "
                    f"of its model differs from the book's model of the same seed by at most {N_SE:g} times the standard "
                    f"deviation of a difference between two seeds (√2 times the standard deviation over the book's seeds)")
"""Why not the range over the seeds: a fourth seed of the book's own model falls outside the range of three
half the time. Under the rule's yardstick, a model that is another seed in disguise fails it about one
time in ten per measure (Student's t with two degrees of freedom beyond 3)."""
ROBUST_RULE = ("a setting tests a claim if it changes a number the claim is judged on; a verdict is robust if at least "
               "one alternative setting tests it and every setting that does gives the book's verdict, and depends on "
               "the setting if one gives another; a claim no alternative tests is untested")


def _cached_claims(kind: str, runs: Mapping[str, TrainResult], classifier, data: UnitMnist, n_fit: int, seed: int,
                   measure: Callable[[], list[Claim]]) -> list[Claim]:
    """``measure()`` through the cache; the key covers every model's weights, the judge's, the data and vaelib's source."""
    weights = [w for r in runs.values() for epoch in sorted(r.snapshots) for w in r.snapshots[epoch]]
    if classifier is not None:
        weights += [np.asarray(w) for w in judge.classifier_model(classifier).get_weights()]
    configs = {"runs": {name: r.config.as_dict() for name, r in runs.items()}, "seed": seed, "n_fit": n_fit,
               "judge": None if classifier is None else classifier.config.as_dict()}
    digest = images_digest(data.pixels_train[:n_fit], data.x_test) + cache.data_digest(data.y_train[:n_fit],
                                                                                     data.y_test, *weights)
    key = cache.entry_key(kind, configs, digest, cache.package_source_digest())
    stored, _ = cache.cached(key, lambda: claim_records(measure()), encode=lambda records: ({}, {"claims": records}),
                             decode=lambda _arrays, metadata: metadata["claims"])
    return claims_from_records(stored)


def _setup(data, model_seeds, seed, n_train, epochs):
    if not isinstance(data, UnitMnist):
        raise TypeError(f"data must be a vaelib.data.UnitMnist, got {type(data).__name__}")
    seeds, seed = check_model_seeds(model_seeds), check_seed(seed)
    epochs = check_int("epochs", epochs, minimum=2)
    n_fit = data.n_train if n_train is None else check_int("n_train", n_train, minimum=1, maximum=data.n_train)
    return seeds, seed, epochs, n_fit


def hidden_beta_identity(data: UnitMnist, *, model_seeds=(0, 1, 2), beta: float = 1.0, n_train: int | None = None,
                         epochs: int = REPORT_EPOCHS) -> dict:
    """Chapter 04's identity, measured: the VAE trained on the pixel-averaged squared error with ``beta`` / 784,
    from the first seed, against the book's (summed) VAEs of ``beta`` from every seed.

    Returns ``rows``: for the test reconstruction term (summed over pixels: the averaged one times 784) and
    the KL term after the first and the last epoch, the identity model's value, the same-seed book model's,
    their difference, the standard deviation over the book's seeds, the rule's bound and whether
    :data:`HIDDEN_BETA_RULE` holds;
    and ``holds``, whether it holds for every measure.
    """
    seeds, _, epochs, _ = _setup(data, model_seeds, 0, n_train, epochs)
    book = [report_config(beta=beta, epochs=epochs, seed=s) for s in seeds]
    averaged = report_config(beta=beta / IMAGE_SIZE, epochs=epochs, seed=seeds[0], **LITERAL)
    announce_training([*book, averaged], n_train=n_train, data=data)
    book_runs = [trained(c, n_train=n_train, data=data) for c in book]
    return identity_rows(book_runs, trained(averaged, n_train=n_train, data=data))


def identity_rows(book_runs: Sequence[TrainResult], averaged_run: TrainResult) -> dict:
    """:func:`hidden_beta_identity`'s comparison, from the book's runs (one per seed, the first of the same seed
    as ``averaged_run``) and the run trained on the pixel-averaged error."""
    if len(book_runs) < 2 or not all(isinstance(r, TrainResult) for r in [*book_runs, averaged_run]):
        raise ValueError(f"book_runs must hold at least two TrainResults (one per seed) and averaged_run one, "
                         f"got {len(book_runs)} and {type(averaged_run).__name__}")
    if averaged_run.config.pixel_reduction != "mean" or any(r.config.pixel_reduction != "sum" for r in book_runs):
        raise ValueError("averaged_run must be trained on the pixel-averaged error and book_runs on the summed one")
    if averaged_run.config.seed != book_runs[0].config.seed:
        raise ValueError(f"averaged_run (seed {averaged_run.config.seed}) must share the seed of book_runs[0] "
                         f"(seed {book_runs[0].config.seed})")
    rows = []
    for term, scale in (("reconstruction", IMAGE_SIZE), ("kl", 1.0)):
        for position in (0, -1):
            epoch = len(averaged_run.history[f"test_{term}"]) if position else 1
            values = [r.history[f"test_{term}"][position] for r in book_runs]
            mine = averaged_run.history[f"test_{term}"][position] * scale
            bound = N_SE * math.sqrt(2.0) * float(np.std(values, ddof=1))
            rows.append({"measure": f"test {'reconstruction term' if term == 'reconstruction' else 'KL'}, epoch {epoch}",
                         "identity": mine, "book": values[0], "book_seeds": values, "difference": mine - values[0],
                         "seed_sd": float(np.std(values, ddof=1)), "bound": bound,
                         "holds": abs(mine - values[0]) <= bound})
    return {"seed": averaged_run.config.seed, "rows": rows, "holds": all(r["holds"] for r in rows)}


def final_kl(run: TrainResult) -> float:
    """The KL term on the test images after the last epoch, nats per image (compare :data:`COLLAPSE_MAX_NATS`)."""
    return float(run.history["test_kl"][-1])


def mean_image_error(data: UnitMnist, *, n_train: int | None = None) -> float:
    """The test error of a decoder that returns the mean training image (:func:`vaelib.measures.metrics.mean_image_error`):
    where a VAE collapsed onto its prior ends up."""
    n_fit = data.n_train if n_train is None else check_int("n_train", n_train, minimum=1, maximum=data.n_train)
    return metrics.mean_image_error(data.pixels_train[:n_fit], data.x_test)


@dataclass(frozen=True)
class AlternativeClaims:
    """Claims re-measured under one alternative setting on the models of each seed and combined (``claims``)."""

    setting: str
    seeds: list[int]
    per_seed: list[list[Claim]]
    claims: list[Claim]
    runs: dict


def _combine(setting, seeds, per_seed, runs) -> AlternativeClaims:
    return AlternativeClaims(setting, seeds, per_seed, across_seeds(per_seed, seeds), runs)


def measure_literal(data: UnitMnist, *, model_seeds=(0, 1, 2), seed: int = 0, n_train: int | None = None,
                    epochs: int = REPORT_EPOCHS) -> AlternativeClaims:
    """§4.1's claims (:data:`LITERAL_KEYS`) with the beta = 1 VAE trained on the pixel-averaged error, beta as
    written, against the book's autoencoder (an autoencoder has no beta: averaging only rescales its loss,
    which :func:`hidden_beta_identity` shows to be a change of seed at most). ``runs``: seed -> that VAE."""
    seeds, seed, epochs, n_fit = _setup(data, model_seeds, seed, n_train, epochs)
    configs = {s: (report_config(model="ae", epochs=epochs, seed=s), report_config(beta=1.0, epochs=epochs, seed=s,
                                                                                   **LITERAL)) for s in seeds}
    announce_training([c for pair in configs.values() for c in pair], n_train=n_train, data=data)
    per_seed, runs = [], {}
    for s in seeds:
        ae, vae = (trained(c, n_train=n_train, data=data) for c in configs[s])
        runs[s] = vae

        def measure(ae=ae, vae=vae):
            x_head = unit_images(data.pixels_train[:min(N_HEAD, n_fit)], name="x_train")
            found = ae_vs_vae.section_41_claims(ae.model(), vae.model(), x_head, data.x_test, data.y_test, seed=seed)
            return [found[k] for k in LITERAL_KEYS]

        per_seed.append(_cached_claims("literal_claims", {"ae": ae, "vae": vae}, None, data, n_fit, seed, measure))
    return _combine("literal", seeds, per_seed, runs)


def measure_classic(classifier, data: UnitMnist, *, model_seeds=(0, 1, 2), seed: int = 0, n_train: int | None = None,
                    epochs: int = REPORT_EPOCHS) -> AlternativeClaims:
    """The claims of :data:`CLASSIC_KEYS` on the beta = 1 and beta = 50 VAEs of Keras' classic example
    (:data:`CLASSIC`), measured as chapter 12 measures them; ``classifier`` is eq. (13)'s judge.
    ``runs``: (seed, beta) -> TrainResult."""
    seeds, seed, epochs, n_fit = _setup(data, model_seeds, seed, n_train, epochs)
    betas = (1.0, BETA_LARGE)
    configs = {s: {b: report_config(beta=b, epochs=epochs, seed=s, **CLASSIC) for b in betas} for s in seeds}
    announce_training([c for by_beta in configs.values() for c in by_beta.values()], n_train=n_train, data=data)
    per_seed, runs = [], {}
    for s in seeds:
        models = {b: trained(c, n_train=n_train, data=data) for b, c in configs[s].items()}
        runs.update({(s, b): r for b, r in models.items()})

        def measure(models=models):
            m = beta_effects.measure_beta_effects(models, data.pixels_train[:n_fit], data.y_train[:n_fit], data.x_test,
                                                  data.y_test, betas=[1.0], beta_large=BETA_LARGE, betas_extreme=[],
                                                  seed=seed, n_draws=1, use_cache=False)
            rows, last = m["rows"], m["snapshot_epochs"][-1]
            found = {"fig9": beta_effects.claim_large_beta_near_prior(
                rows[BETA_LARGE, last]["D_N"], rows[1.0, last]["D_N"], rows[BETA_LARGE, last]["knn"],
                rows[1.0, last]["knn"], len(data.x_test), BETA_LARGE),
                "fig9-kl": loss_dynamics.claim_large_beta_kl_increases(models[BETA_LARGE].history, BETA_LARGE)}
            for b in betas:
                found[f"share-{b:g}"] = loss_dynamics.claim_kl_share_dynamics(models[b].history, b, "unweighted")
            quality = sample_quality.measure_sample_quality(classifier, {BETA_LARGE: models[BETA_LARGE]}, data.x_test,
                                                            data.y_test, seed=seed)
            found["beats-originals"] = sample_quality.claim_high_beta_samples_beat_originals(
                {BETA_LARGE: quality["results"][BETA_LARGE, quality["last_epoch"]]}, BETA_LARGE)
            return [found[k] for k in CLASSIC_KEYS]

        per_seed.append(_cached_claims("classic_claims", {f"{b:g}": r for b, r in models.items()}, classifier, data,
                                       n_fit, seed, measure))
    return _combine("classic", seeds, per_seed, runs)


def _tests(book: Claim, other: Claim) -> bool:
    """Whether ``other`` (the same claim under another setting) was judged on different numbers."""
    return other.values["per_seed_checks"] != book.values["per_seed_checks"]


def dependence(book: Sequence[Claim], alternatives: Mapping[str, Sequence[Claim]]) -> list[dict]:
    """Each of ``book``'s claims (chapter 12's table, combined over seeds) with its verdict under each
    alternative setting (``alternatives``: setting name -> claims combined over the same seeds; a setting may
    re-measure only some claims) and the outcome of :data:`ROBUST_RULE`: ``"robust"``,
    ``"depends on the setting"`` or ``"untested"``. A setting that re-measured a claim on identical numbers
    (a judge the claim does not use) does not test it."""
    book = list(book)
    unknown = set(alternatives) - set(SETTING_NAMES) - {"book"}
    if unknown:
        raise ValueError(f"alternatives must be named among {sorted(set(SETTING_NAMES) - {'book'})}, got {sorted(unknown)}")
    keys = {c.key for c in book}
    by_setting = {}
    for name, claims in alternatives.items():
        found = {c.key: c for c in claims}
        if not set(found) <= keys:
            raise ValueError(f"setting {name!r} has claims the book's table lacks: {sorted(set(found) - keys)}")
        by_setting[name] = found
    rows = []
    for number, claim in enumerate(book, start=1):
        verdicts = {name: found[claim.key].verdict for name, found in by_setting.items()
                    if claim.key in found and _tests(claim, found[claim.key])}
        if not verdicts:
            outcome = "untested"
        elif all(v == claim.verdict for v in verdicts.values()):
            outcome = "robust"
        else:
            outcome = "depends on the setting"
        rows.append({"number": number, "key": claim.key, "claim": claim.claim, "book": claim.verdict,
                     "verdicts": verdicts, "outcome": outcome})
    return rows


def dependence_table(rows: Sequence[Mapping], settings: Sequence[str], *, equal_to_book: Sequence[str] = ()) -> str:
    """Markdown for :func:`dependence`'s rows: claim, the book's verdict, the verdict under each of ``settings``
    (a dot where the setting does not test the claim; ``=`` in the columns of ``equal_to_book``, settings shown to
    be the book's up to a change of seed) and the outcome, with robust verdicts in bold."""
    columns = [*settings, *equal_to_book]
    unknown = [s for s in columns if s not in SETTING_NAMES or s == "book"]
    if unknown:
        raise ValueError(f"settings must be among {sorted(set(SETTING_NAMES) - {'book'})}, got {unknown}")
    marks = SEED_VERDICT_MARKS
    lines = ["| # | claim of the report | " + " | ".join(SETTING_NAMES[s] for s in ["book", *columns]) + " | outcome |",
             "|---|---|" + "---|" * (len(columns) + 2)]
    for row in rows:
        cells = [marks[row["book"]], *(marks[row["verdicts"][s]] if s in row["verdicts"] else "·" for s in settings),
                 *("=" for _ in equal_to_book)]
        outcome = f"**robust: {row['book']}**" if row["outcome"] == "robust" else row["outcome"]
        claim = str(row["claim"]).replace("|", "\\|")
        lines.append(f"| {row['number']} | {claim} | " + " | ".join(cells) + f" | {outcome} |")
    return "\n".join(lines)
