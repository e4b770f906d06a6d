"""§4.2, figure 5 and the text on figures 6-8: whether a larger β allocates the latent space "more efficiently",
measured as the coverage of the prior's 95% region by the codes (chapter 12; no earlier chapter tested it).

The measure, its yardstick and the rule are stated with their reasons in :mod:`vaelib.claims.rules`
(:data:`~vaelib.claims.rules.COVERAGE_LEVEL`, :data:`~vaelib.claims.rules.COVERAGE_QUANTILE`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vaelib._runtime.validation import check_int, check_seed
from vaelib.claims._inputs import by_beta, fraction, mean_se
from vaelib.claims.rules import COVERAGE_LEVEL, COVERAGE_QUANTILE, N_SE, Check, Claim, judged
from vaelib.measures import latent_space

CHAPTER = "12_claims"
N_COVERAGE_POINTS = 5000
"""Points drawn from the prior's region to estimate a coverage: near a coverage of 0.9 its binomial standard
error is 0.004, and a step between two models, paired over the same points, has at most sqrt(2) times that."""


def measure_space_coverage(codes: Mapping, *, seed: int = 0, n_points: int = N_COVERAGE_POINTS,
                           level: float = COVERAGE_LEVEL, quantile: float = COVERAGE_QUANTILE) -> dict:
    """Which of the same ``n_points`` points of the prior's ``level`` region each cloud of codes covers.

    ``codes`` maps a key (e.g. ``(beta, epoch)``) to codes (n, d), every cloud with the same n and d. A
    generator seeded with ``seed`` draws the points (:func:`vaelib.measures.latent_space.prior_region_draws`);
    a point counts as covered when some code lies within the distance r(z) at which n codes drawn from
    the prior would have one with probability ``quantile`` (:func:`vaelib.measures.latent_space.prior_spacing`).
    Returns ``radius`` (r at each point), ``points`` and ``covered`` (key -> bool array (n_points,),
    :func:`vaelib.measures.latent_space.covered_by_codes`).
    """
    if not isinstance(codes, Mapping) or not codes:
        raise TypeError(f"codes must be a non-empty mapping from a key to codes (n, d), got {codes!r:.80}")
    clouds = {key: latent_space.check_codes(z, name=f"codes[{key!r}]") for key, z in codes.items()}
    shapes = {z.shape for z in clouds.values()}
    if len(shapes) != 1:
        raise ValueError(f"every cloud of codes must have the same shape (one yardstick for all), got {sorted(shapes)}")
    (n_codes, dim), = shapes
    rng = np.random.default_rng(check_seed(seed))
    points = latent_space.prior_region_draws(check_int("n_points", n_points, minimum=2), dim, rng=rng, level=level)
    radius = latent_space.prior_spacing(points, n_codes, quantile=quantile)
    return {"radius": radius, "points": points,
            "covered": {key: latent_space.covered_by_codes(points, z, radius) for key, z in clouds.items()}}


def _indicators(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or len(array) < 2 or not np.all(np.isin(array, (0, 1))):
        raise ValueError(f"{name} must be a 1-D array of at least 2 covered (1) / not covered (0) marks, "
                         f"got shape {array.shape}")
    return array.astype(np.float64)


def claim_space_allocation(covered: Mapping) -> Claim:
    """A larger β allocates the latent space more efficiently: it covers more of the prior's 95% region (§4.2).

    ``covered`` maps an epoch to a mapping from β (at least two values) to which of the same points of
    the prior's region the codes cover (:func:`measure_space_coverage`). One part per epoch and step up
    in β: the coverage rises by more than N_SE (3) standard errors of the paired difference over the
    points (falls by as many: not reproduced).
    """
    if not isinstance(covered, Mapping) or not covered:
        raise TypeError(f"covered must be a non-empty mapping from epoch to {{beta: covered points}}, "
                        f"got {covered!r:.80}")
    checks, shares = [], {}
    for epoch in sorted(covered):
        epoch = check_int("epoch", epoch, minimum=1)
        by = by_beta(f"covered[{epoch}]", covered[epoch], minimum=2)
        marks = {b: _indicators(f"covered[{epoch}][{b:g}]", v) for b, v in by.items()}
        if len({len(m) for m in marks.values()}) != 1:
            raise ValueError(f"covered[{epoch}] must mark the same points for every beta, got "
                             f"{ {b: len(m) for b, m in marks.items()} }")
        shares[epoch] = {b: fraction(f"coverage at β={b:g}", m.mean()) for b, m in marks.items()}
        betas = list(marks)
        for low, high in zip(betas, betas[1:]):
            step, se = mean_se(marks[high] - marks[low])
            checks.append(Check(f"epoch {epoch}: coverage, β={high:g} minus β={low:g}", step, "above", 0.0, se=se,
                                n_se=N_SE))
    measured = "; ".join(f"epoch {e}: " + ", ".join(f"β={b:g} {c:.3f}" for b, c in by.items())
                         for e, by in shares.items())
    return judged(
        "space", "A larger β allocates the latent space more efficiently (its codes cover more of the prior's region)",
        "§4.2, figure 5 and text on figures 6-8", CHAPTER, f"coverage of the prior's 95% region: {measured}",
        f"after the first and the last epoch, every step up in β raises the coverage by > {N_SE:g} s.e. "
        f"(lowers it by as many: not reproduced)", checks,
        {"coverage": {e: {b: c for b, c in by.items()} for e, by in shares.items()}})
