"""The claims of vaelib.claims on constructed inputs whose verdict is known.

Each claim is driven across its thresholds: the verdict must flip exactly where the docstring says, and
the parts combine by the one rule for parts (every part holds: reproduced; some part fails: not reproduced).
"""

import math

import numpy as np
import pytest

from vaelib import claims
from vaelib.claims import ae_vs_vae, beta_effects, sample_quality


def space(D=0.05, in95=0.95, far=0.0, tv=0.05, cov=((1.0, 0.0), (0.0, 1.0))):
    return {"D": D, "in95": in95, "far": far, "tv": tv, "cov": np.array(cov)}


def test_claim_record_validates_and_marks_unmeasured():
    record = claims.unmeasured_claim("travel", "a claim", "§4.2, figure 14", "10_latent_travel")
    assert record.verdict == "inconclusive" and not record.measured_yet
    assert record.verdict_text == "inconclusive (not yet measured)"
    with pytest.raises(ValueError, match="verdict must be one of"):
        claims.Claim("k", "c", "s", "ch", "m", "r", "maybe")
    with pytest.raises(ValueError, match="claim must be a non-empty string"):
        claims.Claim("k", " ", "s", "ch", "m", "r", "reproduced")
    with pytest.raises(ValueError, match="only be inconclusive"):
        claims.Claim("k", "c", "s", "ch", "m", "r", "reproduced", measured_yet=False)


def test_closer_to_prior_needs_both_measures():
    ae = space(D=2.0, in95=0.3)
    assert ae_vs_vae.claim_closer_to_prior(ae, space(D=0.1, in95=0.9)).verdict == "reproduced"
    assert ae_vs_vae.claim_closer_to_prior(ae, space(D=0.1, in95=0.2)).verdict == "not reproduced"  # one part fails
    assert ae_vs_vae.claim_closer_to_prior(ae, space(D=3.0, in95=0.2)).verdict == "not reproduced"


def test_almost_standard_normal_flips_at_threshold():
    below = claims.ALMOST_NORMAL_MAX_NATS * 0.999
    above = claims.ALMOST_NORMAL_MAX_NATS * 1.001
    assert ae_vs_vae.claim_almost_standard_normal(space(D=below)).verdict == "reproduced"
    assert ae_vs_vae.claim_almost_standard_normal(space(D=above)).verdict == "not reproduced"


def test_narrower_than_prior_counts_axes():
    t = claims.NARROWER_MAX_VARIANCE
    assert ae_vs_vae.claim_narrower_than_prior(space(cov=[[t - 0.01, 0], [0, t - 0.01]])).verdict == "reproduced"
    assert ae_vs_vae.claim_narrower_than_prior(space(cov=[[t - 0.01, 0], [0, t + 0.01]])).verdict == "not reproduced"
    assert ae_vs_vae.claim_narrower_than_prior(space(cov=[[1.0, 0], [0, 1.1]])).verdict == "not reproduced"


def test_repeated_encodings_needs_different_and_slight():
    grey = claims.GREY_LEVEL
    assert ae_vs_vae.claim_repeated_encodings(2 * grey, 0.3).verdict == "reproduced"
    assert ae_vs_vae.claim_repeated_encodings(0.5 * grey, 0.3).verdict == "not reproduced"   # identical outputs
    assert ae_vs_vae.claim_repeated_encodings(2 * grey, 1.01 * claims.SLIGHT_MAX_RATIO).verdict == "not reproduced"
    assert ae_vs_vae.claim_repeated_encodings(2 * grey, claims.SLIGHT_MAX_RATIO).verdict == "inconclusive"  # on it


def test_prior_draws_far_uses_binomial_standard_errors():
    n = 5000
    se = math.sqrt(2 * 0.1 * 0.9 / n)  # at equal fractions 0.1
    assert ae_vs_vae.claim_prior_draws_far(0.1 + 4 * se, 0.1, n).verdict == "reproduced"
    assert ae_vs_vae.claim_prior_draws_far(0.1 + 1 * se, 0.1, n).verdict == "inconclusive"
    assert ae_vs_vae.claim_prior_draws_far(0.1, 0.1 + 4 * se, n).verdict == "not reproduced"
    # both fractions 0: no standard error and no difference
    assert ae_vs_vae.claim_prior_draws_far(0.0, 0.0, n).verdict == "inconclusive"


