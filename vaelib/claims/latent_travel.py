"""§4.2, figure 14 (chapter 10): the report's reading of travel in the latent space, as seven judged claims.

The numbers come from :func:`vaelib.measures.figure14.measure_figure14` (its ``claim_inputs``).
"""

from __future__ import annotations

import math

import numpy as np

from vaelib._runtime.validation import check_int, check_real
from vaelib.claims._inputs import mean_se
from vaelib.claims.rules import (
    DIVERSE_MIN_BITS, MAJORITY, MIN_DIRECT_PATHS, N_SE, REGION_AGREEMENT_MIN, SIMILAR_MAX_BITS, Check, Claim,
    judged,
)
from vaelib.measures.figure14 import fraction_se

CHAPTER = "10_latent_travel"


def _per_path(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(array) < 2 or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold at least two finite values (one per path), got {array!r}")
    return array


def figure14_claims(recognised_0: float, recognised_5: float, n_draws: int, entropy_5: float, entropy_5_se: float,
                    agreement_5, blended_5, midpoint_gap, confidence_gap) -> list[Claim]:
    """The report's reading of figure 14 as seven claims, each with its checks and verdict.

    Parameters
    ----------
    recognised_0, recognised_5 : fractions of the decoded N(1, 0.5^2 I) draws (beta = 0, 5) that the
        classifier recognises; ``n_draws`` draws each
    entropy_5, entropy_5_se : class entropy (bits) of the decoded beta = 5 draws and its standard error
    agreement_5 : per-path agreement (n_paths,) of decoded digit and region digit
        (:func:`vaelib.measures.figure14.path_label_agreement`)
    blended_5 : for the *direct* beta = 5 paths, whether the border image is a blend (bool array);
        with fewer than MIN_DIRECT_PATHS (10) of them the borders claim is undecided
    midpoint_gap : per pair, the pixel path's midpoint ratio of nearest-training-image distances minus the
        beta = 5 latent path's (positive: the latent path stays closer to real digits)
    confidence_gap : per pair, the beta = 5 latent path's midpoint ratio of classifier confidence minus the
        pixel path's (positive: the latent path keeps the classifier's confidence better)
    """
    f0 = check_real("recognised_0", recognised_0, minimum=0.0, maximum=1.0)
    f5 = check_real("recognised_5", recognised_5, minimum=0.0, maximum=1.0)
    n_draws = check_int("n_draws", n_draws, minimum=1)
    h5 = check_real("entropy_5", entropy_5, minimum=0.0)
    h5_se = check_real("entropy_5_se", entropy_5_se, minimum=0.0)
    agreement = _per_path("agreement_5", agreement_5)
    gap, conf_gap = _per_path("midpoint_gap", midpoint_gap), _per_path("confidence_gap", confidence_gap)
    blended = np.asarray(blended_5)
    if blended.dtype != np.bool_ or blended.ndim != 1:
        raise TypeError(f"blended_5 must be a 1-D boolean array (one entry per direct path), got {blended.dtype}, "
                        f"shape {blended.shape}")
    if np.any((agreement < 0) | (agreement > 1)):
        raise ValueError("agreement_5 must lie in [0, 1]")
    se0, se5 = fraction_se(f0, n_draws), fraction_se(f5, n_draws)
    se_diff = math.hypot(se0, se5)
    agree, agree_se = mean_se(agreement)
    n_direct = len(blended)
    enough = n_direct >= MIN_DIRECT_PATHS
    blend = float(blended.mean()) if n_direct else float("nan")
    blend_se = fraction_se(blend, n_direct) if n_direct else float("nan")
    gap_mean, gap_se = mean_se(gap)
    conf_mean, conf_se = mean_se(conf_gap)
    source = "§4.2, figure 14"
    rows = [
        ("beta0_nonsensical", "β = 0 samples from N(1, 0.5²I) are mostly nonsensical",
         f"recognised {f0:.3f} ± {se0:.3f}", f"recognised fraction < {MAJORITY:g} by {N_SE:g} s.e.",
         [Check("recognised fraction of β=0 draws", f0, "below", MAJORITY, se=se0, n_se=N_SE)],
         {"recognised": f0, "se": se0}),
        ("beta5_meaningful", "β = 5 samples from N(1, 0.5²I) are meaningful",
         f"recognised {f5:.3f} ± {se5:.3f}", f"recognised fraction > {MAJORITY:g} by {N_SE:g} s.e.",
         [Check("recognised fraction of β=5 draws", f5, "above", MAJORITY, se=se5, n_se=N_SE)],
         {"recognised": f5, "se": se5}),
        ("beta5_more_meaningful", "β = 5 samples are more meaningful than β = 0 samples",
         f"difference {f5 - f0:+.3f} ± {se_diff:.3f}", f"difference > 0 by {N_SE:g} s.e.",
         [Check("recognised fraction, β=5 minus β=0", f5 - f0, "above", 0.0, se=se_diff, n_se=N_SE)],
         {"difference": f5 - f0, "se": se_diff}),
        ("beta5_similar", "β = 5 samples have a lot of similarities with each other",
         f"class entropy {h5:.3f} ± {h5_se:.3f} bits",
         f"entropy < {SIMILAR_MAX_BITS:g} bit by {N_SE:g} s.e. (> {DIVERSE_MIN_BITS:g} bits by {N_SE:g} s.e.: fails)",
         [Check("class entropy of β=5 draws (bits)", h5, "below", SIMILAR_MAX_BITS, DIVERSE_MIN_BITS, se=h5_se,
                n_se=N_SE)], {"entropy": h5, "se": h5_se}),
        ("regions_have_features", "zooming in on a region of the β = 5 latent space gives that region's digits",
         f"agreement {agree:.3f} ± {agree_se:.3f}",
         f"agreement > {REGION_AGREEMENT_MIN:g} by {N_SE:g} s.e. (< {MAJORITY:g} by {N_SE:g} s.e.: fails)",
         [Check("agreement of decoded and region digit", agree, "above", REGION_AGREEMENT_MIN, MAJORITY, se=agree_se,
                n_se=N_SE)], {"agreement": agree, "se": agree_se}),
        ("borders_blend", "samples from the border of two classes show features of both (β = 5)",
         f"blended {blend:.3f} ± {blend_se:.3f} of {n_direct} direct paths",
         f"blended fraction > {MAJORITY:g} by {N_SE:g} s.e.; undecided with < {MIN_DIRECT_PATHS} direct paths",
         [Check("blended fraction of direct paths", blend if enough else float("nan"), "above", MAJORITY,
                se=blend_se if enough else 0.0, n_se=N_SE)],
         {"blended": blend, "se": blend_se, "n_direct": n_direct}),
        ("latent_travel_on_manifold", "travel in the β = 5 latent space stays among digit-like images (vs pixel space)",
         f"distance gap {gap_mean:+.3f} ± {gap_se:.3f}; confidence gap {conf_mean:+.3f} ± {conf_se:.3f}",
         f"both midpoint-ratio gaps > 0 by {N_SE:g} s.e.",
         [Check("midpoint distance ratio, pixel minus latent path", gap_mean, "above", 0.0, se=gap_se, n_se=N_SE),
          Check("midpoint confidence ratio, latent minus pixel path", conf_mean, "above", 0.0, se=conf_se,
                n_se=N_SE)],
         {"gap": gap_mean, "se": gap_se, "confidence_gap": conf_mean, "confidence_se": conf_se}),
    ]
    return [judged(key, claim, source, CHAPTER, measured, rule, checks, values)
            for key, claim, measured, rule, checks, values in rows]
