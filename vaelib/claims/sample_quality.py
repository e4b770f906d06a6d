"""§4.2, figures 5, 8 and 12-13 and eq. (13) (chapter 09): how recognizable reconstructions and prior
samples are to a digit classifier, measured and judged."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from vaelib._runtime.batching import in_blocks
from vaelib._runtime.memory import releases_free_memory
from vaelib._runtime.validation import check_beta, check_images, check_int, check_labels, check_seed
from vaelib.claims._inputs import by_beta, fields, real
from vaelib.claims.rules import N_SE, NEAR_MAX_GAP, SLIGHTLY_INFERIOR_MIN_RATIO, Check, Claim, judged
from vaelib.measures import judge

CHAPTER = "09_sample_quality"
PRIOR_SAMPLES, RECONSTRUCTIONS = "prior samples", "reconstructions"


@releases_free_memory
def measure_sample_quality(classifier, runs: Mapping, x_test, y_test, *, seed: int = 0, n_recon: int = 1000,
                           n_samples: int = 1000, threshold: float = 0.9, test_probs=None) -> dict:
    """Chapter 09's measurements: eq. (13) and the other measures per beta and snapshot epoch.

    ``runs`` maps beta to a TrainResult. For every snapshot the first ``n_recon`` test images are
    reconstructed at z = mu and the same ``n_samples`` N(0, I) draws (seeded by ``seed``) decoded;
    the classifier scores both (:func:`vaelib.measures.judge.quality_measures`). Returns a dict with
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
    test_probs = (judge.predict_proba(classifier, x_test) if test_probs is None
                  else judge.check_probabilities(test_probs, name="test_probs"))
    if len(test_probs) != len(x_test):
        raise ValueError(f"test_probs must have one row per test image ({len(x_test)}), got {len(test_probs)}")
    rng = np.random.default_rng(seed)
    z_prior = rng.standard_normal((n_samples, 2)).astype(np.float32)
    x_recon, y_recon = x_test[:n_recon], y_test[:n_recon]
    results, images, final_kl = {}, {}, {}
    for beta, run in by_beta("runs", runs).items():
        final_kl[beta] = run.history["test_kl"][-1]
        for epoch in sorted(run.snapshots):
            vae = run.model(epoch)
            mu, _ = in_blocks(vae.encode, x_recon)
            recon = in_blocks(vae.decode, mu)
            samples = in_blocks(vae.decode, z_prior)
            probs = judge.predict_proba(classifier, np.concatenate([recon, samples]))
            results[beta, epoch] = {
                RECONSTRUCTIONS: judge.quality_measures(probs[:n_recon], test_probs, y_recon, threshold=threshold),
                PRIOR_SAMPLES: judge.quality_measures(probs[n_recon:], test_probs, threshold=threshold)}
            images[beta, epoch] = (samples[:20], probs[n_recon:n_recon + 20])
    snapshot_epochs = sorted({e for _, e in results})
    return {"test_probs": test_probs, "results": results, "images": images, "final_kl": final_kl,
            "snapshot_epochs": snapshot_epochs, "last_epoch": snapshot_epochs[-1]}


def _scores(scores: Mapping) -> dict[float, Mapping]:
    scores = by_beta("scores", scores)
    for b, s in scores.items():
        for kind in (PRIOR_SAMPLES, RECONSTRUCTIONS):
            fields(f"scores[{b:g}][{kind!r}]", fields(f"scores[{b:g}]", s, required=(kind,))[kind],
                   required=("ratio", "ratio_se"))
            real(f"scores[{b:g}][{kind!r}]['ratio']", s[kind]["ratio"], minimum=0.0)
            real(f"scores[{b:g}][{kind!r}]['ratio_se']", s[kind]["ratio_se"], minimum=0.0)
    return scores


def _ratio(scores, beta, kind) -> tuple[float, float]:
    return float(scores[beta][kind]["ratio"]), float(scores[beta][kind]["ratio_se"])