def test_prior_draws_represent():
    assert ae_vs_vae.claim_prior_draws_represent(0.5, 0.05).verdict == "reproduced"
    assert ae_vs_vae.claim_prior_draws_represent(0.15, 0.05).verdict == "inconclusive"
    assert ae_vs_vae.claim_prior_draws_represent(0.05, 0.06).verdict == "not reproduced"


def test_ae_vs_vae_claims_from_measures():
    measures = {"spaces": {"ae": space(D=3.0, in95=0.2, far=0.3, tv=0.5), "vae": space(D=0.02, in95=0.94, far=0.01)},
                "spread": {"max_pixel_std": 0.05}, "within_ratio": 0.2, "z_prior": np.zeros((5000, 2))}
    records = claims.ae_vs_vae_claims(measures)
    assert [r.key for r in records] == ["closer", "normal", "narrower", "repeat", "far", "tv"]
    assert [r.verdict for r in records] == ["reproduced", "reproduced", "not reproduced", "reproduced",
                                            "reproduced", "reproduced"]


def test_epoch1_shape_orders():
    d = {0.0: 5.0, 1.0: 1.0, 5.0: 0.1}
    r = {0.0: 0.2, 1.0: 0.5, 5.0: 0.9}
    assert beta_effects.claim_epoch1_shape(d, r).verdict == "reproduced"
    assert beta_effects.claim_epoch1_shape(d, {0.0: 0.9, 1.0: 0.5, 5.0: 0.2}).verdict == "not reproduced"
    assert beta_effects.claim_epoch1_shape(d, {0.0: 0.2, 1.0: 0.5, 5.0: 0.5}).verdict == "inconclusive"  # no step
    assert beta_effects.claim_epoch1_shape({0.0: 0.1, 1.0: 1.0, 5.0: 5.0}, {0.0: 0.9, 1.0: 0.5, 5.0: 0.2}).verdict == \
        "not reproduced"


def test_epoch1_reconstructions_alike_flips_at_ten_percent():
    assert beta_effects.claim_epoch1_reconstructions_alike({0.0: 40.0, 1.0: 43.9}).verdict == "reproduced"
    assert beta_effects.claim_epoch1_reconstructions_alike({0.0: 40.0, 1.0: 44.1}).verdict == "not reproduced"


def test_separation_improves_per_beta():
    n = 10_000
    up = [0.5, 0.7, 0.8, 0.85]
    assert beta_effects.claim_separation_improves({0.0: up, 1.0: up}, n).verdict == "reproduced"
    drop = [0.5, 0.8, 0.7, 0.85]  # a step down by far more than 3 s.e.
    assert beta_effects.claim_separation_improves({0.0: up, 1.0: drop}, n).verdict == "not reproduced"
    flat = [0.5, 0.5, 0.5, 0.5]  # no gain, no fall: within the noise
    assert beta_effects.claim_separation_improves({0.0: up, 1.0: flat}, n).verdict == "inconclusive"
    worse = [0.5, 0.45, 0.4, 0.3]
    assert beta_effects.claim_separation_improves({0.0: worse, 1.0: up}, n).verdict == "not reproduced"


def test_little_change_after_epoch5():
    last = {0.0: 30.0, 1.0: 35.0}
    assert beta_effects.claim_little_change_after_epoch5({0.0: 32.0, 1.0: 36.0}, last).verdict == "reproduced"
    assert beta_effects.claim_little_change_after_epoch5({0.0: 40.0, 1.0: 36.0}, last).verdict == "not reproduced"
    assert beta_effects.claim_little_change_after_epoch5({0.0: 40.0, 1.0: 45.0}, last).verdict == "not reproduced"
    assert beta_effects.claim_little_change_after_epoch5(None, last).verdict == "inconclusive"


