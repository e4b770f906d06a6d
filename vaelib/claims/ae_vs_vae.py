"""§4.1, figures 2-4 (chapter 06): the autoencoder's and the VAE's latent spaces, measured and judged.

Also the section's statement that sampling hinders overfitting, which no chapter tested: measured
and judged on chapter 12's models (:func:`measure_generalisation`, :func:`claim_sampling_hinders_overfitting`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vaelib._runtime.batching import in_blocks
from vaelib._runtime.memory import releases_free_memory
from vaelib._runtime.validation import check_images, check_int, check_labels, check_seed
from vaelib.claims._inputs import binomial_se_difference, fields, fraction, paired_errors, real
from vaelib.claims.rules import (
    ALMOST_NORMAL_MAX_NATS, GAP_FLOOR, GREY_LEVEL, N_SE, NARROWER_MAX_VARIANCE, SLIGHT_MAX_RATIO, TV_REPRESENTATIVE_MAX,
    TV_UNREPRESENTATIVE_MIN, Check, Claim, judged,
)
from vaelib.measures import latent_space, metrics
from vaelib.models.networks import encode_mean

CHAPTER = "06_ae_vs_vae"
CHAPTER_UNTESTED = "12_claims"
"""Where the statements that no earlier chapter tested are measured and explained."""


def claim_closer_to_prior(ae: Mapping, vae: Mapping) -> Claim:
    """The VAE's codes are closer to N(0, I) than the autoencoder's (figures 2 and 4).

    ``ae`` and ``vae`` hold ``D`` (moment-matched KL to the prior, nats) and ``in95`` (fraction of
    codes in the prior's 95% region). Two parts: the VAE's D is the smaller, and its fraction is
    the nearer 0.95.
    """
    ae, vae = fields("ae", ae, required=("D", "in95")), fields("vae", vae, required=("D", "in95"))
    d_ae, d_vae = real("ae['D']", ae["D"], minimum=0.0), real("vae['D']", vae["D"], minimum=0.0)
    in_ae, in_vae = fraction("ae['in95']", ae["in95"]), fraction("vae['in95']", vae["in95"])
    return judged(
        "closer", "The VAE's codes are closer to the prior N(0, I) than the autoencoder's", "§4.1, figures 2 and 4",
        CHAPTER, f"D: VAE {d_vae:.3g} vs AE {d_ae:.3g} nats; in 95% region: VAE {in_vae:.3f} vs AE {in_ae:.3f}",
        "the VAE has the smaller D, and its fraction of codes in the 95% region is nearer 0.95",
        [Check("D, AE minus VAE (nats)", d_ae - d_vae, "above", 0.0),
         Check("distance of the 95%-region fraction from 0.95, AE minus VAE",
               abs(in_ae - 0.95) - abs(in_vae - 0.95), "above", 0.0)],
        {"D_vae": d_vae, "D_ae": d_ae, "in95_vae": in_vae, "in95_ae": in_ae})


def claim_almost_standard_normal(vae: Mapping) -> Claim:
    """The VAE's codes almost follow N(0, I) (figure 4): D below ALMOST_NORMAL_MAX_NATS (0.1 nats)."""
    d = real("vae['D']", fields("vae", vae, required=("D",))["D"], minimum=0.0)
    return judged(
        "normal", "The VAE's codes almost follow a standard normal distribution", "§4.1, figure 4", CHAPTER,
        f"D = {d:.3g} nats", f"D < {ALMOST_NORMAL_MAX_NATS:g} nats",
        [Check("D of the VAE's codes (nats)", d, "below", ALMOST_NORMAL_MAX_NATS)], {"D_vae": d})


def claim_narrower_than_prior(vae: Mapping) -> Claim:
    """The VAE's cloud of codes is narrower than the prior ("a minor variance", figure 4).

    ``vae['cov']`` is the 2 x 2 (or d x d) covariance of the codes; one part per axis: its variance
    below NARROWER_MAX_VARIANCE (0.9: at least 10% narrower, about 7 standard errors for 10,000 codes).
    """
    cov = np.asarray(fields("vae", vae, required=("cov",))["cov"], dtype=np.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or not np.all(np.isfinite(cov)) or np.any(np.diag(cov) < 0):
        raise ValueError(f"vae['cov'] must be a finite square covariance matrix, got shape {cov.shape}")
    variances = np.diag(cov)
    return judged(
        "narrower", "The VAE's codes spread less than the prior (a smaller variance than N(0, I))",
        "§4.1, figure 4", CHAPTER, "variances per axis " + ", ".join(f"{v:.3f}" for v in variances),
        f"every axis' variance below {NARROWER_MAX_VARIANCE:g}",
        [Check(f"variance of axis {i + 1}", v, "below", NARROWER_MAX_VARIANCE) for i, v in enumerate(variances)],
        {"variances": [float(v) for v in variances]})


def claim_repeated_encodings(max_pixel_std: float, within_ratio: float) -> Claim:
    """Encoding and decoding one digit many times gives slightly different outputs (figure 3).

    "Different": some pixel's standard deviation across the decodings exceeds GREY_LEVEL (1/255).
    "Slightly": ``within_ratio`` (spread within one digit / spread between digits) is below
    SLIGHT_MAX_RATIO (0.5).
    """
    max_pixel_std = real("max_pixel_std", max_pixel_std, minimum=0.0)
    within_ratio = real("within_ratio", within_ratio, minimum=0.0)
    return judged(
        "repeat", "Encoding and decoding the same digit again gives slightly different images", "§4.1, figure 3",
        CHAPTER, f"largest per-pixel std {max_pixel_std:.4f}; within/between-digit spread {within_ratio:.3f}",
        f"the largest per-pixel std exceeds 1/255 and the within/between ratio is below {SLIGHT_MAX_RATIO:g}",
        [Check("largest per-pixel std of the decodings", max_pixel_std, "above", GREY_LEVEL),
         Check("spread within one digit / between digits", within_ratio, "below", SLIGHT_MAX_RATIO)],
        {"max_pixel_std": max_pixel_std, "within_ratio": within_ratio})


def claim_prior_draws_far(ae_far: float, vae_far: float, n_prior: int) -> Claim:
    """N(0, I) draws fall far from every code more often for the autoencoder than for the VAE.

    The difference of the two "far" fractions over ``n_prior`` draws must exceed N_SE (3) binomial
    standard errors (the two treated as independent).
    """
    ae_far, vae_far = fraction("ae_far", ae_far), fraction("vae_far", vae_far)
    n_prior = check_int("n_prior", n_prior, minimum=2)
    diff, se = ae_far - vae_far, binomial_se_difference(ae_far, vae_far, n_prior)
    return judged(
        "far", "Prior draws land away from every code more often for the autoencoder than for the VAE",
        "§4.1, figures 2 and 4", CHAPTER, f"far fraction: AE {ae_far:.3f}, VAE {vae_far:.3f} (difference "
        f"{diff:+.3f} ± {se:.3f})", f"AE minus VAE > 0 by {N_SE:g} s.e.",
        [Check("far fraction, AE minus VAE", diff, "above", 0.0, se=se, n_se=N_SE)],
        {"ae_far": ae_far, "vae_far": vae_far, "se": se, "z": diff / se if se > 0 else float("nan")})


def claim_prior_draws_represent(ae_tv: float, vae_tv: float) -> Claim:
    """Decoded prior draws represent the data for the VAE and not for the autoencoder.

    Total variation between the labels of the draws' nearest codes and the data's label
    frequencies: the VAE's below TV_REPRESENTATIVE_MAX (0.1; fails above TV_UNREPRESENTATIVE_MIN,
    0.2), the autoencoder's above 0.2 (fails below 0.1); in between, undecided.
    """
    ae_tv, vae_tv = fraction("ae_tv", ae_tv), fraction("vae_tv", vae_tv)
    return judged(
        "tv", "Prior samples represent the data for the VAE, not for the autoencoder", "§4.1, figure 4",
        CHAPTER, f"TV of nearest-code labels: AE {ae_tv:.3f}, VAE {vae_tv:.3f}",
        f"VAE < {TV_REPRESENTATIVE_MAX:g} and AE > {TV_UNREPRESENTATIVE_MIN:g} (either on the other side of the "
        "other threshold: not reproduced)",
        [Check("TV of the VAE's draws", vae_tv, "below", TV_REPRESENTATIVE_MAX, TV_UNREPRESENTATIVE_MIN),
         Check("TV of the autoencoder's draws", ae_tv, "above", TV_UNREPRESENTATIVE_MIN, TV_REPRESENTATIVE_MAX)],
        {"ae_tv": ae_tv, "vae_tv": vae_tv})


def claim_sampling_hinders_overfitting(ae_train, ae_test, vae_train, vae_test) -> Claim:
    """The VAE's sampling hinders overfitting: its generalisation gap is smaller than the autoencoder's (§4.1).

    Per-image squared errors at the code after the last epoch (:func:`vaelib.measures.metrics.errors_at_code`):
    ``ae_train`` and ``vae_train`` on the same training images, ``ae_test`` and ``vae_test`` on the
    same test images. The relative gap g = (E_test - E_train) / E_train of each model
    (:func:`vaelib.measures.metrics.relative_gap`); two parts (the rule and its reasons:
    :data:`vaelib.claims.rules.GAP_FLOOR`): the autoencoder overfits, g_AE > 0 by N_SE (3) standard
    errors (it never fails: without overfitting the claim stays undecided), and g_AE - g_VAE > 0
    by N_SE standard errors, paired over images (< 0 by as many: not reproduced).
    """
    ae_train, vae_train = paired_errors(ae_train=ae_train, vae_train=vae_train)
    ae_test, vae_test = paired_errors(ae_test=ae_test, vae_test=vae_test)
    for name, errors in (("ae_train", ae_train), ("vae_train", vae_train)):
        if errors.mean() <= 0:
            raise ValueError(f"{name} must have a positive mean: the relative gap divides by it, got 0")
    g_ae, se_ae = metrics.relative_gap(ae_train, ae_test)
    g_vae, se_vae = metrics.relative_gap(vae_train, vae_test)
    diff, se = metrics.relative_gap_difference(ae_train, ae_test, vae_train, vae_test)
    return judged(
        "overfit", "The VAE's sampling hinders overfitting: its reconstructions generalise better than the "
        "autoencoder's", "§4.1, text on figure 3", CHAPTER_UNTESTED,
        f"g = (test - train) / train error: AE {g_ae:+.2%} ± {se_ae:.2%}, VAE {g_vae:+.2%} ± {se_vae:.2%} "
        f"(difference {diff:+.2%} ± {se:.2%})",
        f"the autoencoder overfits (g_AE > 0 by {N_SE:g} s.e.; if not, undecided), and g_AE - g_VAE > 0 by "
        f"{N_SE:g} s.e. (< 0 by {N_SE:g} s.e.: not reproduced)",
        [Check("relative gap g of the autoencoder", g_ae, "above", 0.0, GAP_FLOOR, se=se_ae, n_se=N_SE),
         Check("relative gap g, AE minus VAE", diff, "above", 0.0, se=se, n_se=N_SE)],
        {"g_ae": g_ae, "se_ae": se_ae, "g_vae": g_vae, "se_vae": se_vae, "difference": diff, "se": se,
         "error_train": {"ae": float(np.mean(ae_train)), "vae": float(np.mean(vae_train))},
         "error_test": {"ae": float(np.mean(ae_test)), "vae": float(np.mean(vae_test))}})


@releases_free_memory
def measure_generalisation(ae, vae, x_train, x_test) -> dict:
    """Per-image squared errors at the code (:func:`vaelib.measures.metrics.errors_at_code`) of the autoencoder
    ``ae`` and the VAE ``vae`` on training images ``x_train`` and test images ``x_test``: the arguments of
    :func:`claim_sampling_hinders_overfitting` (``ae_train``, ``ae_test``, ``vae_train``, ``vae_test``)."""
    x_train, x_test = check_images(x_train, name="x_train"), check_images(x_test, name="x_test")
    return {f"{name}_{part}": metrics.errors_at_code(model, x) for name, model in (("ae", ae), ("vae", vae))
            for part, x in (("train", x_train), ("test", x_test))}


@releases_free_memory
def measure_ae_vs_vae(ae, vae, x_test, y_test, *, seed: int = 0, digit_index: int = 0, n_repeats: int = 63,
                      n_prior: int = 5000, n_between: int = 1000) -> dict:
    """Everything chapter 06 measures about an autoencoder and a VAE, from one seeded generator.

    The generator draws, in this order: one z ~ q(z|x) per test image, ``n_repeats`` draws from
    q(z|x) of test image ``digit_index``, and ``n_prior`` draws from N(0, I).

    Returns a dict with ``z_ae``, ``mu``, ``log_var``, ``z_vae`` (test codes), ``draws`` and
    ``decoded`` (figure 3), ``spread`` and ``between`` (:func:`vaelib.measures.latent_space.decoding_spread` of
    the decodings and of the decoded means of the first ``n_between`` test images),
    ``within_ratio``, ``z_prior`` and ``spaces``: :func:`vaelib.measures.latent_space.code_space_measures` for
    ``"ae"``, ``"vae"`` (the draws) and ``"mu"`` (the VAE's means).
    """
    x_test = check_images(x_test, name="x_test")
    y_test = check_labels(y_test, len(x_test), name="y_test")
    seed = check_seed(seed)
    digit_index = check_int("digit_index", digit_index, minimum=0, maximum=len(x_test) - 1)
    n_repeats = check_int("n_repeats", n_repeats, minimum=2)
    n_prior = check_int("n_prior", n_prior, minimum=2)
    n_between = check_int("n_between", n_between, minimum=2, maximum=len(x_test))
    rng = np.random.default_rng(seed)
    z_ae = in_blocks(ae.encode, x_test).astype(np.float64)
    mu, log_var = encode_mean(vae, x_test)
    z_vae = mu + np.exp(0.5 * log_var) * rng.standard_normal(mu.shape)
    mu0, log_var0 = mu[digit_index], log_var[digit_index]
    draws = mu0 + np.exp(0.5 * log_var0) * rng.standard_normal((n_repeats, mu.shape[1]))
    decoded = in_blocks(vae.decode, draws).astype(np.float64)
    spread = latent_space.decoding_spread(decoded)
    between = latent_space.decoding_spread(in_blocks(vae.decode, mu[:n_between]).astype(np.float64))
    z_prior = rng.standard_normal((n_prior, mu.shape[1]))
    spaces = {name: latent_space.code_space_measures(z, z_prior, y_test) for name, z in
              (("ae", z_ae), ("vae", z_vae), ("mu", mu))}
    return {"z_ae": z_ae, "mu": mu, "log_var": log_var, "z_vae": z_vae, "draws": draws, "decoded": decoded,
            "spread": spread, "between": between, "within_ratio": spread["mean_pixel_std"] / between["mean_pixel_std"],
            "z_prior": z_prior, "spaces": spaces}


def section_41_claims(ae, vae, x_train, x_test, y_test, *, seed: int = 0) -> dict[str, Claim]:
    """§4.1's claims for one autoencoder ``ae`` and one VAE ``vae`` (Keras models), by key: chapter 06's
    (:func:`ae_vs_vae_claims`) and ``"overfit"`` (:func:`measure_generalisation` on the training images
    ``x_train``)."""
    found = {c.key: c for c in ae_vs_vae_claims(measure_ae_vs_vae(ae, vae, x_test, y_test, seed=seed))}
    found["overfit"] = claim_sampling_hinders_overfitting(**measure_generalisation(ae, vae, x_train, x_test))
    return found


def ae_vs_vae_claims(measures: Mapping) -> list[Claim]:
    """Chapter 06's claims, in its order, from :func:`measure_ae_vs_vae`'s result."""
    measures = fields("measures", measures, required=("spaces", "spread", "within_ratio", "z_prior"))
    ae, vae = measures["spaces"]["ae"], measures["spaces"]["vae"]
    return [claim_closer_to_prior(ae, vae), claim_almost_standard_normal(vae), claim_narrower_than_prior(vae),
            claim_repeated_encodings(measures["spread"]["max_pixel_std"], measures["within_ratio"]),
            claim_prior_draws_far(ae["far"], vae["far"], len(measures["z_prior"])),
            claim_prior_draws_represent(ae["tv"], vae["tv"])]
