"""The claims of the report's section 4, each checked by an explicit rule.

Every claim the report makes about its figures 2-14 becomes a function here that takes the
numbers we measured (or the arrays and histories they come from) and returns a :class:`Claim`:
the claim in our words, the figure it rests on, the measured value(s), the rule in words and the
verdict the rule gives -- "reproduced", "not reproduced" or "inconclusive". The results chapters
(06-09) call these functions for their verdicts, and the claims chapter (12) calls all of them,
so a rule is written once. A few ``measure_*`` functions compute, from cached models and data,
the numbers a group of claims needs, the same way the chapters do.

Thresholds (named constants; each is fixed before looking at the results)
-------------------------------------------------------------------------
N_SE = 3
    A difference "holds" when it exceeds 3 standard errors: the chance that pure noise crosses
    it, either way, is below 0.3% per comparison.
ALMOST_NORMAL_MAX_NATS = 0.1
    A Gaussian whose mean is off by 0.45 in one dimension (0.45**2 / 2 = 0.101 nats), or whose
    variance is 0.49 or 1.77 (standard deviation 0.70 or 1.33, off by about 30%; (v - 1 - ln v) / 2
    = 0.1), is 0.1 nats from N(0, I); below that we call a cloud of codes "almost" standard normal.
NARROWER_MAX_VARIANCE = 0.9
    "A minor variance" than the prior: every axis at least 10% narrower. The variance of 10,000
    codes has a relative standard error of sqrt(2 / 10,000) ~ 1.4%, so 10% is about 7 of them.
GREY_LEVEL = 1 / 255
    Two decodings "differ" if some pixel's standard deviation across them exceeds one grey level
    of the original 8-bit images.
SLIGHT_MAX_RATIO = 0.5
    Decodings of one digit differ "slightly" if their spread is less than half the spread
    between decodings of different digits.
TV_REPRESENTATIVE_MAX = 0.1, TV_UNREPRESENTATIVE_MIN = 0.2
    Prior draws "represent the data" if the labels of their nearest codes are within 0.1 in total
    variation of the data's label frequencies (the sampling noise of TV with 5,000 draws and ten
    digits is about 0.02); 0.2 means a fifth of the draws go to the wrong digits.
LITTLE_CHANGE_MAX = 0.1
    A relative change of the mean reconstruction error below 10% is "not significant": a tenth of
    the summed squared error is about the change between a digit and the same digit with slightly
    thinner strokes, near what one can see in the reconstruction grids.
WORSE_N_SE = 5
    "Significantly worse" reconstructions: the paired per-image excess error exceeds 5 standard
    errors (stricter than N_SE, because the report's adverb is strong).
INADEQUATE_MAX_RECOVERED = 0.5
    "Inadequate" reconstructions recover less than half of what beta = 1 gains over the mean image.
FIRST_SHARE_MAX = 0.01
    The report's own number: the KL share of the loss "below 1 percent" at the beginning.
SLIGHTLY_INFERIOR_MIN_RATIO = 0.9
    "Slightly inferior" to the originals: an eq. (13) ratio between 0.9 and 1 (less than 10% below).
NEAR_MAX_GAP = 0.05
    "Nearly indistinguishable" eq. (13) ratios: less than 0.05 apart, half the 10% that we read
    as "slightly inferior".
family_measures.SPREAD_FACTOR = 2
    "Almost the same results" (Laplace against Gaussian latents): within 2 standard deviations of
    the Gaussian VAE's seed-to-seed spread, on every measure (chapter 11).
UNIFORM_MIN_KNN = 0.5
    A "usable" latent space: at least one active dimension, and codes whose 15-NN accuracy is
    well above the 10% of guessing (at least half the test digits labelled right; chapter 11).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from vaelib import cache, dynamics, evaluate, family_measures, latent, metrics
from vaelib.checks import (
    check_beta, check_choice, check_images, check_int, check_labels, check_real, check_seed,
    check_training_images,
)
from vaelib.data import images_digest, unit_images
from vaelib.memory import in_blocks, releases_free_memory

__all__ = [
    "Claim", "VERDICTS", "unmeasured_claim", "claims_table", "verdict_counts",
    "claim_closer_to_prior", "claim_almost_standard_normal", "claim_narrower_than_prior", "claim_repeated_encodings",
    "claim_prior_draws_far", "claim_prior_draws_represent", "measure_ae_vs_vae", "ae_vs_vae_claims",
    "claim_epoch1_shape", "claim_epoch1_reconstructions_alike", "claim_separation_improves",
    "claim_little_change_after_epoch5", "claim_extreme_beta_inadequate", "claim_beta0_samples_farthest",
    "claim_large_beta_near_prior", "beta_effects_draws", "measure_beta_effects", "beta_effects_claims",
    "share_checks", "claim_kl_share_dynamics", "claim_large_beta_kl_increases",
    "measure_sample_quality", "claim_beta0_samples_least_recognizable", "claim_samples_improve_with_beta",
    "claim_high_beta_samples_beat_originals", "claim_beta0_reconstructions_slightly_inferior",
    "claim_beta0_samples_match_reconstructions", "claim_samples_beat_reconstructions", "sample_quality_claims",
    "claim_laplace_same_results", "claim_uniform_usable", "ACROSS_SEEDS_RULE", "across_seeds", "measurements_table",
]

VERDICTS = evaluate.VERDICTS

N_SE = 3.0
ALMOST_NORMAL_MAX_NATS = 0.1
NARROWER_MAX_VARIANCE = 0.9
GREY_LEVEL = 1.0 / 255.0
SLIGHT_MAX_RATIO = 0.5
TV_REPRESENTATIVE_MAX = 0.1
TV_UNREPRESENTATIVE_MIN = 0.2
LITTLE_CHANGE_MAX = 0.1
WORSE_N_SE = 5.0
INADEQUATE_MAX_RECOVERED = 0.5
FIRST_SHARE_MAX = 0.01
SLIGHTLY_INFERIOR_MIN_RATIO = 0.9
NEAR_MAX_GAP = 0.05
UNIFORM_MIN_KNN = 0.5
SAME_RESULTS_MEASURES = ("test_loss", "knn_accuracy", "prior_ratio", "prior_class_entropy")

PRIOR_SAMPLES, RECONSTRUCTIONS = "prior samples", "reconstructions"


@dataclass(frozen=True)
class Claim:
    """One claim of the report and what our measurement says about it.

    Attributes
    ----------
    key : short identifier (used for glue keys)
    claim : the claim, in our words
    source : where the report makes it ("§4.1, figure 3")
    chapter : the book chapter that measures it (e.g. "06_ae_vs_vae")
    measured : the measured value(s), formatted for a table
    rule : the rule that turns them into the verdict, in words
    verdict : one of :data:`VERDICTS`
    values : the raw measured numbers (for glue and further checks)
    measured_yet : False for a claim listed before its chapter measures it (verdict "inconclusive")
    """

    key: str
    claim: str
    source: str
    chapter: str
    measured: str
    rule: str
    verdict: str
    values: dict = field(default_factory=dict)
    measured_yet: bool = True

    def __post_init__(self):
        for name in ("key", "claim", "source", "chapter", "measured", "rule"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        check_choice("verdict", self.verdict, VERDICTS)
        if not isinstance(self.values, Mapping):
            raise TypeError(f"values must be a mapping, got {type(self.values).__name__}")
        if not self.measured_yet and self.verdict != "inconclusive":
            raise ValueError("a claim that is not measured yet can only be inconclusive")

    @property
    def verdict_text(self) -> str:
        """The verdict, marked "(not yet measured)" for a claim no chapter measures yet."""
        return self.verdict if self.measured_yet else f"{self.verdict} (not yet measured)"


def unmeasured_claim(key: str, claim: str, source: str, chapter: str) -> Claim:
    """A claim whose chapter does not measure it yet: listed, with the verdict "inconclusive"."""
    return Claim(key, claim, source, chapter, "not yet measured", "no measurement, so no rule can decide",
                 "inconclusive", {}, measured_yet=False)


# ---------------------------------------------------------------------------------------------
# small shared pieces


def _by_count(n_holds: int, n_checks: int) -> str:
    """All parts hold -> reproduced; none -> not reproduced; some -> inconclusive."""
    if n_checks < 1:
        raise ValueError(f"n_checks must be >= 1, got {n_checks}")
    return "reproduced" if n_holds == n_checks else "not reproduced" if n_holds == 0 else "inconclusive"


def _unanimous(holds: Sequence[bool], fails: Sequence[bool]) -> str:
    """Every part holds -> reproduced; every part fails -> not reproduced; otherwise inconclusive."""
    return "reproduced" if all(holds) else "not reproduced" if all(fails) else "inconclusive"


def _real(name: str, value, **bounds) -> float:
    if isinstance(value, np.generic):
        value = value.item()
    return check_real(name, value, **bounds)


def _fraction(name: str, value) -> float:
    return _real(name, value, minimum=0.0, maximum=1.0)


def _values(name: str, mapping, *, fields: Sequence[str]) -> Mapping:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{name} must be a mapping with keys {list(fields)}, got {type(mapping).__name__}")
    missing = [f for f in fields if f not in mapping]
    if missing:
        raise KeyError(f"{name} lacks {missing}; it has {sorted(map(str, mapping))}")
    return mapping


def _by_beta(name: str, mapping, *, minimum: int = 1) -> dict[float, object]:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{name} must be a mapping from beta to values, got {type(mapping).__name__}")
    if len(mapping) < minimum:
        raise ValueError(f"{name} must hold at least {minimum} values of beta, got {len(mapping)}")
    return {check_beta(b): v for b, v in sorted(mapping.items())}


def _per_image(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or len(array) < 2 or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be a 1-D array of at least 2 finite per-image values, got shape {array.shape}")
    return array


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def _binomial_se_difference(p1: float, p2: float, n: int) -> float:
    """Standard error of the difference of two proportions, each over ``n`` trials (treated as independent)."""
    return math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n)


# ---------------------------------------------------------------------------------------------
# §4.1, figures 2-4: autoencoder against VAE (chapter 06)

_AE_VS_VAE = "06_ae_vs_vae"


def claim_closer_to_prior(ae: Mapping, vae: Mapping) -> Claim:
    """The VAE's codes are closer to N(0, I) than the autoencoder's (figures 2 and 4).

    ``ae`` and ``vae`` hold ``D`` (moment-matched KL to the prior, nats) and ``in95`` (fraction of
    codes in the prior's 95% region). Reproduced if the VAE has both the smaller ``D`` and the
    fraction nearer 0.95; not reproduced if both are worse; inconclusive if they disagree.
    """
    ae, vae = _values("ae", ae, fields=("D", "in95")), _values("vae", vae, fields=("D", "in95"))
    d_ae, d_vae = _real("ae['D']", ae["D"], minimum=0.0), _real("vae['D']", vae["D"], minimum=0.0)
    in_ae, in_vae = _fraction("ae['in95']", ae["in95"]), _fraction("vae['in95']", vae["in95"])
    closer_d = d_vae < d_ae
    closer_95 = abs(in_vae - 0.95) < abs(in_ae - 0.95)
    return Claim(
        "closer", "The VAE's codes are closer to the prior N(0, I) than the autoencoder's", "§4.1, figures 2 and 4",
        _AE_VS_VAE, f"D: VAE {d_vae:.3g} vs AE {d_ae:.3g} nats; in 95% region: VAE {in_vae:.3f} vs AE {in_ae:.3f}",
        "reproduced if the VAE has the smaller D and its 95%-region fraction is nearer 0.95; "
        "not reproduced if both are worse; inconclusive otherwise",
        _by_count(closer_d + closer_95, 2), {"D_vae": d_vae, "D_ae": d_ae, "in95_vae": in_vae, "in95_ae": in_ae})


def claim_almost_standard_normal(vae: Mapping) -> Claim:
    """The VAE's codes almost follow N(0, I) (figure 4): reproduced if D < ALMOST_NORMAL_MAX_NATS (0.1 nats).

    0.1 nats is the distance of a Gaussian with one mean 0.45 off, or one standard deviation about
    30% off (see the module docstring). Not reproduced otherwise.
    """
    d = _real("vae['D']", _values("vae", vae, fields=("D",))["D"], minimum=0.0)
    return Claim(
        "normal", "The VAE's codes almost follow a standard normal distribution", "§4.1, figure 4", _AE_VS_VAE,
        f"D = {d:.3g} nats", f"reproduced if D < {ALMOST_NORMAL_MAX_NATS:g} nats, not reproduced otherwise",
        "reproduced" if d < ALMOST_NORMAL_MAX_NATS else "not reproduced", {"D_vae": d})


def claim_narrower_than_prior(vae: Mapping) -> Claim:
    """The VAE's cloud of codes is narrower than the prior ("a minor variance", figure 4).

    ``vae['cov']`` is the 2 x 2 (or d x d) covariance of the codes. Reproduced if every axis'
    variance is below NARROWER_MAX_VARIANCE (0.9: at least 10% narrower, about 7 standard errors
    for 10,000 codes); not reproduced if none is; inconclusive if some are.
    """
    cov = np.asarray(_values("vae", vae, fields=("cov",))["cov"], dtype=np.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or not np.all(np.isfinite(cov)) or np.any(np.diag(cov) < 0):
        raise ValueError(f"vae['cov'] must be a finite square covariance matrix, got shape {cov.shape}")
    variances = np.diag(cov)
    narrow = int(np.sum(variances < NARROWER_MAX_VARIANCE))
    return Claim(
        "narrower", "The VAE's codes spread less than the prior (a smaller variance than N(0, I))",
        "§4.1, figure 4", _AE_VS_VAE, "variances per axis " + ", ".join(f"{v:.3f}" for v in variances),
        f"reproduced if every axis' variance is below {NARROWER_MAX_VARIANCE:g}, not reproduced if none is, "
        "inconclusive otherwise", _by_count(narrow, len(variances)), {"variances": [float(v) for v in variances]})


def claim_repeated_encodings(max_pixel_std: float, within_ratio: float) -> Claim:
    """Encoding and decoding one digit many times gives slightly different outputs (figure 3).

    "Different": some pixel's standard deviation across the decodings exceeds GREY_LEVEL (1/255).
    "Slightly": ``within_ratio`` (spread within one digit / spread between digits) is below
    SLIGHT_MAX_RATIO (0.5). Reproduced if both hold, not reproduced otherwise.
    """
    max_pixel_std = _real("max_pixel_std", max_pixel_std, minimum=0.0)
    within_ratio = _real("within_ratio", within_ratio, minimum=0.0)
    differ, slight = max_pixel_std > GREY_LEVEL, within_ratio < SLIGHT_MAX_RATIO
    return Claim(
        "repeat", "Encoding and decoding the same digit again gives slightly different images", "§4.1, figure 3",
        _AE_VS_VAE, f"largest per-pixel std {max_pixel_std:.4f}; within/between-digit spread {within_ratio:.3f}",
        f"reproduced if the largest per-pixel std exceeds 1/255 and the within/between ratio is below "
        f"{SLIGHT_MAX_RATIO:g}; not reproduced otherwise",
        "reproduced" if differ and slight else "not reproduced",
        {"max_pixel_std": max_pixel_std, "within_ratio": within_ratio})


def claim_prior_draws_far(ae_far: float, vae_far: float, n_prior: int) -> Claim:
    """N(0, I) draws fall far from every code more often for the autoencoder than for the VAE.

    The difference of the two "far" fractions over ``n_prior`` draws, in binomial standard errors
    (the two treated as independent): reproduced above N_SE (3), not reproduced below -3,
    inconclusive in between.
    """
    ae_far, vae_far = _fraction("ae_far", ae_far), _fraction("vae_far", vae_far)
    n_prior = check_int("n_prior", n_prior, minimum=2)
    diff = ae_far - vae_far
    se = _binomial_se_difference(ae_far, vae_far, n_prior)
    z = diff / se if se > 0 else (math.inf if diff > 0 else -math.inf if diff < 0 else 0.0)
    verdict = "reproduced" if z > N_SE else "not reproduced" if z < -N_SE else "inconclusive"
    return Claim(
        "far", "Prior draws land away from every code more often for the autoencoder than for the VAE",
        "§4.1, figures 2 and 4", _AE_VS_VAE, f"far fraction: AE {ae_far:.3f}, VAE {vae_far:.3f} ({z:.1f} s.e.)",
        f"reproduced if AE minus VAE exceeds {N_SE:g} standard errors, not reproduced below -{N_SE:g}, "
        "inconclusive in between", verdict, {"ae_far": ae_far, "vae_far": vae_far, "z": float(z)})


def claim_prior_draws_represent(ae_tv: float, vae_tv: float) -> Claim:
    """Decoded prior draws represent the data for the VAE and not for the autoencoder.

    Total variation between the labels of the draws' nearest codes and the data's label
    frequencies: reproduced if the VAE's is below TV_REPRESENTATIVE_MAX (0.1) and the
    autoencoder's above TV_UNREPRESENTATIVE_MIN (0.2); not reproduced if the autoencoder's is
    not larger than the VAE's; inconclusive otherwise.
    """
    ae_tv, vae_tv = _fraction("ae_tv", ae_tv), _fraction("vae_tv", vae_tv)
    verdict = ("reproduced" if vae_tv < TV_REPRESENTATIVE_MAX and ae_tv > TV_UNREPRESENTATIVE_MIN
               else "not reproduced" if ae_tv <= vae_tv else "inconclusive")
    return Claim(
        "tv", "Prior samples represent the data for the VAE, not for the autoencoder", "§4.1, figure 4",
        _AE_VS_VAE, f"TV of nearest-code labels: AE {ae_tv:.3f}, VAE {vae_tv:.3f}",
        f"reproduced if VAE < {TV_REPRESENTATIVE_MAX:g} and AE > {TV_UNREPRESENTATIVE_MIN:g}; not reproduced if "
        "AE <= VAE; inconclusive otherwise", verdict, {"ae_tv": ae_tv, "vae_tv": vae_tv})


@releases_free_memory
def measure_ae_vs_vae(ae, vae, x_test, y_test, *, seed: int = 0, digit_index: int = 0, n_repeats: int = 63,
                      n_prior: int = 5000, n_between: int = 1000) -> dict:
    """Everything chapter 06 measures about an autoencoder and a VAE, from one seeded generator.

    The generator draws, in this order: one z ~ q(z|x) per test image, ``n_repeats`` draws from
    q(z|x) of test image ``digit_index``, and ``n_prior`` draws from N(0, I).

    Returns a dict with ``z_ae``, ``mu``, ``log_var``, ``z_vae`` (test codes), ``draws`` and
    ``decoded`` (figure 3), ``spread`` and ``between`` (:func:`vaelib.latent.decoding_spread` of
    the decodings and of the decoded means of the first ``n_between`` test images),
    ``within_ratio``, ``z_prior`` and ``spaces``: :func:`vaelib.latent.code_space_measures` for
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
    mu, log_var = metrics.encode_mean(vae, x_test)
    z_vae = mu + np.exp(0.5 * log_var) * rng.standard_normal(mu.shape)
    mu0, log_var0 = mu[digit_index], log_var[digit_index]
    draws = mu0 + np.exp(0.5 * log_var0) * rng.standard_normal((n_repeats, mu.shape[1]))
    decoded = in_blocks(vae.decode, draws).astype(np.float64)
    spread = latent.decoding_spread(decoded)
    between = latent.decoding_spread(in_blocks(vae.decode, mu[:n_between]).astype(np.float64))
    z_prior = rng.standard_normal((n_prior, mu.shape[1]))
    spaces = {name: latent.code_space_measures(z, z_prior, y_test) for name, z in
              (("ae", z_ae), ("vae", z_vae), ("mu", mu))}
    return {"z_ae": z_ae, "mu": mu, "log_var": log_var, "z_vae": z_vae, "draws": draws, "decoded": decoded,
            "spread": spread, "between": between, "within_ratio": spread["mean_pixel_std"] / between["mean_pixel_std"],
            "z_prior": z_prior, "spaces": spaces}


def ae_vs_vae_claims(measures: Mapping) -> list[Claim]:
    """Chapter 06's claims, in its order, from :func:`measure_ae_vs_vae`'s result."""
    measures = _values("measures", measures, fields=("spaces", "spread", "within_ratio", "z_prior"))
    ae, vae = measures["spaces"]["ae"], measures["spaces"]["vae"]
    return [claim_closer_to_prior(ae, vae), claim_almost_standard_normal(vae), claim_narrower_than_prior(vae),
            claim_repeated_encodings(measures["spread"]["max_pixel_std"], measures["within_ratio"]),
            claim_prior_draws_far(ae["far"], vae["far"], len(measures["z_prior"])),
            claim_prior_draws_represent(ae["tv"], vae["tv"])]


# ---------------------------------------------------------------------------------------------
# §4.2, figures 5-9: the effects of beta (chapter 07)

_BETA = "07_beta_effects"


def _monotone(values: Sequence[float], sign: int) -> bool:
    return bool(np.all(sign * np.diff(np.asarray(values, dtype=np.float64)) > 0))


def claim_epoch1_shape(d_first: Mapping, round_first: Mapping) -> Claim:
    """After epoch 1, larger beta gives a rounder, more prior-like cloud of codes (figure 5).

    ``d_first`` and ``round_first`` map beta to the moment-matched KL D_N and to the roundness
    (smallest / largest covariance eigenvalue) at epoch 1. Reproduced if, over increasing beta,
    D_N falls and roundness rises strictly; not reproduced if neither does; inconclusive if one
    does. One training run per beta gives no run-to-run error bar, so only the order counts.
    """
    d_first, round_first = _by_beta("d_first", d_first, minimum=2), _by_beta("round_first", round_first, minimum=2)
    if list(d_first) != list(round_first):
        raise ValueError("d_first and round_first must have the same values of beta")
    d = [_real(f"d_first[{b:g}]", v, minimum=0.0) for b, v in d_first.items()]
    r = [_fraction(f"round_first[{b:g}]", v) for b, v in round_first.items()]
    holds = _monotone(d, -1) + _monotone(r, +1)
    betas = ", ".join(f"{b:g}" for b in d_first)
    return Claim(
        "epoch1-shape", "After one epoch, a larger β gives a rounder, more normal-like latent scatter",
        "§4.2, figure 5", _BETA,
        f"β = {betas}: D_N {', '.join(f'{v:.3g}' for v in d)}; roundness {', '.join(f'{v:.3f}' for v in r)}",
        "reproduced if D_N falls and roundness rises with β; not reproduced if neither; inconclusive if one",
        _by_count(holds, 2), {"betas": list(d_first), "D_N": d, "roundness": r})


def claim_epoch1_reconstructions_alike(err_first: Mapping) -> Claim:
    """After epoch 1 the reconstructions show no essential differences between the betas (figure 5).

    ``err_first`` maps beta to the mean squared error at z = mu after epoch 1. Reproduced if the
    largest is within LITTLE_CHANGE_MAX (10%) of the smallest, the same yardstick as "does not
    change significantly"; not reproduced otherwise.
    """
    err = _by_beta("err_first", err_first, minimum=2)
    values = [_real(f"err_first[{b:g}]", v, minimum=0.0, inclusive_minimum=False) for b, v in err.items()]
    spread = (max(values) - min(values)) / min(values)
    return Claim(
        "epoch1-recon", "After one epoch the reconstructions hardly differ between values of β", "§4.2, figure 5",
        _BETA, f"β = {', '.join(f'{b:g}' for b in err)}: error {', '.join(f'{v:.2f}' for v in values)} "
        f"(spread {100 * spread:.1f}%)",
        f"reproduced if (largest - smallest) / smallest < {LITTLE_CHANGE_MAX:g}, not reproduced otherwise",
        "reproduced" if spread < LITTLE_CHANGE_MAX else "not reproduced", {"errors": values, "spread": spread})


def claim_separation_improves(knn: Mapping, n_test: int, epochs: Sequence[int] | None = None) -> Claim:
    """Digit classes separate better with every epoch (figures 6-8).

    ``knn`` maps beta to the kNN accuracies at the snapshot epochs, in order. For each beta the
    last must exceed the first by more than N_SE (3) binomial standard errors of the difference
    over ``n_test`` test digits, and no step between snapshots may lose more than that.
    Reproduced if this holds for every beta, not reproduced if for none, inconclusive otherwise.
    """
    knn = _by_beta("knn", knn)
    n_test = check_int("n_test", n_test, minimum=2)
    holds = {}
    for b, acc in knn.items():
        acc = [_fraction(f"knn[{b:g}] entry", a) for a in acc]
        if len(acc) < 2:
            raise ValueError(f"knn[{b:g}] needs accuracies at two or more epochs, got {len(acc)}")
        gain = acc[-1] - acc[0] > N_SE * _binomial_se_difference(acc[0], acc[-1], n_test)
        no_drop = all(a2 - a1 > -N_SE * _binomial_se_difference(a1, a2, n_test) for a1, a2 in zip(acc, acc[1:]))
        holds[b] = bool(gain and no_drop)
    label = "" if epochs is None else f" (epochs {', '.join(str(e) for e in epochs)})"
    return Claim(
        "separation", "Digit classes separate better in the latent space with every epoch", "§4.2, figures 6-8",
        _BETA, "; ".join(f"β={b:g}: kNN accuracy {knn[b][0]:.3f} -> {knn[b][-1]:.3f}" for b in knn) + label,
        f"per β: last minus first > {N_SE:g} s.e. and no step down by more; reproduced if for every β, "
        "not reproduced if for none", _by_count(sum(holds.values()), len(holds)),
        {"knn": {b: [float(a) for a in v] for b, v in knn.items()}, "holds": holds})


def claim_little_change_after_epoch5(err5: Mapping | None, err_last: Mapping) -> Claim:
    """Reconstructions do not change significantly after epoch 5 (figures 6-8).

    Per beta the relative fall r = (E_5 - E_last) / E_5 of the mean error at z = mu; reproduced if
    r < LITTLE_CHANGE_MAX (10%) for every beta, not reproduced if for none, inconclusive otherwise,
    and inconclusive when epoch 5 was not trained (``err5`` None).
    """
    err_last = _by_beta("err_last", err_last)
    rule = (f"r = (E_5 - E_last) / E_5 per β; reproduced if r < {LITTLE_CHANGE_MAX:g} for every β, "
            "not reproduced if for none")
    claim = "Reconstructions change little after epoch 5"
    if err5 is None:
        return Claim("after5", claim, "§4.2, figures 6-8", _BETA, "epoch 5 not trained (fewer epochs)", rule,
                     "inconclusive", {"change": {b: float("nan") for b in err_last}})
    err5 = _by_beta("err5", err5)
    if list(err5) != list(err_last):
        raise ValueError("err5 and err_last must have the same values of beta")
    change = {}
    for b in err5:
        e5 = _real(f"err5[{b:g}]", err5[b], minimum=0.0, inclusive_minimum=False)
        change[b] = (e5 - _real(f"err_last[{b:g}]", err_last[b], minimum=0.0)) / e5
    return Claim("after5", claim, "§4.2, figures 6-8", _BETA,
                 "; ".join(f"β={b:g}: r = {r:.3f}" for b, r in change.items()), rule,
                 _by_count(sum(r < LITTLE_CHANGE_MAX for r in change.values()), len(change)), {"change": change})


def claim_extreme_beta_inadequate(error_beta1, error_extreme: Mapping, error_mean_image: float) -> Claim:
    """With beta of 200-500, reconstructions stay inadequate and much worse than small beta after 20 epochs.

    Per-image errors at z = mu: ``error_beta1`` for beta = 1 and ``error_extreme`` (beta -> array,
    the same images) for the large betas; ``error_mean_image`` is the mean error of answering every
    digit with the mean training image. For each large beta: "significantly worse" if the mean
    paired excess over beta = 1 exceeds WORSE_N_SE (5) standard errors; "inadequate" if
    R = (E_mean - E_beta) / (E_mean - E_1) < INADEQUATE_MAX_RECOVERED (0.5). Reproduced if both hold
    for every large beta, not reproduced if both fail for every one, inconclusive otherwise.
    """
    base = _per_image("error_beta1", error_beta1)
    error_extreme = _by_beta("error_extreme", error_extreme)
    error_mean_image = _real("error_mean_image", error_mean_image, minimum=0.0)
    gain_1 = error_mean_image - base.mean()
    out = {}
    for b, errors in error_extreme.items():
        errors = _per_image(f"error_extreme[{b:g}]", errors)
        if errors.shape != base.shape:
            raise ValueError(f"error_extreme[{b:g}] must have one error per image of error_beta1 ({len(base)})")
        excess, se = _mean_se(errors - base)
        worse = excess > WORSE_N_SE * se
        recovered = (error_mean_image - errors.mean()) / gain_1 if gain_1 > 0 else float("nan")  # nan: no verdict
        out[b] = {"error": float(errors.mean()), "excess": excess, "se": se, "R": float(recovered),
                  "holds": bool(worse and recovered < INADEQUATE_MAX_RECOVERED),
                  "fails": bool(not worse and recovered >= INADEQUATE_MAX_RECOVERED)}
    verdict = _unanimous([v["holds"] for v in out.values()], [v["fails"] for v in out.values()])
    return Claim(
        "extreme", "With β of 200-500 reconstructions stay inadequate, much worse than with small β",
        "§4.2 (text after figure 8)", _BETA,
        "; ".join(f"β={b:g}: error {v['error']:.2f} vs {base.mean():.2f} (β=1), R = {v['R']:.3f}" for b, v in out.items()),
        f"per β: excess over β=1 > {WORSE_N_SE:g} s.e. and R < {INADEQUATE_MAX_RECOVERED:g}; reproduced if both for "
        "every β, not reproduced if neither for every β", verdict,
        {"extreme": out, "error_beta1": float(base.mean()), "error_mean_image": error_mean_image})


def claim_beta0_samples_farthest(nn_prior: Mapping) -> Claim:
    """Decoded prior samples of beta = 0 are the least like real digits (figure 8), by a crude measure.

    ``nn_prior`` maps beta (0 and others) to the squared distances of decoded prior draws to their
    nearest training image. Reproduced if beta = 0's mean exceeds every positive beta's by more than
    N_SE (3) standard errors of the difference, not reproduced if it is below every one by that
    margin, inconclusive otherwise.
    """
    nn = {b: _per_image(f"nn_prior[{b:g}]", v) for b, v in _by_beta("nn_prior", nn_prior, minimum=2).items()}
    if 0.0 not in nn:
        raise ValueError("nn_prior must include beta = 0")
    m0, se0 = _mean_se(nn[0.0])
    verdicts = []
    for b, v in nn.items():
        if b > 0:
            m, se = _mean_se(v)
            verdicts.append(evaluate.verdict(m0 - m, math.hypot(se0, se), n_se=N_SE))
    verdict = _unanimous([v == "reproduced" for v in verdicts], [v == "not reproduced" for v in verdicts])
    return Claim(
        "beta0-nn", "β = 0 prior samples look least like digits (distance to the nearest training image)",
        "§4.2, figure 8", _BETA,
        "; ".join(f"β={b:g}: {_mean_se(v)[0]:.2f} ± {_mean_se(v)[1]:.2f}" for b, v in nn.items()),
        f"reproduced if β=0's mean distance exceeds every positive β's by > {N_SE:g} s.e.; not reproduced if "
        "below every one by that; inconclusive otherwise", verdict,
        {"mean": {b: _mean_se(v)[0] for b, v in nn.items()}, "se": {b: _mean_se(v)[1] for b, v in nn.items()}})


def claim_large_beta_near_prior(d_large: float, d_one: float, knn_large: float, knn_one: float, n_test: int,
                                beta_large: float = 50.0) -> Claim:
    """With a large beta (50) the codes stay close to the prior and separate the digits worse than beta = 1 (figure 9).

    At the last epoch: D_N smaller for the large beta, and kNN accuracy lower by more than N_SE (3)
    binomial standard errors. Reproduced if both, not reproduced if neither, inconclusive if one.
    """
    d_large, d_one = _real("d_large", d_large, minimum=0.0), _real("d_one", d_one, minimum=0.0)
    knn_large, knn_one = _fraction("knn_large", knn_large), _fraction("knn_one", knn_one)
    n_test = check_int("n_test", n_test, minimum=2)
    beta_large = check_beta(beta_large)
    worse = knn_one - knn_large > N_SE * _binomial_se_difference(knn_one, knn_large, n_test)
    return Claim(
        "fig9", f"With β = {beta_large:g} the codes stay near N(0, I) and separate digits worse than with β = 1",
        "§4.2, figure 9", _BETA, f"D_N {d_large:.3g} vs {d_one:.3g}; kNN accuracy {knn_large:.3f} vs {knn_one:.3f}",
        f"reproduced if D_N is smaller and kNN accuracy lower by > {N_SE:g} s.e.; not reproduced if neither",
        _by_count((d_large < d_one) + worse, 2),
        {"D_large": d_large, "D_one": d_one, "knn_large": knn_large, "knn_one": knn_one})


def beta_effects_draws(seed: int, n_test: int, n_show: int = 16, n_prior: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Chapter 07's random choices: the sorted indices of ``n_show`` test digits, and ``n_prior`` N(0, I) draws."""
    seed = check_seed(seed)
    n_test = check_int("n_test", n_test, minimum=1)
    n_show = check_int("n_show", n_show, minimum=1, maximum=n_test)
    n_prior = check_int("n_prior", n_prior, minimum=1)
    rng = np.random.default_rng(seed)
    show = np.sort(rng.choice(n_test, size=n_show, replace=False))
    return show, rng.standard_normal((n_prior, 2))


@releases_free_memory
def measure_beta_effects(results: Mapping, x_train, y_train, x_test, y_test, *, betas: Sequence[float],
                         beta_large: float, betas_extreme: Sequence[float], seed: int = 0, n_show: int = 16,
                         n_prior: int = 200, n_draws: int = 4, n_knn_reference: int = 10_000,
                         k_neighbours: int = 15, use_cache: bool = True, cache_dir=None) -> dict:
    """Everything chapter 07 measures, from cached training results (beta -> TrainResult).

    Summarises (:func:`vaelib.metrics.summarise_vae`) the snapshots the figures and claims use:
    every snapshot of ``betas``; the first and last of 1 and ``beta_large``; the last of
    ``betas_extreme``. Returns a dict with ``show``, ``z_prior``, ``snapshot_epochs``, ``summary``
    ((beta, epoch) -> summary), ``rows`` ((beta, epoch) -> D_N, roundness, kNN accuracy, mean
    errors at z = mu and over q, KL per image, active dimensions), ``error_mean_image`` (the
    mean-image baseline error) and ``nn_prior``, ``nn_recon`` (beta -> squared distances of the
    last epoch's decoded prior draws and reconstructions to their nearest training image).
    ``x_train`` may be uint8 pixels: then only its first ``n_knn_reference`` images are ever held
    as floats (the mean image and the nearest-neighbour search read the pixels).

    The result is cached like a trained model (:func:`vaelib.cache.cached`; the key covers the
    weights of the snapshots measured, the data, the arguments and vaelib's source), so a chapter run
    again reads it instead of measuring again; ``use_cache=False`` measures without the cache.
    """
    x_train = check_training_images(x_train, name="x_train")
    x_test = check_images(x_test, name="x_test")
    y_train = check_labels(y_train, len(x_train), name="y_train")
    y_test = check_labels(y_test, len(x_test), name="y_test")
    options = {"seed": check_seed(seed), "n_show": check_int("n_show", n_show, minimum=1),
               "n_prior": check_int("n_prior", n_prior, minimum=1), "n_draws": check_int("n_draws", n_draws, minimum=1),
               "k_neighbours": check_int("k_neighbours", k_neighbours, minimum=1)}
    options["n_knn_reference"] = check_int("n_knn_reference", n_knn_reference, minimum=options["k_neighbours"])
    betas, betas_extreme = [check_beta(b) for b in betas], [check_beta(b) for b in betas_extreme]
    beta_large = check_beta(beta_large)
    snapshot_epochs = sorted(results[1.0].snapshots)
    first, last = snapshot_epochs[0], snapshot_epochs[-1]
    wanted = {(b, e) for b in betas for e in snapshot_epochs}
    wanted |= {(b, e) for b in (1.0, beta_large) for e in (first, last)}
    wanted |= {(b, last) for b in betas_extreme}
    wanted = sorted(wanted)
    configs = {f"{b:g}": results[b].config.as_dict() for b in sorted({b for b, _ in wanted})}
    weights = [w for b, e in wanted for w in results[b].snapshots[e]]
    key = cache.entry_key("beta_effects", {"models": configs, "snapshots": wanted, "betas": betas,
                                           "beta_large": beta_large, "betas_extreme": betas_extreme, **options},
                          images_digest(x_train, x_test) + cache.data_digest(y_train, y_test, *weights),
                          cache.package_source_digest())

    def measure() -> dict:
        return _measure_beta_effects(results, wanted, snapshot_epochs, x_train, y_train, x_test, y_test, betas=betas,
                                     **options)

    measured, _ = cache.cached(key, measure, encode=_beta_effects_entry, decode=_beta_effects_from_entry,
                               use_cache=use_cache, cache_dir=cache_dir)
    return measured


def _measure_beta_effects(results, wanted, snapshot_epochs, x_train, y_train, x_test, y_test, *, betas, seed, n_show,
                          n_prior, n_draws, n_knn_reference, k_neighbours) -> dict:
    show, z_prior = beta_effects_draws(seed, len(x_test), n_show, n_prior)
    x_reference, y_reference = unit_images(x_train[:n_knn_reference], name="x_train"), y_train[:n_knn_reference]
    last = snapshot_epochs[-1]
    summary = {(b, e): metrics.summarise_vae(results[b].model(e), x_test, x_reference, show=show, z_prior=z_prior,
                                             n_draws=n_draws, seed=seed) for b, e in wanted}
    rows = {(b, e): {"D_N": metrics.moment_kl_to_standard_normal(s["z"]), "round": metrics.covariance_isotropy(s["z"]),
                     "knn": metrics.knn_accuracy(s["z_reference"], y_reference, s["z"], y_test, k=k_neighbours),
                     "err_mu": float(s["error_at_mean"].mean()), "err_q": float(s["error_sampled"].mean()),
                     "kl": float(s["kl"].mean()), "active": metrics.active_dimensions(s["mu"])[1]}
            for (b, e), s in summary.items()}
    # the mean training image, summed in float64 (pixels: exact integer sums, then scaled)
    mean_image = x_train.sum(axis=0, keepdims=True, dtype=np.float64) / len(x_train)
    if x_train.dtype == np.uint8:
        mean_image /= 255.0
    error_mean_image = float(metrics.squared_error(x_test, mean_image).mean())
    nn_prior = {b: metrics.nearest_neighbour_distance(summary[b, last]["prior_images"], x_train) for b in betas}
    nn_recon = {b: metrics.nearest_neighbour_distance(summary[b, last]["reconstructions"], x_train) for b in betas}
    return {"show": show, "z_prior": z_prior, "snapshot_epochs": snapshot_epochs, "summary": summary, "rows": rows,
            "error_mean_image": error_mean_image, "nn_prior": nn_prior, "nn_recon": nn_recon,
            "y_reference": y_reference}


_BETA_EFFECTS_ROW_TYPES = {"D_N": float, "round": float, "knn": float, "err_mu": float, "err_q": float, "kl": float,
                           "active": int}


def _beta_effects_entry(measured: Mapping) -> tuple[dict, dict]:
    """:func:`measure_beta_effects`'s result as a cache entry: arrays by snapshot number, the rest as JSON."""
    snapshots, betas = sorted(measured["summary"]), sorted(measured["nn_prior"])
    arrays = {"draws": {name: measured[name] for name in ("show", "z_prior", "y_reference")},
              "summary": {f"{i}.{name}": array for i, s in enumerate(snapshots)
                          for name, array in measured["summary"][s].items()},
              "nearest": {f"{kind}.{i}": measured[kind][b] for kind in ("nn_prior", "nn_recon") for i, b in enumerate(betas)}}
    metadata = {"snapshots": [[float(b), int(e)] for b, e in snapshots], "betas": [float(b) for b in betas],
                "rows": [{name: kind(measured["rows"][s][name]) for name, kind in _BETA_EFFECTS_ROW_TYPES.items()}
                         for s in snapshots],
                "snapshot_epochs": [int(e) for e in measured["snapshot_epochs"]],
                "error_mean_image": float(measured["error_mean_image"])}
    return arrays, metadata


def _beta_effects_from_entry(arrays: Mapping, metadata: Mapping) -> dict:
    snapshots = [(float(b), int(e)) for b, e in metadata["snapshots"]]
    summary = {s: {} for s in snapshots}
    for name, array in arrays["summary"].items():
        i, field = name.split(".", 1)
        summary[snapshots[int(i)]][field] = array
    nearest = {kind: {b: arrays["nearest"][f"{kind}.{i}"] for i, b in enumerate(metadata["betas"])}
               for kind in ("nn_prior", "nn_recon")}
    return {**arrays["draws"], "snapshot_epochs": list(metadata["snapshot_epochs"]), "summary": summary,
            "rows": dict(zip(snapshots, metadata["rows"])), "error_mean_image": metadata["error_mean_image"], **nearest}


def beta_effects_claims(measures: Mapping, *, betas: Sequence[float], beta_large: float,
                        betas_extreme: Sequence[float]) -> list[Claim]:
    """Chapter 07's six claims, in its order, from :func:`measure_beta_effects`'s result."""
    measures = _values("measures", measures, fields=("rows", "summary", "snapshot_epochs", "error_mean_image",
                                                     "nn_prior"))
    rows, summary, epochs = measures["rows"], measures["summary"], measures["snapshot_epochs"]
    first, last = epochs[0], epochs[-1]
    n_test = len(summary[1.0, last]["error_at_mean"])
    err5 = {b: rows[b, 5]["err_mu"] for b in betas} if 5 in epochs and last > 5 else None
    return [
        claim_epoch1_shape({b: rows[b, first]["D_N"] for b in betas}, {b: rows[b, first]["round"] for b in betas}),
        claim_separation_improves({b: [rows[b, e]["knn"] for e in epochs] for b in betas}, n_test, epochs),
        claim_little_change_after_epoch5(err5, {b: rows[b, last]["err_mu"] for b in betas}),
        claim_extreme_beta_inadequate(summary[1.0, last]["error_at_mean"],
                                      {b: summary[b, last]["error_at_mean"] for b in betas_extreme},
                                      measures["error_mean_image"]),
        claim_beta0_samples_farthest(measures["nn_prior"]),
        claim_large_beta_near_prior(rows[beta_large, last]["D_N"], rows[1.0, last]["D_N"], rows[beta_large, last]["knn"],
                                    rows[1.0, last]["knn"], n_test, beta_large),
    ]


# ---------------------------------------------------------------------------------------------
# §4.2, figures 9-11: loss dynamics (chapter 08)

_DYNAMICS = "08_loss_dynamics"


def share_checks(history: Mapping, beta: float, share: str = "unweighted", split: str = "train") -> dict:
    """The four statements of the report's reading of figures 10-11, on one curve of a history.

    Returns the KL share (``share``: see :func:`vaelib.dynamics.kl_shares`) at the first and last
    epoch, the KL and reconstruction terms there, and booleans: ``low`` (first share below
    FIRST_SHARE_MAX, 1%), ``kl_up`` (K grew), ``share_up`` (the share grew), ``rec_down`` (R fell).
    """
    share = check_choice("share", share, dynamics.SHARES)
    values = dynamics.kl_shares(history, beta, split)[share]
    kl = dynamics.history_curve(history, split, "kl")
    rec = dynamics.history_curve(history, split, "reconstruction")
    return {"first": float(values[0]), "last": float(values[-1]), "low": bool(values[0] < FIRST_SHARE_MAX),
            "kl_up": dynamics.trend(kl) > 0, "share_up": dynamics.trend(values) > 0, "rec_down": dynamics.trend(rec) < 0,
            "kl_first": float(kl[0]), "kl_last": float(kl[-1]), "rec_first": float(rec[0]), "rec_last": float(rec[-1])}


def claim_kl_share_dynamics(history: Mapping, beta: float, share: str = "unweighted") -> Claim:
    """The KL share starts below 1%; then R falls while K grows, in absolute and relative terms (figures 10-11).

    Checked on the training curves (the test curves are in ``values['test']``): reproduced if all
    four statements of :func:`share_checks` hold, not reproduced otherwise. The first/last
    comparisons are strict inequalities on epoch averages over the whole training set.
    """
    beta = check_beta(beta)
    train = share_checks(history, beta, share, "train")
    test = share_checks(history, beta, share, "test")
    holds = train["low"] and train["kl_up"] and train["share_up"] and train["rec_down"]
    name = "s" if share == "unweighted" else "s_β"
    failed = [label for label, key in (("share < 1% at first", "low"), ("K grows", "kl_up"),
                                       ("share grows", "share_up"), ("R falls", "rec_down")) if not train[key]]
    return Claim(
        f"share-{share}-{beta:g}", f"β = {beta:g}: the KL share ({name}) starts below 1%, then R falls while K grows "
        "in absolute and relative terms", "§4.2, figures 10-11", _DYNAMICS,
        f"{name}: {100 * train['first']:.3g}% -> {100 * train['last']:.3g}%; K {train['kl_first']:.3g} -> "
        f"{train['kl_last']:.3g}; R {train['rec_first']:.1f} -> {train['rec_last']:.1f}"
        + (f" (fails: {', '.join(failed)})" if failed else ""),
        "training curves: reproduced if all four statements hold, not reproduced otherwise",
        "reproduced" if holds else "not reproduced", {"beta": beta, "share": share, "train": train, "test": test})


def claim_large_beta_kl_increases(history: Mapping, beta: float = 50.0) -> Claim:
    """With a large beta the KL term "increases rapidly" (the report's reading of figure 9).

    Reproduced if the KL term of the training curve is larger in the last epoch than in the first,
    not reproduced otherwise (it does not increase at all, let alone rapidly).
    """
    beta = check_beta(beta)
    kl = dynamics.history_curve(history, "train", "kl")
    grows = dynamics.trend(kl) > 0
    return Claim(
        "fig9-kl", f"With β = {beta:g} the KL term increases rapidly during training", "§4.2, figure 9", _DYNAMICS,
        f"K (nats) epoch 1: {kl[0]:.3g}, last epoch: {kl[-1]:.3g}",
        "reproduced if K is larger in the last epoch than in the first, not reproduced otherwise",
        "reproduced" if grows else "not reproduced", {"kl_first": float(kl[0]), "kl_last": float(kl[-1])})


# ---------------------------------------------------------------------------------------------
# §4.2, figures 12-13 and eq. 13: sample quality (chapter 09)

_QUALITY = "09_sample_quality"


@releases_free_memory
def measure_sample_quality(classifier, runs: Mapping, x_test, y_test, *, seed: int = 0, n_recon: int = 1000,
                           n_samples: int = 1000, threshold: float = 0.9, test_probs=None) -> dict:
    """Chapter 09's measurements: eq. (13) and the other measures per beta and snapshot epoch.

    ``runs`` maps beta to a TrainResult. For every snapshot the first ``n_recon`` test images are
    reconstructed at z = mu and the same ``n_samples`` N(0, I) draws (seeded by ``seed``) decoded;
    the classifier scores both (:func:`vaelib.evaluate.quality_measures`). Returns a dict with
    ``test_probs``, ``results`` ((beta, epoch) -> {"reconstructions": ..., "prior samples": ...}),
    ``images`` ((beta, epoch) -> first 20 samples and their probabilities), ``final_kl`` (beta ->
    last epoch's test KL term), ``snapshot_epochs`` and ``last_epoch``. ``test_probs``, the
    classifier's probabilities for ``x_test`` if already computed, saves predicting them again.
    """
    x_test = check_images(x_test, name="x_test")
    y_test = check_labels(y_test, len(x_test), name="y_test")
    seed = check_seed(seed)
    n_recon = check_int("n_recon", n_recon, minimum=1, maximum=len(x_test))
    n_samples = check_int("n_samples", n_samples, minimum=1)
    test_probs = (evaluate.predict_proba(classifier, x_test) if test_probs is None
                  else evaluate.check_probabilities(test_probs, name="test_probs"))
    if len(test_probs) != len(x_test):
        raise ValueError(f"test_probs must have one row per test image ({len(x_test)}), got {len(test_probs)}")
    rng = np.random.default_rng(seed)
    z_prior = rng.standard_normal((n_samples, 2)).astype(np.float32)
    x_recon, y_recon = x_test[:n_recon], y_test[:n_recon]
    results, images, final_kl = {}, {}, {}
    for beta, run in _by_beta("runs", runs).items():
        final_kl[beta] = run.history["test_kl"][-1]
        for epoch in sorted(run.snapshots):
            vae = run.model(epoch)
            mu, _ = in_blocks(vae.encode, x_recon)
            recon = in_blocks(vae.decode, mu)
            samples = in_blocks(vae.decode, z_prior)
            probs = evaluate.predict_proba(classifier, np.concatenate([recon, samples]))
            results[beta, epoch] = {
                RECONSTRUCTIONS: evaluate.quality_measures(probs[:n_recon], test_probs, y_recon, threshold=threshold),
                PRIOR_SAMPLES: evaluate.quality_measures(probs[n_recon:], test_probs, threshold=threshold)}
            images[beta, epoch] = (samples[:20], probs[n_recon:n_recon + 20])
    snapshot_epochs = sorted({e for _, e in results})
    return {"test_probs": test_probs, "results": results, "images": images, "final_kl": final_kl,
            "snapshot_epochs": snapshot_epochs, "last_epoch": snapshot_epochs[-1]}


def _scores(scores: Mapping) -> dict[float, Mapping]:
    scores = _by_beta("scores", scores)
    for b, s in scores.items():
        for kind in (PRIOR_SAMPLES, RECONSTRUCTIONS):
            _values(f"scores[{b:g}][{kind!r}]", _values(f"scores[{b:g}]", s, fields=(kind,))[kind],
                    fields=("ratio", "ratio_se"))
            _real(f"scores[{b:g}][{kind!r}]['ratio']", s[kind]["ratio"], minimum=0.0)
            _real(f"scores[{b:g}][{kind!r}]['ratio_se']", s[kind]["ratio_se"], minimum=0.0)
    return scores


def _ratio(scores, beta, kind) -> tuple[float, float]:
    return float(scores[beta][kind]["ratio"]), float(scores[beta][kind]["ratio_se"])


def claim_beta0_samples_least_recognizable(scores: Mapping, epoch: int | None = None) -> Claim:
    """Prior samples of beta = 0 are the least recognizable to a digit classifier (figures 5, 8, 12-13).

    ``scores`` maps beta to :func:`vaelib.evaluate.quality_measures` of "prior samples" and
    "reconstructions" at one epoch. The difference: the worst positive beta's eq. (13) ratio minus
    beta = 0's; :func:`vaelib.evaluate.verdict` with N_SE (3) and the root sum of squares of the
    two standard errors.
    """
    scores = _scores(scores)
    if 0.0 not in scores or len(scores) < 2:
        raise ValueError("scores must include beta = 0 and at least one positive beta")
    worst = min((b for b in scores if b > 0), key=lambda b: scores[b][PRIOR_SAMPLES]["ratio"])
    (r0, se0), (rw, sew) = _ratio(scores, 0.0, PRIOR_SAMPLES), _ratio(scores, worst, PRIOR_SAMPLES)
    difference = rw - r0
    when = "" if epoch is None else f"epoch {epoch}: "
    source = "§4.2, figure 5" if epoch == 1 else "§4.2, figures 8 and 12-13"
    return Claim(
        "beta0-least" if epoch != 1 else "beta0-least-epoch1",
        f"{'After one epoch, ' if epoch == 1 else ''}β = 0 prior samples are the least recognizable (classifier)",
        source, _QUALITY, f"{when}eq. 13 ratio β=0 {r0:.3f}, worst positive β ({worst:g}) {rw:.3f}",
        f"difference (worst positive β minus β=0) > {N_SE:g} s.e.: reproduced; < -{N_SE:g} s.e.: not reproduced; "
        "else inconclusive", evaluate.verdict(difference, math.hypot(se0, sew), n_se=N_SE),
        {"difference": difference, "ratio_0": r0, "ratio_worst": rw, "worst_beta": worst})


def claim_samples_improve_with_beta(scores: Mapping) -> Claim:
    """Prior samples become more recognizable with every increase of beta (figures 12-13).

    Each step between consecutive betas is judged by :func:`vaelib.evaluate.verdict` (N_SE = 3,
    root-sum-of-squares standard error) and the steps combined by
    :func:`vaelib.evaluate.combine_verdicts` (all reproduced -> reproduced, any not -> not).
    """
    scores = _scores(scores)
    betas = list(scores)
    if len(betas) < 2:
        raise ValueError("scores must hold at least two values of beta")
    steps = list(zip(betas[:-1], betas[1:]))
    diffs = [_ratio(scores, b, PRIOR_SAMPLES)[0] - _ratio(scores, a, PRIOR_SAMPLES)[0] for a, b in steps]
    ses = [math.hypot(_ratio(scores, a, PRIOR_SAMPLES)[1], _ratio(scores, b, PRIOR_SAMPLES)[1]) for a, b in steps]
    return Claim(
        "improve", "Prior samples become more recognizable as β grows", "§4.2, figures 12-13", _QUALITY,
        "eq. 13 ratio of samples: " + ", ".join(f"β={b:g}: {_ratio(scores, b, PRIOR_SAMPLES)[0]:.3f}" for b in betas),
        f"every step up in β must raise the ratio by > {N_SE:g} s.e. (reproduced); any step down by more: "
        "not reproduced; else inconclusive",
        evaluate.combine_verdicts([evaluate.verdict(d, s, n_se=N_SE) for d, s in zip(diffs, ses)]),
        {"difference": min(diffs), "steps": [(a, b) for a, b in steps], "differences": diffs})


def claim_high_beta_samples_beat_originals(scores: Mapping, beta: float = 50.0) -> Claim:
    """At very high beta the prior samples are more recognizable than the test images (ratio > 1, figure 13)."""
    scores = _scores(scores)
    beta = check_beta(beta)
    if beta not in scores:
        raise ValueError(f"scores has no beta = {beta:g}")
    r, se = _ratio(scores, beta, PRIOR_SAMPLES)
    return Claim(
        "beats-originals", f"At β = {beta:g} prior samples are more recognizable than the test images",
        "§4.2, figure 13", _QUALITY, f"eq. 13 ratio {r:.3f} ± {se:.3f} (test images: 1)",
        f"ratio - 1 > {N_SE:g} s.e.: reproduced; < -{N_SE:g} s.e.: not reproduced; else inconclusive",
        evaluate.verdict(r - 1.0, se, n_se=N_SE), {"difference": r - 1.0, "ratio": r, "se": se})


def claim_beta0_reconstructions_slightly_inferior(scores: Mapping) -> Claim:
    """Reconstructions of beta = 0 are slightly inferior to the originals (figure 12).

    Below 1 by more than N_SE (3) standard errors and above SLIGHTLY_INFERIOR_MIN_RATIO (0.9) by
    more than that; combined by :func:`vaelib.evaluate.combine_verdicts`.
    """
    scores = _scores(scores)
    if 0.0 not in scores:
        raise ValueError("scores must include beta = 0")
    r, se = _ratio(scores, 0.0, RECONSTRUCTIONS)
    return Claim(
        "beta0-recon", "β = 0 reconstructions are slightly less recognizable than the originals",
        "§4.2, figure 12", _QUALITY, f"eq. 13 ratio of reconstructions {r:.3f} ± {se:.3f}",
        f"1 - ratio and ratio - {SLIGHTLY_INFERIOR_MIN_RATIO:g} both > {N_SE:g} s.e.: reproduced; either < -{N_SE:g} "
        "s.e.: not reproduced; else inconclusive",
        evaluate.combine_verdicts([evaluate.verdict(1.0 - r, se, n_se=N_SE),
                                   evaluate.verdict(r - SLIGHTLY_INFERIOR_MIN_RATIO, se, n_se=N_SE)]),
        {"difference": 1.0 - r, "ratio": r, "se": se})


def claim_beta0_samples_match_reconstructions(scores: Mapping) -> Claim:
    """For beta = 0, after enough epochs, samples are nearly as recognizable as reconstructions, yet below the originals (figure 12).

    "Nearly indistinguishable": the eq. (13) ratios of samples and reconstructions are less than
    NEAR_MAX_GAP (0.05) apart. "Below the originals": 1 - ratio of samples > N_SE (3) standard
    errors. The two parts are combined by :func:`vaelib.evaluate.combine_verdicts`.
    """
    scores = _scores(scores)
    if 0.0 not in scores:
        raise ValueError("scores must include beta = 0")
    (rs, ses), (rr, _) = _ratio(scores, 0.0, PRIOR_SAMPLES), _ratio(scores, 0.0, RECONSTRUCTIONS)
    near = "reproduced" if abs(rs - rr) < NEAR_MAX_GAP else "not reproduced"
    return Claim(
        "beta0-match", "β = 0 prior samples end up nearly as recognizable as reconstructions, still below the originals",
        "§4.2, figure 12", _QUALITY, f"eq. 13 ratio: samples {rs:.3f} ± {ses:.3f}, reconstructions {rr:.3f}",
        f"|samples - reconstructions| < {NEAR_MAX_GAP:g} and 1 - samples > {N_SE:g} s.e.: reproduced; "
        "either fails: not reproduced", evaluate.combine_verdicts([near, evaluate.verdict(1.0 - rs, ses, n_se=N_SE)]),
        {"gap": rs - rr, "ratio_samples": rs, "ratio_reconstructions": rr})


def claim_samples_beat_reconstructions(scores: Mapping) -> Claim:
    """With beta > 0, prior samples are more recognizable than reconstructions (figures 12-13).

    Per positive beta, samples' ratio minus reconstructions' ratio judged by
    :func:`vaelib.evaluate.verdict` (N_SE = 3, root-sum-of-squares standard error); combined by
    :func:`vaelib.evaluate.combine_verdicts`.
    """
    scores = _scores(scores)
    positive = [b for b in scores if b > 0]
    if not positive:
        raise ValueError("scores must include a positive beta")
    parts, diffs = [], {}
    for b in positive:
        (rs, ses), (rr, ser) = _ratio(scores, b, PRIOR_SAMPLES), _ratio(scores, b, RECONSTRUCTIONS)
        diffs[b] = rs - rr
        parts.append(evaluate.verdict(rs - rr, math.hypot(ses, ser), n_se=N_SE))
    return Claim(
        "beat-recon", "With β > 0 prior samples are more recognizable than reconstructions", "§4.2, figures 12-13",
        _QUALITY, "samples minus reconstructions (eq. 13): " + ", ".join(f"β={b:g}: {d:+.3f}" for b, d in diffs.items()),
        f"every positive β > {N_SE:g} s.e.: reproduced; any < -{N_SE:g} s.e.: not reproduced; else inconclusive",
        evaluate.combine_verdicts(parts), {"differences": diffs})


def sample_quality_claims(final: Mapping) -> list[Claim]:
    """Chapter 09's four claims, in its order, from the scores at the last epoch (beta -> measures)."""
    return [claim_beta0_samples_least_recognizable(final), claim_samples_improve_with_beta(final),
            claim_high_beta_samples_beat_originals(final, 50.0), claim_beta0_reconstructions_slightly_inferior(final)]


# ---------------------------------------------------------------------------------------------
# §4, closing paragraph: other latent distributions (chapter 11)

_OTHER = "11_other_latents"


def claim_laplace_same_results(laplace: Mapping, references: Sequence[Mapping],
                               measures: Sequence[str] = SAME_RESULTS_MEASURES) -> Claim:
    """A Laplace latent distribution gives almost the same results as the Gaussian (closing paragraph).

    ``laplace`` and each of ``references`` (Gaussian VAEs from different seeds, at least 2) are
    :func:`vaelib.family_measures.family_measures` dicts. Reproduced if every one of ``measures``
    lies within ``family_measures.SPREAD_FACTOR`` (2) seed-to-seed standard deviations of the
    references' mean (:func:`vaelib.family_measures.same_results_verdict`), not reproduced otherwise.
    """
    if not isinstance(laplace, Mapping) or isinstance(references, (str, bytes)) or len(references) < 2:
        raise TypeError("laplace must be a mapping of measures and references a sequence of at least 2 of them")
    verdict = family_measures.same_results_verdict(laplace, list(references), measures)
    parts = []
    for m in measures:
        inside, distance, allowed = family_measures.within_seed_spread(laplace[m], [r[m] for r in references])
        parts.append(f"{m} {laplace[m]:.3g} vs {np.mean([r[m] for r in references]):.3g} "
                     f"({'within' if inside else 'outside'} {allowed:.2g})")
    return Claim(
        "laplace", "A Laplace latent distribution gives almost the same results as the Gaussian",
        "§4.2, closing paragraph", _OTHER, "Laplace vs Gaussian seeds' mean: " + "; ".join(parts),
        f"reproduced if every measure is within {family_measures.SPREAD_FACTOR:g} seed-to-seed standard deviations "
        "of the Gaussian seeds' mean, not reproduced otherwise", verdict,
        {m: float(laplace[m]) for m in measures})


def claim_uniform_usable(uniform: Mapping) -> Claim:
    """A VAE with uniform latent distributions learns a usable latent space (closing paragraph).

    The report's "interesting insights about common features" has no measure, so only its
    precondition is tested: reproduced if the uniform VAE has at least one active dimension and a
    15-NN accuracy above UNIFORM_MIN_KNN (0.5), not reproduced otherwise.
    """
    uniform = _values("uniform", uniform, fields=("active_dims", "knn_accuracy"))
    active = _real("uniform['active_dims']", uniform["active_dims"], minimum=0.0)
    knn = _fraction("uniform['knn_accuracy']", uniform["knn_accuracy"])
    usable = active >= 1 and knn > UNIFORM_MIN_KNN
    return Claim(
        "uniform", "A VAE with uniform latent distributions learns a usable latent space (the precondition of "
        "the report's 'insights about common features')", "§4.2, closing paragraph", _OTHER,
        f"{active:.0f} active dimension(s); 15-NN accuracy {knn:.3f}",
        f"reproduced if at least one active dimension and 15-NN accuracy > {UNIFORM_MIN_KNN:g}, not reproduced otherwise",
        "reproduced" if usable else "not reproduced", {"active_dims": active, "knn_accuracy": knn})


# ---------------------------------------------------------------------------------------------
# the table


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


ACROSS_SEEDS_RULE = ("reproduced (or not reproduced) when the models of every training seed give that verdict; "
                     "inconclusive when the seeds disagree")
"""How the verdicts of models trained from several seeds combine into one (:func:`across_seeds`)."""


def across_seeds(per_seed: Sequence[Sequence[Claim]], seeds: Sequence[int]) -> list[Claim]:
    """One claim per key from the claims measured on the models of each training seed.

    ``per_seed[i]`` holds the claims measured on the models trained from ``seeds[i]``, in the
    same order for every seed. The verdict follows :data:`ACROSS_SEEDS_RULE`: a verdict that holds
    for one seed and not for another is within the seed-to-seed spread, so it is inconclusive. The
    combined claim's ``measured`` lists every seed's numbers and verdict; its ``values`` hold the
    seeds, each seed's values and verdicts.
    """
    seeds = [check_seed(s) for s in seeds]
    if len(seeds) < 1 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}")
    per_seed = [list(claims) for claims in per_seed]
    if len(per_seed) != len(seeds):
        raise ValueError(f"per_seed must hold one list of claims per seed ({len(seeds)}), got {len(per_seed)}")
    keys = [c.key for c in per_seed[0]]
    for seed, claims in zip(seeds, per_seed):
        if not all(isinstance(c, Claim) for c in claims):
            raise TypeError("per_seed must hold lists of Claim records")
        if [c.key for c in claims] != keys:
            raise ValueError(f"the claims of seed {seed} differ from seed {seeds[0]}'s in keys or order")
    combined = []
    for i, first in enumerate(per_seed[0]):
        versions = [claims[i] for claims in per_seed]
        verdicts = [c.verdict for c in versions]
        verdict = verdicts[0] if len(set(verdicts)) == 1 and verdicts[0] != "inconclusive" else "inconclusive"
        measured = "; ".join(f"seed {s}: {c.measured} ({c.verdict})" for s, c in zip(seeds, versions))
        values = {"seeds": seeds, "verdicts": verdicts, "measured": [c.measured for c in versions],
                  "per_seed": [dict(c.values) for c in versions]}
        combined.append(Claim(first.key, first.claim, first.source, first.chapter, measured, first.rule, verdict,
                              values, measured_yet=all(c.measured_yet for c in versions)))
    return combined


def _seed_columns(claims: Sequence[Claim]) -> list[int]:
    claims = list(claims)
    if not claims or not all(isinstance(c, Claim) for c in claims):
        raise TypeError("claims must be a non-empty sequence of Claim records")
    seeds = [c.values.get("seeds") for c in claims]
    if any(s is None for s in seeds) or any(s != seeds[0] for s in seeds):
        raise ValueError("claims must come from across_seeds, all over the same seeds")
    return list(seeds[0])


SEED_VERDICT_MARKS = {"reproduced": "✓", "not reproduced": "✗", "inconclusive": "?"}
"""How :func:`claims_table` marks each seed's verdict."""


def claims_table(claims: Sequence[Claim]) -> str:
    """Markdown for claims combined by :func:`across_seeds`: a line saying how each seed's verdict is
    marked, then a table of number, claim, where the report makes it (and the chapter that measures
    it), the rule, each seed's verdict (:data:`SEED_VERDICT_MARKS`) and the combined verdict."""
    seeds = _seed_columns(claims)
    legend = ", ".join(f"{mark} {verdict}" for verdict, mark in SEED_VERDICT_MARKS.items())
    lines = [f"Each seed's verdict, for seeds {', '.join(map(str, seeds))} in that order: {legend}.", "",
             "| # | claim of the report | where | rule | seeds | verdict |", "|---|---|---|---|---|---|"]
    for i, c in enumerate(claims, start=1):
        marks = " ".join(SEED_VERDICT_MARKS[v] for v in c.values["verdicts"])
        lines.append(f"| {i} | {_cell(c.claim)} | {_cell(c.source)}; chapter {_cell(c.chapter[:2])} | {_cell(c.rule)} | "
                     f"{marks} | **{_cell(c.verdict_text)}** |")
    return "\n".join(lines)


def measurements_table(claims: Sequence[Claim]) -> str:
    """A Markdown table of what was measured for each claim (numbered as in :func:`claims_table`), one
    column per seed: the spread of every number across seeds."""
    seeds = _seed_columns(claims)
    lines = ["| # | " + " | ".join(f"seed {s}" for s in seeds) + " |", "|---|" + "---|" * len(seeds)]
    for i, c in enumerate(claims, start=1):
        lines.append(f"| {i} | " + " | ".join(_cell(m) for m in c.values["measured"]) + " |")
    return "\n".join(lines)


def verdict_counts(claims: Sequence[Claim]) -> dict[str, int]:
    """How many claims got each verdict, plus ``"not yet measured"`` (counted within "inconclusive")."""
    claims = list(claims)
    if not all(isinstance(c, Claim) for c in claims):
        raise TypeError("claims must be Claim records")
    counts = {v: sum(c.verdict == v for c in claims) for v in VERDICTS}
    counts["not yet measured"] = sum(not c.measured_yet for c in claims)
    return counts