def test_extreme_beta_inadequate():
    rng = np.random.default_rng(0)
    base = 30 + rng.standard_normal(1000)
    mean_image = 50.0
    collapsed = 49 + rng.standard_normal(1000)     # recovers 1/20 of beta = 1's gain, far worse
    good = base + 0.01 * rng.standard_normal(1000)  # as good as beta = 1
    assert beta_effects.claim_extreme_beta_inadequate(base, {200.0: collapsed, 500.0: collapsed}, mean_image).verdict == \
        "reproduced"
    assert beta_effects.claim_extreme_beta_inadequate(base, {200.0: good, 500.0: collapsed}, mean_image).verdict == \
        "not reproduced"
    half = 40 + rng.standard_normal(1000)  # far worse than beta = 1, but recovers exactly half: R at its threshold
    record = beta_effects.claim_extreme_beta_inadequate(base, {200.0: collapsed, 500.0: half}, mean_image)
    assert [c.verdict for c in record.checks][:3] == ["reproduced"] * 3
    assert beta_effects.claim_extreme_beta_inadequate(base, {200.0: good, 500.0: good}, mean_image).verdict == \
        "not reproduced"


def test_beta0_samples_farthest():
    rng = np.random.default_rng(1)
    near, far = 20 + rng.standard_normal(200), 30 + rng.standard_normal(200)
    assert beta_effects.claim_beta0_samples_farthest({0.0: far, 1.0: near, 5.0: near}).verdict == "reproduced"
    assert beta_effects.claim_beta0_samples_farthest({0.0: far, 1.0: near, 5.0: far}).verdict == "inconclusive"
    assert beta_effects.claim_beta0_samples_farthest({0.0: near, 1.0: far, 5.0: far}).verdict == "not reproduced"


def test_large_beta_near_prior():
    assert beta_effects.claim_large_beta_near_prior(0.01, 0.1, 0.2, 0.8, 10_000).verdict == "reproduced"
    assert beta_effects.claim_large_beta_near_prior(0.01, 0.1, 0.8, 0.8, 10_000).verdict == "inconclusive"
    assert beta_effects.claim_large_beta_near_prior(0.5, 0.1, 0.8, 0.8, 10_000).verdict == "not reproduced"


def history(rec, kl, beta):
    rec, kl = np.asarray(rec, float), np.asarray(kl, float)
    return {f"{s}_{t}": list(v) for s in ("train", "test")
            for t, v in (("reconstruction", rec), ("kl", kl), ("loss", rec + beta * kl))}


def test_kl_share_dynamics_all_four_statements():
    good = history([60.0, 40.0, 30.0], [0.3, 2.0, 4.0], 1.0)  # share 0.5% -> 11.8%
    assert claims.claim_kl_share_dynamics(good, 1.0).verdict == "reproduced"
    high_start = history([60.0, 40.0, 30.0], [0.7, 2.0, 4.0], 1.0)  # share 1.15% at first
    assert claims.claim_kl_share_dynamics(high_start, 1.0).verdict == "not reproduced"
    collapse = history([60.0, 55.0, 54.0], [0.3, 0.01, 0.001], 1.0)
    record = claims.claim_kl_share_dynamics(collapse, 1.0)
    failed = [c.what for c in record.checks if c.verdict == "not reproduced"]
    assert record.verdict == "not reproduced" and failed == ["K, last minus first epoch", "s, last minus first epoch"]


def test_large_beta_kl_increases():
    assert claims.claim_large_beta_kl_increases(history([60, 55], [0.1, 0.2], 50.0)).verdict == "reproduced"
    assert claims.claim_large_beta_kl_increases(history([60, 55], [0.2, 0.1], 50.0)).verdict == "not reproduced"


def scores(samples, recon, se=0.005):
    return {b: {"prior samples": {"ratio": s, "ratio_se": se}, "reconstructions": {"ratio": r, "ratio_se": se}}
            for b, s, r in zip((0.0, 1.0, 5.0, 50.0), samples, recon)}


def test_sample_quality_claims():
    report_like = scores([0.80, 0.90, 0.95, 1.10], [0.97, 0.85, 0.85, 0.80])
    assert [c.verdict for c in claims.sample_quality_claims(report_like)] == ["reproduced"] * 4
    reversed_ = scores([1.00, 0.95, 0.90, 0.80], [1.02, 0.99, 0.95, 0.70])
    assert [c.verdict for c in claims.sample_quality_claims(reversed_)] == ["not reproduced"] * 4
    assert sample_quality.claim_samples_beat_reconstructions(report_like).verdict == "reproduced"
    assert sample_quality.claim_samples_beat_reconstructions(reversed_).verdict == "not reproduced"


