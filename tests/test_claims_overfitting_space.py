"""The two statements of section 4 that no chapter tested, on constructed inputs whose verdict is known.

Sampling hinders overfitting (§4.1; :func:`vaelib.claims.claim_sampling_hinders_overfitting`) and a larger
beta allocates the space more efficiently (§4.2; :func:`vaelib.claims.claim_space_allocation`): each is
driven across its thresholds, and bad inputs are refused naming the value.
"""

import math

import numpy as np
import pytest

from vaelib import claims
from vaelib.measures import metrics


def _errors(n, gap, *, seed, scale=1.0):
    """Per-image errors of a model on n training and n test images: the same difficulties, the test ones
    (1 + gap) times larger, so the relative gap is exactly ``gap``."""
    h = np.random.default_rng(seed).gamma(4.0, 8.0, n) * scale
    return h, h * (1 + gap)


def _overfit(gap_ae, gap_vae, n=2000):
    ae_train, ae_test = _errors(n, gap_ae, seed=1)
    vae_train, vae_test = _errors(n, gap_vae, seed=1, scale=1.4)  # the VAE errs more on the same images
    return claims.claim_sampling_hinders_overfitting(ae_train, ae_test, vae_train, vae_test)


def test_overfitting_verdicts():
    held = _overfit(0.10, 0.02)
    assert held.verdict == "reproduced" and held.key == "overfit" and held.chapter == "12_claims"
    assert held.values["g_ae"] == pytest.approx(0.10) and held.values["g_vae"] == pytest.approx(0.02)
    assert held.checks[1].value == pytest.approx(0.08)
    # the VAE generalising clearly worse refutes the claim
    assert _overfit(0.02, 0.10).verdict == "not reproduced"
    # equal gaps: the difference is 0, inside its noise band
    assert _overfit(0.05, 0.05).verdict == "inconclusive"
    # an autoencoder that does not overfit leaves nothing to hinder: undecided, never refuted by that part
    no_overfit = _overfit(0.0, -0.05)
    assert [c.verdict for c in no_overfit.checks] == ["inconclusive", "reproduced"]
    assert no_overfit.verdict == "inconclusive"
    test_easier = _overfit(-0.3, -0.35)
    assert test_easier.checks[0].verdict == "inconclusive" and test_easier.checks[0].fails_at == claims.GAP_FLOOR


def test_overfitting_threshold_is_three_standard_errors_of_the_paired_difference():
    # independent training and test difficulties; the VAE errs 30% more on each image, give or take 20%
    rng = np.random.default_rng(5)
    ae_train, ae_test = rng.gamma(4.0, 8.0, 3000), rng.gamma(4.0, 8.0, 3000) * 1.1
    vae_train, vae_test = (e * 1.3 * rng.uniform(0.8, 1.2, 3000) for e in (ae_train, ae_test))

    def claim(shift):  # the VAE's test errors scaled by (1 - shift): its gap falls by shift * (1 + g_VAE)
        return claims.claim_sampling_hinders_overfitting(ae_train, ae_test, vae_train, vae_test * (1 - shift))

    base = claim(0.0)
    diff, se = base.checks[1].value, base.checks[1].se
    assert (diff, se) == metrics.relative_gap_difference(ae_train, ae_test, vae_train, vae_test)
    assert base.checks[1].n_se == claims.N_SE and abs(diff) < 3 * se
    for n_se, expected in ((2.9, "inconclusive"), (3.1, "reproduced")):
        c = claim((n_se * se - diff) / (1 + base.values["g_vae"]))
        # the shift scales the VAE's per-image terms by (1 - shift), a few per cent: the s.e. moves by less than 2%
        assert c.checks[1].value / se == pytest.approx(n_se, rel=1e-9)
        assert c.checks[1].se == pytest.approx(se, rel=0.02)
        assert c.checks[1].verdict == expected
    assert c.checks[0].verdict == "reproduced"  # the autoencoder's 10% gap is many s.e. clear


def test_bad_overfitting_inputs():
    train, test = _errors(10, 0.1, seed=0)
    with pytest.raises(ValueError, match="ae_train and vae_train must hold one error per image of the same images, "
                                         "got 10, 9 errors"):
        claims.claim_sampling_hinders_overfitting(train, test, train[:9], test)
    with pytest.raises(ValueError, match="ae_test must hold non-negative errors, got values down to -"):
        claims.claim_sampling_hinders_overfitting(train, -test, train, test)
    with pytest.raises(ValueError, match=r"vae_train must be a 1-D array of at least 2 finite per-image values"):
        claims.claim_sampling_hinders_overfitting(train, test, 5.0, test)
    with pytest.raises(ValueError, match=r"vae_test must be a 1-D array of at least 2 finite"):
        claims.claim_sampling_hinders_overfitting(train, test, train, np.full(10, np.nan))
    with pytest.raises(ValueError, match="ae_train must have a positive mean"):
        claims.claim_sampling_hinders_overfitting(np.zeros(10), test, train, test)


def _marks(n, covered, seed):
    """n points of which ``covered`` (a count) are covered, in a seeded order."""
    marks = np.zeros(n, dtype=bool)
    marks[np.random.default_rng(seed).permutation(n)[:covered]] = True
    return marks


