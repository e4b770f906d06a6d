"""The claims of the report's section 4, each measured and judged by a rule stated before the numbers.

Where things are::

    rules             Check, Claim, the thresholds with their reasons, and the two rules that make
                      verdicts: PARTS_RULE (the parts of one claim) and ACROSS_SEEDS_RULE (several seeds)
    ae_vs_vae         §4.1, figures 2-4 (chapter 06); its statement on overfitting (chapter 12)
    beta_effects      §4.2, figures 5-9 (chapter 07)
    space_allocation  §4.2, figures 5-8: "more efficient allocation of space" (chapter 12)
    loss_dynamics     §4.2, figures 9-11 (chapter 08)
    sample_quality    §4.2, figures 5, 8, 12-13 and eq. (13) (chapter 09)
    latent_travel     §4.2, figure 14 (chapter 10)
    other_latents     the closing paragraph: Laplace and uniform latents (chapter 11)
    over_seeds        every claim measured on the models of several training seeds (chapter 12)
    tables            chapter 12's tables
    alternatives      the claims re-measured under other readings of the report's unstated choices, and
                      which verdicts survive all of them (chapter 13)

A claim function takes measured numbers and returns a :class:`Claim` whose verdict ("reproduced",
"not reproduced" or "inconclusive") is computed from its :class:`Check` records; the chapters call
these functions, so each rule is written once. The names below are the chapters' surface.
"""

from vaelib.claims.ae_vs_vae import (  # noqa: F401
    ae_vs_vae_claims, claim_sampling_hinders_overfitting, measure_ae_vs_vae, measure_generalisation,
)
from vaelib.claims.beta_effects import beta_effects_claims, beta_effects_draws, measure_beta_effects  # noqa: F401
from vaelib.claims.latent_travel import figure14_claims  # noqa: F401
from vaelib.claims.loss_dynamics import claim_kl_share_dynamics, claim_large_beta_kl_increases  # noqa: F401
from vaelib.claims.other_latents import (  # noqa: F401
    SAME_RESULTS_MEASURES, claim_laplace_same_results, claim_uniform_usable, within_seed_spread,
)
from vaelib.claims.over_seeds import check_model_seeds, measure_claims_over_seeds  # noqa: F401
from vaelib.claims.rules import (  # noqa: F401  (the records, the rules and the thresholds)
    ACROSS_SEEDS_RULE, ALMOST_NORMAL_MAX_NATS, COVERAGE_LEVEL, COVERAGE_QUANTILE, DIVERSE_MIN_BITS, FIRST_SHARE_MAX,
    GAP_FLOOR, GREY_LEVEL, INADEQUATE_MAX_RECOVERED, LITTLE_CHANGE_MAX, MAJORITY, MIN_DIRECT_PATHS, N_SE,
    NARROWER_MAX_VARIANCE, NEAR_MAX_GAP, PARTS_RULE, REGION_AGREEMENT_MIN, SIMILAR_MAX_BITS, SLIGHT_MAX_RATIO,
    SLIGHTLY_INFERIOR_MIN_RATIO, SPREAD_FACTOR, TV_REPRESENTATIVE_MAX, TV_UNREPRESENTATIVE_MIN, UNIFORM_MIN_KNN,
    VERDICTS, WORSE_N_SE, Check, Claim, across_seeds, all_of, combine_parts, judged, unmeasured_claim,
)
from vaelib.claims.sample_quality import measure_sample_quality, sample_quality_claims  # noqa: F401
from vaelib.claims.space_allocation import claim_space_allocation, measure_space_coverage  # noqa: F401
from vaelib.claims.tables import (  # noqa: F401
    SEED_VERDICT_MARKS, claims_table, measurements_table, verdict_counts, verdict_list,
)