def test_beta0_samples_match_reconstructions_flips_at_gap():
    gap = claims.NEAR_MAX_GAP
    assert sample_quality.claim_beta0_samples_match_reconstructions(scores([0.9, 1, 1, 1], [0.9 + 0.9 * gap, 1, 1, 1])).verdict \
        == "reproduced"
    assert sample_quality.claim_beta0_samples_match_reconstructions(scores([0.9, 1, 1, 1], [0.9 + 1.1 * gap, 1, 1, 1])).verdict \
        == "not reproduced"


def test_se_rules_are_inconclusive_within_noise():
    noisy = scores([0.90, 0.905, 0.91, 1.005], [0.995, 0.9, 0.9, 0.9], se=0.01)
    verdicts = [c.verdict for c in claims.sample_quality_claims(noisy)]
    assert verdicts == ["inconclusive"] * 4


def test_verdicts_across_seeds_need_agreement_and_a_clear_mean():
    agree = scores([0.80, 0.90, 0.95, 1.10], [0.97, 0.88, 0.85, 0.80])
    flipped = scores([0.95, 0.90, 0.85, 0.80], [0.97, 0.88, 0.85, 0.80])  # the samples' order reversed
    per_seed = [claims.sample_quality_claims(s) for s in (agree, agree, flipped)]
    combined = claims.across_seeds(per_seed, [0, 1, 2])
    assert [c.key for c in combined] == [c.key for c in per_seed[0]]
    for i, c in enumerate(combined):
        assert c.values["verdicts"] == [seed_claims[i].verdict for seed_claims in per_seed]
        assert c.values["seeds"] == [0, 1, 2] and c.measured == per_seed[0][i].measured
        assert c.values["per_seed_checks"] == [[k.value for k in seed_claims[i].checks] for seed_claims in per_seed]
    improve = next(i for i, c in enumerate(combined) if c.key == "improve")
    assert [s[improve].verdict for s in per_seed] == ["reproduced", "reproduced", "not reproduced"]
    assert combined[improve].verdict == "inconclusive"
    assert claims.across_seeds([per_seed[0]] * 3, [0, 1, 2])[improve].verdict == "reproduced"
    with pytest.raises(ValueError, match="one list of claims per seed"):
        claims.across_seeds(per_seed[:2], [0, 1, 2])
    with pytest.raises(ValueError, match="distinct"):
        claims.across_seeds(per_seed, [0, 0, 2])
    with pytest.raises(ValueError, match="differ from seed 0's"):
        claims.across_seeds([per_seed[0], per_seed[1][::-1], per_seed[2]], [0, 1, 2])


def _normal(d):
    return [ae_vs_vae.claim_almost_standard_normal(space(D=d))]


def test_seeds_that_agree_still_need_their_mean_clear_of_the_threshold():
    t = claims.ALMOST_NORMAL_MAX_NATS
    (clear,) = claims.across_seeds([_normal(0.02), _normal(0.03), _normal(0.025)], [0, 1, 2])
    assert clear.verdict == "reproduced" and clear.checks[0].value == pytest.approx(0.025)
    assert clear.checks[0].se == pytest.approx(0.005 / math.sqrt(3))  # the seeds' standard deviation / sqrt(3)
    # every seed below 0.1, but spread so widely that the mean (0.0633) is within 3 s.e. (0.0296 each) of it
    (spread,) = claims.across_seeds([_normal(0.01), _normal(0.09), _normal(0.09)], [0, 1, 2])
    assert spread.values["verdicts"] == ["reproduced"] * 3 and spread.verdict == "inconclusive"
    # every seed above: not reproduced when the mean is clear, undecided when it is not
    assert claims.across_seeds([_normal(0.3), _normal(0.31), _normal(0.32)], [0, 1, 2])[0].verdict == "not reproduced"
    assert claims.across_seeds([_normal(0.11), _normal(0.3), _normal(0.5)], [0, 1, 2])[0].verdict == "inconclusive"
    # seeds that disagree: undecided however far the mean is
    (split,) = claims.across_seeds([_normal(0.0), _normal(0.0), _normal(t * 1.01)], [0, 1, 2])
    assert split.verdict == "inconclusive" and split.values["check_verdicts"] == ["inconclusive"]


def test_the_seeds_noise_is_never_taken_below_the_draws_noise():
    n = 5000
    se = math.sqrt(2 * 0.1 * 0.9 / n)
    far = [[ae_vs_vae.claim_prior_draws_far(0.1 + 3.5 * se, 0.1, n)] for _ in range(3)]  # identical seeds
    (pooled,) = claims.across_seeds(far, [0, 1, 2])
    assert pooled.checks[0].se == pytest.approx(far[0][0].checks[0].se / math.sqrt(3))
    assert pooled.verdict == "reproduced"