def claim_beta0_samples_least_recognizable(scores: Mapping, epoch: int | None = None) -> Claim:
    """Prior samples of beta = 0 are the least recognizable to a digit classifier (figures 5, 8, 12-13).

    ``scores`` maps beta to :func:`vaelib.measures.judge.quality_measures` of "prior samples" and
    "reconstructions" at one epoch. One part: the worst positive beta's eq. (13) ratio minus
    beta = 0's exceeds N_SE (3) standard errors (root sum of squares of the two).
    """
    scores = _scores(scores)
    if 0.0 not in scores or len(scores) < 2:
        raise ValueError("scores must include beta = 0 and at least one positive beta")
    worst = min((b for b in scores if b > 0), key=lambda b: scores[b][PRIOR_SAMPLES]["ratio"])
    (r0, se0), (rw, sew) = _ratio(scores, 0.0, PRIOR_SAMPLES), _ratio(scores, worst, PRIOR_SAMPLES)
    when = "" if epoch is None else f"epoch {epoch}: "
    source = "§4.2, figure 5" if epoch == 1 else "§4.2, figures 8 and 12-13"
    return judged(
        "beta0-least" if epoch != 1 else "beta0-least-epoch1",
        f"{'After one epoch, ' if epoch == 1 else ''}β = 0 prior samples are the least recognizable (classifier)",
        source, CHAPTER, f"{when}eq. 13 ratio β=0 {r0:.3f}, worst positive β ({worst:g}) {rw:.3f}",
        f"worst positive β's ratio minus β=0's > 0 by {N_SE:g} s.e.",
        [Check("eq. 13 ratio of samples, worst positive β minus β=0", rw - r0, "above", 0.0,
               se=math.hypot(se0, sew), n_se=N_SE)],
        {"difference": rw - r0, "ratio_0": r0, "ratio_worst": rw, "worst_beta": worst})


def claim_samples_improve_with_beta(scores: Mapping) -> Claim:
    """Prior samples become more recognizable with every increase of beta (figures 12-13).

    One part per step between consecutive betas: the eq. (13) ratio rises by more than N_SE (3)
    standard errors (root sum of squares).
    """
    scores = _scores(scores)
    betas = list(scores)
    if len(betas) < 2:
        raise ValueError("scores must hold at least two values of beta")
    steps = list(zip(betas[:-1], betas[1:]))
    ratio = {b: _ratio(scores, b, PRIOR_SAMPLES) for b in betas}
    diffs = [ratio[b][0] - ratio[a][0] for a, b in steps]
    return judged(
        "improve", "Prior samples become more recognizable as β grows", "§4.2, figures 12-13", CHAPTER,
        "eq. 13 ratio of samples: " + ", ".join(f"β={b:g}: {ratio[b][0]:.3f}" for b in betas),
        f"every step up in β raises the ratio by > {N_SE:g} s.e.",
        [Check(f"ratio of samples, β={b:g} minus β={a:g}", d, "above", 0.0, se=math.hypot(ratio[a][1], ratio[b][1]),
               n_se=N_SE) for (a, b), d in zip(steps, diffs)],
        {"difference": min(diffs), "steps": [(a, b) for a, b in steps], "differences": diffs})


def claim_high_beta_samples_beat_originals(scores: Mapping, beta: float = 50.0) -> Claim:
    """At very high beta the prior samples are more recognizable than the test images (ratio > 1 by N_SE s.e., figure 13)."""
    scores = _scores(scores)
    beta = check_beta(beta)
    if beta not in scores:
        raise ValueError(f"scores has no beta = {beta:g}")
    r, se = _ratio(scores, beta, PRIOR_SAMPLES)
    return judged(
        "beats-originals", f"At β = {beta:g} prior samples are more recognizable than the test images",
        "§4.2, figure 13", CHAPTER, f"eq. 13 ratio {r:.3f} ± {se:.3f} (test images: 1)",
        f"ratio > 1 by {N_SE:g} s.e.",
        [Check(f"eq. 13 ratio of β={beta:g} samples", r, "above", 1.0, se=se, n_se=N_SE)],
        {"difference": r - 1.0, "ratio": r, "se": se})