def test_space_allocation_verdicts():
    rising = {0.0: _marks(5000, 3000, 0), 1.0: _marks(5000, 4000, 1), 5.0: _marks(5000, 4800, 2)}
    held = claims.claim_space_allocation({1: rising, 20: rising})
    assert held.verdict == "reproduced" and held.key == "space" and len(held.checks) == 4
    assert held.values["coverage"] == {1: {0.0: 0.6, 1.0: 0.8, 5.0: 0.96}, 20: {0.0: 0.6, 1.0: 0.8, 5.0: 0.96}}
    # one step down at the last epoch refutes it
    falling = {**rising, 5.0: _marks(5000, 3500, 3)}
    assert claims.claim_space_allocation({1: rising, 20: falling}).verdict == "not reproduced"
    # covering the same points (a flat step) is undecided
    flat = {**rising, 5.0: rising[1.0]}
    assert claims.claim_space_allocation({1: rising, 20: flat}).verdict == "inconclusive"


def test_space_allocation_threshold_is_three_paired_standard_errors():
    n = 10_000
    low = _marks(n, 8000, 0)
    for extra, expected in ((8, "inconclusive"), (10, "reproduced")):
        high = low.copy()
        high[np.flatnonzero(~low)[:extra]] = True  # the same points covered, and `extra` more
        check = claims.claim_space_allocation({1: {0.0: low, 1.0: high}}).checks[0]
        # the paired differences are 1 on `extra` points and 0 elsewhere: the step is about sqrt(extra) s.e.
        p = extra / n
        assert check.value == pytest.approx(p) and check.se == pytest.approx(math.sqrt(p * (1 - p) / (n - 1)))
        assert check.n_se == claims.N_SE and check.verdict == expected  # 8 more: 2.83 s.e.; 10 more: 3.16 s.e.


def test_measure_space_coverage_of_prior_like_and_other_clouds():
    rng = np.random.default_rng(6)
    z = rng.standard_normal((5000, 2))
    codes = {(0.0, 1): 12 * z, (1.0, 1): z / 3, (5.0, 1): rng.standard_normal((5000, 2))}
    measured = claims.measure_space_coverage(codes, seed=0, n_points=2000)
    covered = measured["covered"]
    assert measured["points"].shape == (2000, 2) and measured["radius"].shape == (2000,)
    shares = {key: marks.mean() for key, marks in covered.items()}
    # a cloud of 5,000 prior draws covers 0.99 of the region (binomial s.e. over 2,000 points: 0.002)
    assert shares[5.0, 1] == pytest.approx(0.99, abs=0.01) and shares[0.0, 1] < shares[1.0, 1] < 0.5
    # the same seed, the same points, yardstick and marks
    again = claims.measure_space_coverage(codes, seed=0, n_points=2000)
    np.testing.assert_array_equal(again["radius"], measured["radius"])
    assert all(np.array_equal(again["covered"][k], covered[k]) for k in codes)
    claim = claims.claim_space_allocation({1: {b: covered[b, 1] for b in (0.0, 1.0, 5.0)}})
    assert claim.verdict == "reproduced"
    backwards = claims.claim_space_allocation({1: {0.0: covered[5.0, 1], 1.0: covered[1.0, 1]}})
    assert backwards.verdict == "not reproduced"


def test_bad_space_allocation_inputs():
    marks = _marks(100, 50, 0)
    with pytest.raises(TypeError, match="covered must be a non-empty mapping from epoch"):
        claims.claim_space_allocation({})
    with pytest.raises(ValueError, match=r"covered\[1\] must hold at least 2 values of beta"):
        claims.claim_space_allocation({1: {0.0: marks}})
    with pytest.raises(ValueError, match=r"covered\[1\]\[1\] must be a 1-D array of at least 2 covered \(1\)"):
        claims.claim_space_allocation({1: {0.0: marks, 1.0: marks * 0.5}})
    with pytest.raises(ValueError, match=r"covered\[1\] must mark the same points for every beta"):
        claims.claim_space_allocation({1: {0.0: marks, 1.0: marks[:90]}})
    with pytest.raises(ValueError, match="epoch must be >= 1"):
        claims.claim_space_allocation({0: {0.0: marks, 1.0: marks}})
    with pytest.raises(ValueError, match="beta must be >= 0"):
        claims.claim_space_allocation({1: {-1.0: marks, 1.0: marks}})
    with pytest.raises(ValueError, match="every cloud of codes must have the same shape"):
        claims.measure_space_coverage({"a": np.zeros((10, 2)), "b": np.zeros((11, 2))})
    with pytest.raises(TypeError, match="codes must be a non-empty mapping"):
        claims.measure_space_coverage(np.zeros((10, 2)))
    with pytest.raises(ValueError, match=r"codes\['a'\] contains NaN"):
        claims.measure_space_coverage({"a": np.full((10, 2), np.nan)})
    with pytest.raises(ValueError, match="level must be < 1"):
        claims.measure_space_coverage({"a": np.zeros((10, 2))}, level=1.0)