def test_parts_rule():
    assert claims.combine_parts(["reproduced", "reproduced"]) == "reproduced"
    assert claims.combine_parts(["reproduced", "inconclusive"]) == "inconclusive"
    assert claims.combine_parts(["inconclusive", "not reproduced"]) == "not reproduced"
    with pytest.raises(ValueError, match="verdict must be one of"):
        claims.combine_parts(["yes"])
    with pytest.raises(ValueError, match="at least one part"):
        claims.combine_parts([])


@pytest.mark.parametrize("value, se, needs, holds_at, fails_at, expected", [
    (0.9, 0.01, "above", 0.8, 0.5, "reproduced"), (0.3, 0.01, "above", 0.8, 0.5, "not reproduced"),
    (0.6, 0.01, "above", 0.8, 0.5, "inconclusive"), (0.79, 0.01, "above", 0.8, 0.5, "inconclusive"),
    (0.5, 0.05, "below", 1.0, 2.0, "reproduced"), (2.5, 0.05, "below", 1.0, 2.0, "not reproduced"),
    (1.5, 0.05, "below", 1.0, 2.0, "inconclusive"), (0.1, 0.0, "above", 0.0, None, "reproduced"),
    (0.0, 0.0, "above", 0.0, None, "inconclusive"), (float("nan"), 0.0, "above", 0.0, None, "inconclusive"),
])
def test_check_verdict(value, se, needs, holds_at, fails_at, expected):
    check = claims.Check("x", value, needs, holds_at, fails_at, se=se, n_se=3.0 if se else 0.0)
    assert check.verdict == expected


def test_check_refuses_bad_thresholds():
    with pytest.raises(ValueError, match="needs must be one of"):
        claims.Check("x", 1.0, "up", 0.5)
    with pytest.raises(ValueError, match="failing side"):
        claims.Check("x", 1.0, "above", 0.5, 0.8)
    with pytest.raises(TypeError, match="value must be a real number"):
        claims.Check("x", "big", "above", 0.5)
    with pytest.raises(ValueError, match="se must be >= 0"):
        claims.Check("x", 1.0, "above", 0.5, se=-1.0)
    assert claims.Check("x", 1.0, "above", 0.5, 0.2, se=0.1, n_se=3).threshold == "> 0.5 by 3 s.e.; fails < 0.2"


def test_tables_and_counts():
    records = claims.sample_quality_claims(scores([0.80, 0.90, 0.95, 1.10], [0.97, 0.88, 0.85, 0.80]))
    records.append(claims.unmeasured_claim("laplace", "a | b", "§4, closing paragraph", "11_other_latents"))
    combined = claims.across_seeds([records, records, records], [0, 7, 9])
    table = claims.claims_table(combined)
    legend, blank, header, *rows = table.splitlines()
    assert legend.startswith("Each seed's verdict, for seeds 0, 7, 9 in that order: ✓ reproduced") and blank == ""
    assert header.endswith("| what must hold | seeds | verdict |") and len(rows) == len(records) + 1
    assert "a \\| b" in table
    assert rows[1].endswith("| ✓ ✓ ✓ | **reproduced** |")
    assert rows[-1].endswith("| ? ? ? | **inconclusive (not yet measured)** |")
    assert records[0].rule in rows[1]
    measured = claims.measurements_table(combined).splitlines()
    n_checks = sum(len(r.checks) for r in records) + 1  # the unmeasured claim has a row without checks
    assert len(measured) == 4 + n_checks
    first = records[0].checks[0]
    assert measured[4].startswith(f"| 1 | {first.what} | {first.value:.3g} | {first.value:.3g} | {first.value:.3g} | ")
    assert measured[4].endswith(f"| {first.threshold} | ✓ |")
    assert claims.verdict_counts(combined) == {"reproduced": 4, "not reproduced": 0, "inconclusive": 1,
                                               "not yet measured": 1}
    with pytest.raises(ValueError, match="from across_seeds"):
        claims.claims_table(records)