def claim_beta0_reconstructions_slightly_inferior(scores: Mapping) -> Claim:
    """Reconstructions of beta = 0 are slightly inferior to the originals (figure 12).

    Two parts: the eq. (13) ratio is below 1 and above SLIGHTLY_INFERIOR_MIN_RATIO (0.9), each by
    more than N_SE (3) standard errors.
    """
    scores = _scores(scores)
    if 0.0 not in scores:
        raise ValueError("scores must include beta = 0")
    r, se = _ratio(scores, 0.0, RECONSTRUCTIONS)
    what = "eq. 13 ratio of β=0 reconstructions"
    return judged(
        "beta0-recon", "β = 0 reconstructions are slightly less recognizable than the originals",
        "§4.2, figure 12", CHAPTER, f"eq. 13 ratio of reconstructions {r:.3f} ± {se:.3f}",
        f"ratio < 1 and > {SLIGHTLY_INFERIOR_MIN_RATIO:g}, each by {N_SE:g} s.e.",
        [Check(what, r, "below", 1.0, se=se, n_se=N_SE),
         Check(what, r, "above", SLIGHTLY_INFERIOR_MIN_RATIO, se=se, n_se=N_SE)],
        {"difference": 1.0 - r, "ratio": r, "se": se})


def claim_beta0_samples_match_reconstructions(scores: Mapping) -> Claim:
    """For beta = 0, after enough epochs, samples are nearly as recognizable as reconstructions, yet below the originals (figure 12).

    Two parts: "nearly indistinguishable", the eq. (13) ratios of samples and reconstructions less
    than NEAR_MAX_GAP (0.05) apart; "below the originals", the samples' ratio below 1 by N_SE (3)
    standard errors.
    """
    scores = _scores(scores)
    if 0.0 not in scores:
        raise ValueError("scores must include beta = 0")
    (rs, ses), (rr, _) = _ratio(scores, 0.0, PRIOR_SAMPLES), _ratio(scores, 0.0, RECONSTRUCTIONS)
    return judged(
        "beta0-match", "β = 0 prior samples end up nearly as recognizable as reconstructions, still below the originals",
        "§4.2, figure 12", CHAPTER, f"eq. 13 ratio: samples {rs:.3f} ± {ses:.3f}, reconstructions {rr:.3f}",
        f"|samples - reconstructions| < {NEAR_MAX_GAP:g}, and samples < 1 by {N_SE:g} s.e.",
        [Check("|ratio of samples - ratio of reconstructions|, β=0", abs(rs - rr), "below", NEAR_MAX_GAP),
         Check("eq. 13 ratio of β=0 samples", rs, "below", 1.0, se=ses, n_se=N_SE)],
        {"gap": rs - rr, "ratio_samples": rs, "ratio_reconstructions": rr})


def claim_samples_beat_reconstructions(scores: Mapping) -> Claim:
    """With beta > 0, prior samples are more recognizable than reconstructions (figures 12-13).

    One part per positive beta: samples' ratio minus reconstructions' ratio above 0 by N_SE (3)
    standard errors (root sum of squares).
    """
    scores = _scores(scores)
    positive = [b for b in scores if b > 0]
    if not positive:
        raise ValueError("scores must include a positive beta")
    checks, diffs = [], {}
    for b in positive:
        (rs, ses), (rr, ser) = _ratio(scores, b, PRIOR_SAMPLES), _ratio(scores, b, RECONSTRUCTIONS)
        diffs[b] = rs - rr
        checks.append(Check(f"β={b:g}: ratio, samples minus reconstructions", rs - rr, "above", 0.0,
                            se=math.hypot(ses, ser), n_se=N_SE))
    return judged(
        "beat-recon", "With β > 0 prior samples are more recognizable than reconstructions", "§4.2, figures 12-13",
        CHAPTER, "samples minus reconstructions (eq. 13): " + ", ".join(f"β={b:g}: {d:+.3f}" for b, d in diffs.items()),
        f"for every positive β: samples minus reconstructions > 0 by {N_SE:g} s.e.", checks, {"differences": diffs})


def sample_quality_claims(final: Mapping) -> list[Claim]:
    """Chapter 09's four claims, in its order, from the scores at the last epoch (beta -> measures)."""
    return [claim_beta0_samples_least_recognizable(final), claim_samples_improve_with_beta(final),
            claim_high_beta_samples_beat_originals(final, 50.0), claim_beta0_reconstructions_slightly_inferior(final)]
