"""How a claim of the report becomes a verdict: checks, thresholds and the two rules that combine them.

A claim is judged by one or more :class:`Check` records, each a measured number, the side of a
threshold the claim needs it on and, when the number comes from random draws, its standard error.
Two rules, stated here once, turn checks into verdicts:

:data:`PARTS_RULE` (:func:`all_of`)
    A claim with several parts is reproduced when every part holds, not reproduced when some part
    fails, and inconclusive otherwise (a claim "A and B" is refuted by refuting either).
:data:`ACROSS_SEEDS_RULE` (:func:`across_seeds`)
    A part judged on models from several training seeds holds (or fails) when it holds (or fails)
    for every seed *and* the seeds' mean clears the threshold by N_SE standard errors of that mean,
    the seeds' spread included; otherwise it is undecided. The claim then follows PARTS_RULE.

Thresholds (named constants; each was fixed before looking at the results)
--------------------------------------------------------------------------
N_SE = 3
    A difference "holds" when it exceeds 3 standard errors: the chance that pure noise crosses it,
    either way, is below 0.3% per comparison. Over the mean of three seeds the same margin is
    cleared by seed noise alone about 5% of the time (Student's t with 2 degrees of freedom).
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
SPREAD_FACTOR = 2
    "Almost the same results" (Laplace against Gaussian latents): within 2 standard deviations of
    the Gaussian VAE's seed-to-seed spread, on every measure (chapter 11); further than that would
    be an unusual draw from the Gaussian's own spread.
UNIFORM_MIN_KNN = 0.5
    A "usable" latent space: at least one active dimension, and codes whose 15-NN accuracy is
    well above the 10% of guessing (at least half the test digits labelled right; chapter 11).
MAJORITY = 0.5
    "Mostly": more than half (figure 14's draws and paths).
SIMILAR_MAX_BITS = 1, DIVERSE_MIN_BITS = 2
    Decoded draws are "similar to each other" when their class entropy is below a fair choice
    between two digits (1 bit), and clearly not when it is above four equally frequent digits.
REGION_AGREEMENT_MIN = 0.8
    A region of the latent space "has the features" of its digits when four decoded images in
    five are that digit.
MIN_DIRECT_PATHS = 10
    Fewer direct paths between two digits than this are too few to judge the borders.
GAP_FLOOR = -1
    "Hinders overfitting" (§4.1; measured in chapter 12). Overfitting is fitting the training images
    better than unseen ones, so its measure is the relative generalisation gap
    g = (E_test - E_train) / E_train of the mean squared error at the code (z = encoder(x) for the
    autoencoder, z = mu for the beta = 1 VAE, no draw), after the last epoch, on the first 10,000
    training images and the 10,000 test images. Relative, because the two models reach different
    errors and the report's statement is about how much of the fit fails to carry over, not about
    the size of the error. Keras' per-epoch training loss is not used for E_train: it is a running
    mean over the epoch's batches while the weights still change, not comparable with the
    end-of-epoch test loss. Two parts. The autoencoder overfits, g_AE > 0 by N_SE standard errors:
    without that there is nothing for sampling to hinder, and the claim stays undecided (this part's
    fails-at is GAP_FLOOR, the smallest gap there is, a test error of 0, so it never fails). And
    g_AE - g_VAE > 0 by N_SE standard errors (delta method; the two models' errors on one image are
    paired, training and test images are independent samples); g_AE - g_VAE < 0 by N_SE standard
    errors, the VAE generalising worse, is "not reproduced". With sampling and the KL term both
    in the VAE, a reproduced verdict cannot say which of the two does the hindering.
COVERAGE_LEVEL = 0.95, COVERAGE_QUANTILE = 0.99
    "A more efficient allocation of space" for larger beta (§4.2, figure 5 and the text on figures
    6-8; measured in chapter 12). The space a VAE is given is where its prior puts the codes it will
    decode, so allocating it efficiently is filling it as the prior does, with no holes where a prior
    draw would land. The measure is the coverage: the share of the prior's COVERAGE_LEVEL region
    (where 95% of prior draws land), weighted as the prior weights it, that has a code (one draw
    z ~ q(z|x) per test image) within r(z), the distance within which as many codes drawn from N(0, I)
    would have one with probability COVERAGE_QUANTILE (a local yardstick in the prior's units, the
    same for every model: vaelib.measures.latent_space.prior_spacing). A cloud distributed as the
    prior covers 0.99; a cloud spread twice as wide covers about 0.85, one squeezed to a third 0.44,
    one split into two halves with a lane of one prior unit between them 0.61 (10,000 codes). A
    yardstick taken from each cloud's own spacing would not do: a cloud spread ten times wider has
    gaps ten times wider and would cover the region however few codes fell in it. The coverage is
    estimated from 5,000 points drawn from the prior restricted to the region, the same points for
    every model. The claim holds if, after epoch 1 and after the last epoch, each step up in beta
    (0 to 1, 1 to 5) raises the coverage by more than N_SE standard errors (paired over the points);
    a step that lowers it by more than N_SE standard errors makes it "not reproduced". A coverage
    that cannot rise further (both near 0.99) leaves the step undecided.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from vaelib._runtime.validation import check_choice, check_real, check_seed

__all__ = [
    "VERDICTS", "Check", "Claim", "combine_parts", "all_of", "judged", "unmeasured_claim", "PARTS_RULE", "ACROSS_SEEDS_RULE",
    "across_seeds", "seed_mean",
]

VERDICTS = ("reproduced", "not reproduced", "inconclusive")

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
SPREAD_FACTOR = 2.0
UNIFORM_MIN_KNN = 0.5
MAJORITY = 0.5
SIMILAR_MAX_BITS = 1.0
DIVERSE_MIN_BITS = 2.0
REGION_AGREEMENT_MIN = 0.8
MIN_DIRECT_PATHS = 10
GAP_FLOOR = -1.0
COVERAGE_LEVEL = 0.95
COVERAGE_QUANTILE = 0.99

PARTS_RULE = ("a claim of several parts is reproduced when every part holds, not reproduced when some part "
              "fails, inconclusive otherwise")
"""How the parts (:class:`Check` records) of one claim combine (:func:`all_of`)."""

ACROSS_SEEDS_RULE = (f"a part holds (or fails) when it holds (or fails) for the models of every seed and the "
                     f"seeds' mean clears its threshold by {N_SE:g} standard errors of that mean, the seeds' spread "
                     f"included; otherwise it is undecided, and the claim follows the rule for parts")
"""How checks measured on the models of several training seeds combine (:func:`across_seeds`)."""

_SIDES = ("above", "below")


def _number(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Check:
    """One part of a claim: a measured number and the side of a threshold the claim needs it on.

    ``needs="above"``: the part holds if ``value - n_se * se > holds_at`` and fails if
    ``value + n_se * se < fails_at`` (``fails_at <= holds_at``; equal by default, so only a value
    within the noise band is undecided); ``"below"`` mirrors it. A value of NaN (nothing to
    measure) is undecided. ``se`` is the standard error of ``value`` from the measurement's own
    random draws (0 for a number without one).
    """

    what: str
    value: float
    needs: str
    holds_at: float
    fails_at: float | None = None
    se: float = 0.0
    n_se: float = 0.0

    def __post_init__(self):
        if not isinstance(self.what, str) or not self.what.strip():
            raise ValueError(f"what must name the measured number, got {self.what!r}")
        check_choice("needs", self.needs, _SIDES)
        object.__setattr__(self, "value", _number("value", self.value))
        object.__setattr__(self, "holds_at", check_real("holds_at", _number("holds_at", self.holds_at)))
        fails_at = self.holds_at if self.fails_at is None else check_real("fails_at", _number("fails_at", self.fails_at))
        if (self.needs == "above" and fails_at > self.holds_at) or (self.needs == "below" and fails_at < self.holds_at):
            raise ValueError(f"fails_at ({fails_at:g}) must lie on the failing side of holds_at ({self.holds_at:g}) "
                             f"for needs={self.needs!r}")
        object.__setattr__(self, "fails_at", fails_at)
        se = _number("se", self.se)
        object.__setattr__(self, "se", se if math.isnan(se) else check_real("se", se, minimum=0.0))
        object.__setattr__(self, "n_se", check_real("n_se", _number("n_se", self.n_se), minimum=0.0))

    @property
    def verdict(self) -> str:
        """"reproduced" if this part holds, "not reproduced" if it fails, else "inconclusive"."""
        if math.isnan(self.value) or math.isnan(self.se):
            return "inconclusive"
        margin = self.n_se * self.se
        if self.needs == "above":
            holds, fails = self.value - margin > self.holds_at, self.value + margin < self.fails_at
        else:
            holds, fails = self.value + margin < self.holds_at, self.value - margin > self.fails_at
        return "reproduced" if holds else "not reproduced" if fails else "inconclusive"

    @property
    def threshold(self) -> str:
        """The threshold in words, e.g. "> 0.5 by 3 s.e.; fails < 0.2"."""
        sign, other = (">", "<") if self.needs == "above" else ("<", ">")
        text = f"{sign} {self.holds_at:.4g}" + (f" by {self.n_se:g} s.e." if self.n_se else "")
        return text + (f"; fails {other} {self.fails_at:.4g}" if self.fails_at != self.holds_at else "")


def combine_parts(verdicts: Sequence[str]) -> str:
    """:data:`PARTS_RULE` on the parts' verdicts: all reproduced -> reproduced; any not reproduced ->
    not reproduced; otherwise inconclusive."""
    verdicts = [check_choice("verdict", v, VERDICTS) for v in verdicts]
    if not verdicts:
        raise ValueError("a claim needs at least one part")
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    return "not reproduced" if "not reproduced" in verdicts else "inconclusive"


def all_of(checks: Sequence[Check]) -> str:
    """The verdict of a claim made of ``checks`` (:func:`combine_parts` of theirs)."""
    return combine_parts([c.verdict for c in checks])


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
    rule : what must hold, in words (the checks combine by :data:`PARTS_RULE`)
    verdict : one of :data:`VERDICTS`
    values : the raw measured numbers (for glue and further checks)
    checks : the parts the verdict is computed from
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
    checks: tuple = ()
    measured_yet: bool = True

    def __post_init__(self):
        for name in ("key", "claim", "source", "chapter", "measured", "rule"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        check_choice("verdict", self.verdict, VERDICTS)
        if not isinstance(self.values, Mapping):
            raise TypeError(f"values must be a mapping, got {type(self.values).__name__}")
        checks = tuple(Check(**c) if isinstance(c, Mapping) else c for c in self.checks)  # from a stored record
        if not all(isinstance(c, Check) for c in checks):
            raise TypeError("checks must be Check records")
        object.__setattr__(self, "checks", checks)
        if not self.measured_yet and self.verdict != "inconclusive":
            raise ValueError("a claim that is not measured yet can only be inconclusive")

    @property
    def verdict_text(self) -> str:
        """The verdict, marked "(not yet measured)" for a claim no chapter measures yet."""
        return self.verdict if self.measured_yet else f"{self.verdict} (not yet measured)"


def judged(key: str, claim: str, source: str, chapter: str, measured: str, rule: str, checks: Sequence[Check],
           values: Mapping | None = None) -> Claim:
    """A :class:`Claim` whose verdict is :func:`all_of` its checks."""
    checks = tuple(checks)
    return Claim(key, claim, source, chapter, measured, rule, all_of(checks), dict(values or {}), checks)


def unmeasured_claim(key: str, claim: str, source: str, chapter: str) -> Claim:
    """A claim whose chapter does not measure it yet: listed, with the verdict "inconclusive"."""
    return Claim(key, claim, source, chapter, "not yet measured", "no measurement, so no rule can decide",
                 "inconclusive", {}, measured_yet=False)


def seed_mean(checks: Sequence[Check]) -> tuple[float, float]:
    """Mean of one check's value over the seeds' models, and its standard error.

    The standard error is sqrt(s^2 / K) over K seeds, where s^2 is the seeds' sample variance, but
    never less than the mean squared standard error of the draws within one seed (three seeds can
    agree by chance more closely than one seed's own draws allow).
    """
    values = np.array([c.value for c in checks], dtype=np.float64)
    ses = np.array([c.se for c in checks], dtype=np.float64)
    k = len(values)
    variance = max(float(values.var(ddof=1)) if k > 1 else 0.0, float(np.mean(ses**2)))
    return float(values.mean()), math.sqrt(variance / k)


def _across(versions: Sequence[Check]) -> tuple[Check, str]:
    """The same check on the models of every seed, pooled: the seeds' mean with its standard error
    (:func:`seed_mean`), and its verdict by :data:`ACROSS_SEEDS_RULE`."""
    first = versions[0]
    for c in versions[1:]:
        if (c.what, c.needs, c.holds_at, c.fails_at) != (first.what, first.needs, first.holds_at, first.fails_at):
            raise ValueError(f"check {first.what!r} differs between seeds: {c!r}")
    mean, se = seed_mean(versions)
    pooled = Check(first.what, mean, first.needs, first.holds_at, first.fails_at, se, N_SE)
    agree = {c.verdict for c in versions} == {pooled.verdict}
    return pooled, pooled.verdict if agree else "inconclusive"


def across_seeds(per_seed: Sequence[Sequence[Claim]], seeds: Sequence[int]) -> list[Claim]:
    """One claim per key from the claims measured on the models of each training seed.

    ``per_seed[i]`` holds the claims measured on the models trained from ``seeds[i]``, in the
    same order for every seed. Each check is pooled by :data:`ACROSS_SEEDS_RULE` and the claim's
    verdict follows :data:`PARTS_RULE`. The combined claim's ``checks`` hold the pooled checks (value:
    the seeds' mean; se: its standard error, :func:`seed_mean`); its ``values`` hold the seeds, each
    seed's verdict, measured text, values and check values, and each pooled check's verdict.
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
        values = {"seeds": seeds, "verdicts": [c.verdict for c in versions], "measured": [c.measured for c in versions],
                  "per_seed": [dict(c.values) for c in versions],
                  "per_seed_checks": [[c.value for c in v.checks] for v in versions]}
        measured_yet = all(c.measured_yet for c in versions)
        if not measured_yet or not first.checks:
            combined.append(Claim(first.key, first.claim, first.source, first.chapter, first.measured, first.rule,
                                  "inconclusive", values, measured_yet=measured_yet))
            continue
        if any(len(c.checks) != len(first.checks) for c in versions):
            raise ValueError(f"claim {first.key!r} has a different number of checks for different seeds")
        pooled = [_across([c.checks[j] for c in versions]) for j in range(len(first.checks))]
        verdicts = [v for _, v in pooled]
        values["check_verdicts"] = verdicts
        combined.append(Claim(first.key, first.claim, first.source, first.chapter, first.measured, first.rule,
                              combine_parts(verdicts), values, tuple(c for c, _ in pooled)))
    return combined