def test_figure14_claims_give_seven_verdicts():
    rng = np.random.default_rng(7)
    judged = claims.figure14_claims(0.9, 0.3, 1000, 1.2, 0.03, agreement_5=rng.uniform(0.3, 0.6, 100),
                                    blended_5=np.array([True, False] * 20), midpoint_gap=rng.normal(0.2, 0.1, 100),
                                    confidence_gap=rng.normal(0.2, 0.1, 100))
    assert len(judged) == 7 and len({c.key for c in judged}) == 7
    verdicts = [c.verdict for c in judged]
    assert verdicts[:4] == ["not reproduced", "not reproduced", "not reproduced", "inconclusive"]
    assert verdicts[6] == "reproduced"
    few = claims.figure14_claims(0.2, 0.8, 1000, 0.5, 0.03, agreement_5=np.full(50, 0.95),
                                 blended_5=np.ones(5, dtype=bool), midpoint_gap=rng.normal(0.2, 0.1, 50),
                                 confidence_gap=rng.normal(0.0, 0.1, 50))
    assert [c.verdict for c in few][:6] == ["reproduced"] * 5 + ["inconclusive"]  # too few direct paths
    assert few[6].verdict == "inconclusive"  # one measure says yes, the other cannot tell


def test_bad_figure14_inputs():
    with pytest.raises(ValueError, match="recognised_0 must be <= 1"):
        claims.figure14_claims(1.5, 0.3, 100, 1.0, 0.1, np.ones(3), np.ones(3, bool), np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="blended_5 must be a 1-D boolean array"):
        claims.figure14_claims(0.5, 0.3, 100, 1.0, 0.1, np.ones(3), np.ones(3), np.ones(3), np.ones(3))


def test_bad_threshold_inputs():
    with pytest.raises(ValueError, match="D_N|d_first"):
        beta_effects.claim_epoch1_shape({0.0: -1.0, 1.0: 0.5}, {0.0: 0.5, 1.0: 0.6})
    with pytest.raises(ValueError, match="same values of beta"):
        beta_effects.claim_epoch1_shape({0.0: 1.0, 1.0: 0.5}, {0.0: 0.5, 5.0: 0.6})
    with pytest.raises(ValueError, match="at least 2 values of beta"):
        beta_effects.claim_epoch1_shape({0.0: 1.0}, {0.0: 0.5})
    with pytest.raises(ValueError, match="beta must be >= 0"):
        beta_effects.claim_epoch1_reconstructions_alike({-1.0: 40.0, 1.0: 41.0})
    with pytest.raises(ValueError, match=r"ae_far must be <= 1"):
        ae_vs_vae.claim_prior_draws_far(1.5, 0.1, 100)
    with pytest.raises(TypeError, match="n_prior must be an integer"):
        ae_vs_vae.claim_prior_draws_far(0.5, 0.1, 100.0)
    with pytest.raises(TypeError, match="max_pixel_std must be a real number"):
        ae_vs_vae.claim_repeated_encodings("big", 0.1)


def test_bad_structures():
    with pytest.raises(KeyError, match="lacks"):
        ae_vs_vae.claim_closer_to_prior({"D": 1.0}, space())
    with pytest.raises(TypeError, match="mapping"):
        ae_vs_vae.claim_almost_standard_normal([0.1])
    with pytest.raises(ValueError, match="must include beta = 0"):
        beta_effects.claim_beta0_samples_farthest({1.0: np.ones(5), 5.0: np.ones(5)})
    with pytest.raises(ValueError, match="one error per image"):
        beta_effects.claim_extreme_beta_inadequate(np.ones(10), {200.0: np.ones(9)}, 50.0)
    with pytest.raises(ValueError, match="finite"):
        beta_effects.claim_beta0_samples_farthest({0.0: np.array([1.0, np.nan]), 1.0: np.ones(5)})
    with pytest.raises(ValueError, match="no beta = 50"):
        sample_quality.claim_high_beta_samples_beat_originals(scores([0.9, 1.0], [1.0, 1.0]), 50.0)
    with pytest.raises(ValueError, match="share must be one of"):
        claims.claim_kl_share_dynamics(history([60, 55], [0.1, 0.2], 1.0), 1.0, share="total")
    with pytest.raises(ValueError, match="loss is not reconstruction"):
        claims.claim_kl_share_dynamics(history([60, 55], [0.1, 0.2], 1.0), 5.0)
    with pytest.raises(TypeError, match="Claim records"):
        claims.claims_table(["not a claim"])
    with pytest.raises(TypeError, match="Claim records"):
        claims.measurements_table([])
    with pytest.raises(ValueError, match="needs accuracies at two"):
        beta_effects.claim_separation_improves({0.0: [0.5]}, 100)


