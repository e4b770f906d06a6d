"""The closing paragraph of §4 (chapter 11): Laplace and uniform latent distributions against the Gaussian, judged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from vaelib._runtime.validation import check_real
from vaelib.claims._inputs import fields, fraction, real
from vaelib.claims.rules import SPREAD_FACTOR, UNIFORM_MIN_KNN, Check, Claim, judged

CHAPTER = "11_other_latents"
SAME_RESULTS_MEASURES = ("test_loss", "knn_accuracy", "prior_ratio", "prior_class_entropy")


def within_seed_spread(value: float, reference_values, *, factor: float = SPREAD_FACTOR) -> tuple[bool, float, float]:
    """Is ``value`` within ``factor`` standard deviations of the reference seeds' mean?

    ``reference_values`` are one measure of the same model trained from different seeds (at
    least 2). Returns (within, distance from the mean, allowed distance = factor * sd).
    """
    value = check_real("value", value)
    reference = np.array([check_real("reference value", v) for v in reference_values], dtype=np.float64)
    if len(reference) < 2:
        raise ValueError(f"reference_values needs at least 2 seeds to measure a spread, got {len(reference)}")
    factor = check_real("factor", factor, minimum=0.0, inclusive_minimum=False)
    distance = abs(value - float(reference.mean()))
    allowed = factor * float(reference.std(ddof=1))
    return distance <= allowed, distance, allowed


def claim_laplace_same_results(laplace: Mapping, references: Sequence[Mapping],
                               measures: Sequence[str] = SAME_RESULTS_MEASURES) -> Claim:
    """A Laplace latent distribution gives almost the same results as the Gaussian (closing paragraph).

    ``laplace`` and each of ``references`` (Gaussian VAEs from different seeds, at least 2) are
    :func:`vaelib.measures.family_comparison.family_measures` dicts. One part per measure: its distance from the
    references' mean, in units of SPREAD_FACTOR (2) seed-to-seed standard deviations
    (:func:`within_seed_spread`), is below 1.
    """
    if not isinstance(laplace, Mapping) or isinstance(references, (str, bytes)) or len(references) < 2:
        raise TypeError("laplace must be a mapping of measures and references a sequence of at least 2 of them")
    measures = tuple(measures)
    if not measures:
        raise ValueError("measures must name at least one measure")
    missing = [m for m in measures if m not in laplace or any(m not in r for r in references)]
    if missing:
        raise ValueError(f"measures {missing} are missing from the Laplace measures or a reference")
    parts, checks = [], []
    for m in measures:
        inside, distance, allowed = within_seed_spread(laplace[m], [r[m] for r in references])
        scaled = distance / allowed if allowed > 0 else (0.0 if distance == 0 else float("inf"))
        checks.append(Check(f"{m}: distance from the Gaussian seeds' mean / ({SPREAD_FACTOR:g} s.d.)", scaled,
                            "below", 1.0))
        parts.append(f"{m} {laplace[m]:.3g} vs {np.mean([r[m] for r in references]):.3g} "
                     f"({'within' if inside else 'outside'} {allowed:.2g})")
    return judged(
        "laplace", "A Laplace latent distribution gives almost the same results as the Gaussian",
        "§4.2, closing paragraph", CHAPTER, "Laplace vs Gaussian seeds' mean: " + "; ".join(parts),
        f"every measure within {SPREAD_FACTOR:g} seed-to-seed standard deviations of the Gaussian seeds' mean",
        checks, {m: float(laplace[m]) for m in measures})


def claim_uniform_usable(uniform: Mapping) -> Claim:
    """A VAE with uniform latent distributions learns a usable latent space (closing paragraph).

    The report's "interesting insights about common features" has no measure, so only its
    precondition is tested, in two parts: at least one active dimension, and a 15-NN accuracy above
    UNIFORM_MIN_KNN (0.5).
    """
    uniform = fields("uniform", uniform, required=("active_dims", "knn_accuracy"))
    active = real("uniform['active_dims']", uniform["active_dims"], minimum=0.0)
    knn = fraction("uniform['knn_accuracy']", uniform["knn_accuracy"])
    return judged(
        "uniform", "A VAE with uniform latent distributions learns a usable latent space (the precondition of "
        "the report's 'insights about common features')", "§4.2, closing paragraph", CHAPTER,
        f"{active:.0f} active dimension(s); 15-NN accuracy {knn:.3f}",
        f"at least one active dimension and 15-NN accuracy > {UNIFORM_MIN_KNN:g}",
        [Check("active dimensions", active, "above", 0.5), Check("15-NN accuracy", knn, "above", UNIFORM_MIN_KNN)],
        {"active_dims": active, "knn_accuracy": knn})