def test_verdict_bars_counts_every_claim():
    import matplotlib
    matplotlib.use("Agg")
    from vaelib.plots.claims import verdict_bars

    records = claims.sample_quality_claims(scores([0.80, 0.90, 0.95, 1.10], [0.97, 0.85, 0.85, 0.80]))
    records.append(claims.unmeasured_claim("laplace", "a claim", "§4, closing paragraph", "11_other_latents"))
    fig = verdict_bars(records, title="t")
    widths = sum(patch.get_width() for patch in fig.axes[0].patches)
    assert widths == len(records)
    with pytest.raises(TypeError, match="Claim records"):
        verdict_bars([])


def test_laplace_same_results_within_seed_spread():
    refs = [{"test_loss": 40.0 + d, "knn_accuracy": 0.8 + d / 100, "prior_ratio": 0.9, "prior_class_entropy": 3.0 + d / 10}
            for d in (-1.0, 0.0, 1.0)]  # seed-to-seed sd: 1 for the loss, 0.01 for the accuracy
    measures = ("test_loss", "knn_accuracy")
    inside = {"test_loss": 41.9, "knn_accuracy": 0.8}       # 1.9 sd from the mean (allowed 2)
    outside = {"test_loss": 42.1, "knn_accuracy": 0.8}      # 2.1 sd
    assert claims.claim_laplace_same_results(inside, refs, measures).verdict == "reproduced"
    assert claims.claim_laplace_same_results(outside, refs, measures).verdict == "not reproduced"
    with pytest.raises(TypeError, match="at least 2"):
        claims.claim_laplace_same_results(inside, refs[:1], measures)


def test_within_seed_spread_flips_at_the_allowed_distance():
    references = [1.0, 2.0, 3.0]  # mean 2, sd 1: allowed distance 2
    assert claims.within_seed_spread(3.9, references)[0]
    assert not claims.within_seed_spread(4.1, references)[0]
    inside, distance, allowed = claims.within_seed_spread(0.5, references, factor=1.0)
    assert (inside, distance, allowed) == (False, 1.5, 1.0)


def test_bad_reference_with_one_seed():
    with pytest.raises(ValueError, match=r"reference_values needs at least 2 seeds .* got 1"):
        claims.within_seed_spread(1.0, [1.0])


def test_laplace_claim_refuses_missing_measures_and_nan():
    with pytest.raises(ValueError, match=r"measures \['c'\] are missing"):
        claims.claim_laplace_same_results({"a": 1.0}, [{"a": 1.0}, {"a": 2.0}], ["c"])
    with pytest.raises(ValueError, match=r"value must be finite, got nan"):
        claims.within_seed_spread(float("nan"), [1.0, 2.0])


def test_uniform_usable():
    assert claims.claim_uniform_usable({"active_dims": 2.0, "knn_accuracy": 0.7}).verdict == "reproduced"
    assert claims.claim_uniform_usable({"active_dims": 0.0, "knn_accuracy": 0.7}).verdict == "not reproduced"
    assert claims.claim_uniform_usable({"active_dims": 1.0, "knn_accuracy": 0.99 * claims.UNIFORM_MIN_KNN}).verdict == \
        "not reproduced"
    with pytest.raises(ValueError, match="knn_accuracy'\\] must be <= 1"):
        claims.claim_uniform_usable({"active_dims": 1.0, "knn_accuracy": 1.5})


def _beta_effect_inputs():
    from vaelib.data import to_unit_interval
    from vaelib.models.training import TrainConfig, TrainResult

    def result(beta):
        config = TrainConfig(beta=beta, hidden_units=(8,), epochs=2, snapshot_epochs=(1,), seed=int(beta))
        weights = config.build_model().get_weights()
        return TrainResult(config, {}, {1: weights, 2: weights}, 0.0, from_cache=True)

    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(300, 784), dtype=np.uint8)
    x_test, y_train, y_test = to_unit_interval(pixels[:60]), rng.integers(0, 10, 300), rng.integers(0, 10, 60)
    results = {b: result(b) for b in (0.0, 1.0, 5.0, 50.0)}
    options = dict(betas=[0.0, 1.0], beta_large=5.0, betas_extreme=[50.0], n_show=4, n_prior=10, n_draws=1,
                   n_knn_reference=100)
    return results, pixels, y_train, x_test, y_test, options


def test_measure_beta_effects_gives_the_same_numbers_from_uint8_pixels():
    from vaelib.data import to_unit_interval

    results, pixels, y_train, x_test, y_test, options = _beta_effect_inputs()
    options["use_cache"] = False  # both measured: pixels and their floats give one cache key
    from_pixels = claims.measure_beta_effects(results, pixels, y_train, x_test, y_test, **options)
    from_floats = claims.measure_beta_effects(results, to_unit_interval(pixels), y_train, x_test, y_test, **options)
    assert from_pixels["rows"] == from_floats["rows"]
    for key in ("nn_prior", "nn_recon"):
        for beta in (0.0, 1.0):
            np.testing.assert_array_equal(from_pixels[key][beta], from_floats[key][beta])
    # the mean image: exact integer sums / 255 against float32 pixels summed in float64
    assert from_pixels["error_mean_image"] == pytest.approx(from_floats["error_mean_image"], rel=1e-6)


def _assert_same_measures(a, b):
    assert a.keys() == b.keys() and a["rows"] == b["rows"] and list(a["rows"]) == list(b["rows"])
    assert a["snapshot_epochs"] == b["snapshot_epochs"] and a["error_mean_image"] == b["error_mean_image"]
    assert all(type(v) is type(b["rows"][k][name]) for k, row in a["rows"].items() for name, v in row.items())
    for name in ("show", "z_prior", "y_reference"):
        np.testing.assert_array_equal(a[name], b[name])
    assert a["summary"].keys() == b["summary"].keys()
    for snapshot, fields in a["summary"].items():
        assert fields.keys() == b["summary"][snapshot].keys()
        for field, array in fields.items():
            np.testing.assert_array_equal(array, b["summary"][snapshot][field])
            assert array.dtype == b["summary"][snapshot][field].dtype
    for kind in ("nn_prior", "nn_recon"):
        assert a[kind].keys() == b[kind].keys()
        for beta, distances in a[kind].items():
            np.testing.assert_array_equal(distances, b[kind][beta])


def test_measure_beta_effects_reads_back_what_it_measured(tmp_path, forbid):
    from vaelib._runtime import cache
    from vaelib.measures import metrics

    results, pixels, y_train, x_test, y_test, options = _beta_effect_inputs()
    measure = lambda **changes: claims.measure_beta_effects(results, pixels, y_train, x_test, y_test,  # noqa: E731
                                                            **{**options, "cache_dir": tmp_path, **changes})
    uncached = measure(use_cache=False)
    assert not cache.entries(tmp_path)
    fresh = measure()
    _assert_same_measures(fresh, uncached)
    assert len(cache.entries(tmp_path)) == 1

    restore = forbid(metrics, "summarise_vae")
    _assert_same_measures(measure(), fresh)
    with pytest.raises(AssertionError, match="ran again"):  # other arguments: another entry
        measure(n_draws=2)
    with pytest.raises(AssertionError, match="ran again"):  # other weights
        changed = dict(results)
        changed[50.0] = type(results[50.0])(results[50.0].config, {}, {e: [w + 1 for w in ws] for e, ws in
                                                                       results[50.0].snapshots.items()}, 0.0, True)
        claims.measure_beta_effects(changed, pixels, y_train, x_test, y_test, **options, cache_dir=tmp_path)

    # a corrupt entry is reported, discarded and measured again, never used
    (entry,) = cache.entries(tmp_path)
    summary = entry / "summary.npz"
    summary.write_bytes(summary.read_bytes()[:-10])
    restore()
    with pytest.warns(RuntimeWarning, match="measuring again"):
        again = measure()
    _assert_same_measures(again, fresh)
    assert cache.read_entry(tmp_path, entry.name) is not None


def test_cached_refuses_bad_use_cache(tmp_path):
    from vaelib._runtime import cache

    with pytest.raises(TypeError, match="use_cache must be True or False, got 'yes'"):
        cache.cached("k", dict, encode=lambda r: ({}, r), decode=lambda a, m: m, use_cache="yes", cache_dir=tmp_path)
