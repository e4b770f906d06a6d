"""§4.2, figures 5-9 (chapter 07): what beta does to the latent scatter, the separation of the digits
and the reconstructions over training, measured and judged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from vaelib._runtime import cache
from vaelib._runtime.memory import releases_free_memory
from vaelib._runtime.validation import (
    check_beta, check_images, check_int, check_labels, check_seed, check_training_images,
)
from vaelib.claims._inputs import binomial_se_difference, by_beta, fields, fraction, mean_se, per_image, real
from vaelib.claims.rules import INADEQUATE_MAX_RECOVERED, LITTLE_CHANGE_MAX, N_SE, WORSE_N_SE, Check, Claim, judged
from vaelib.data import images_digest, unit_images
from vaelib.measures import metrics

CHAPTER = "07_beta_effects"


def _smallest_step(values: Sequence[float], sign: int) -> float:
    """The smallest of the steps between consecutive values, signed so that positive is the claimed direction."""
    return float(np.min(sign * np.diff(np.asarray(values, dtype=np.float64))))


def claim_epoch1_shape(d_first: Mapping, round_first: Mapping) -> Claim:
    """After epoch 1, larger beta gives a rounder, more prior-like cloud of codes (figure 5).

    ``d_first`` and ``round_first`` map beta to the moment-matched KL D_N and to the roundness
    (smallest / largest covariance eigenvalue) at epoch 1. Two parts: over increasing beta, D_N
    falls at every step, and roundness rises at every step. These measures have no Monte Carlo
    error bar; the seeds supply the run-to-run one.
    """
    d_first, round_first = by_beta("d_first", d_first, minimum=2), by_beta("round_first", round_first, minimum=2)
    if list(d_first) != list(round_first):
        raise ValueError("d_first and round_first must have the same values of beta")
    d = [real(f"d_first[{b:g}]", v, minimum=0.0) for b, v in d_first.items()]
    r = [fraction(f"round_first[{b:g}]", v) for b, v in round_first.items()]
    betas = ", ".join(f"{b:g}" for b in d_first)
    return judged(
        "epoch1-shape", "After one epoch, a larger β gives a rounder, more normal-like latent scatter",
        "§4.2, figure 5", CHAPTER,
        f"β = {betas}: D_N {', '.join(f'{v:.3g}' for v in d)}; roundness {', '.join(f'{v:.3f}' for v in r)}",
        "D_N falls and roundness rises at every step up in β",
        [Check("smallest fall of D_N from one β to the next", _smallest_step(d, -1), "above", 0.0),
         Check("smallest rise of roundness from one β to the next", _smallest_step(r, +1), "above", 0.0)],
        {"betas": list(d_first), "D_N": d, "roundness": r})


def claim_epoch1_reconstructions_alike(err_first: Mapping) -> Claim:
    """After epoch 1 the reconstructions show no essential differences between the betas (figure 5).

    ``err_first`` maps beta to the mean squared error at z = mu after epoch 1: the largest within
    LITTLE_CHANGE_MAX (10%) of the smallest, the same yardstick as "does not change significantly".
    """
    err = by_beta("err_first", err_first, minimum=2)
    values = [real(f"err_first[{b:g}]", v, minimum=0.0, inclusive_minimum=False) for b, v in err.items()]
    spread = (max(values) - min(values)) / min(values)
    return judged(
        "epoch1-recon", "After one epoch the reconstructions hardly differ between values of β", "§4.2, figure 5",
        CHAPTER, f"β = {', '.join(f'{b:g}' for b in err)}: error {', '.join(f'{v:.2f}' for v in values)} "
        f"(spread {100 * spread:.1f}%)", f"(largest - smallest) / smallest error < {LITTLE_CHANGE_MAX:g}",
        [Check("(largest - smallest) / smallest error", spread, "below", LITTLE_CHANGE_MAX)],
        {"errors": values, "spread": spread})


def claim_separation_improves(knn: Mapping, n_test: int, epochs: Sequence[int] | None = None) -> Claim:
    """Digit classes separate better with every epoch (figures 6-8).

    ``knn`` maps beta to the kNN accuracies at the snapshot epochs, in order. Two parts per beta:
    the last exceeds the first by more than N_SE (3) binomial standard errors of the difference
    over ``n_test`` test digits, and no step between snapshots loses more than that (the largest
    loss, in standard errors, below N_SE).
    """
    knn = by_beta("knn", knn)
    n_test = check_int("n_test", n_test, minimum=2)
    checks, accuracies = [], {}
    for b, acc in knn.items():
        acc = [fraction(f"knn[{b:g}] entry", a) for a in acc]
        if len(acc) < 2:
            raise ValueError(f"knn[{b:g}] needs accuracies at two or more epochs, got {len(acc)}")
        accuracies[b] = acc
        drops = [(a1 - a2) / max(binomial_se_difference(a1, a2, n_test), 1e-12) for a1, a2 in zip(acc, acc[1:])]
        checks += [Check(f"β={b:g}: kNN accuracy, last minus first snapshot", acc[-1] - acc[0], "above", 0.0,
                         se=binomial_se_difference(acc[0], acc[-1], n_test), n_se=N_SE),
                   Check(f"β={b:g}: largest fall between snapshots, in s.e.", max(drops), "below", N_SE)]
    label = "" if epochs is None else f" (epochs {', '.join(str(e) for e in epochs)})"
    return judged(
        "separation", "Digit classes separate better in the latent space with every epoch", "§4.2, figures 6-8",
        CHAPTER, "; ".join(f"β={b:g}: kNN accuracy {a[0]:.3f} -> {a[-1]:.3f}" for b, a in accuracies.items()) + label,
        f"for every β: last minus first > {N_SE:g} s.e., and no step down by more", checks,
        {"knn": accuracies})


def claim_little_change_after_epoch5(err5: Mapping | None, err_last: Mapping) -> Claim:
    """Reconstructions do not change significantly after epoch 5 (figures 6-8).

    One part per beta: the relative fall r = (E_5 - E_last) / E_5 of the mean error at z = mu is
    below LITTLE_CHANGE_MAX (10%). Undecided when epoch 5 was not trained (``err5`` None).
    """
    err_last = by_beta("err_last", err_last)
    rule = f"for every β: r = (E_5 - E_last) / E_5 < {LITTLE_CHANGE_MAX:g}"
    claim = "Reconstructions change little after epoch 5"
    if err5 is None:
        return judged("after5", claim, "§4.2, figures 6-8", CHAPTER, "epoch 5 not trained (fewer epochs)", rule,
                      [Check(f"β={b:g}: r", float("nan"), "below", LITTLE_CHANGE_MAX) for b in err_last],
                      {"change": {b: float("nan") for b in err_last}})
    err5 = by_beta("err5", err5)
    if list(err5) != list(err_last):
        raise ValueError("err5 and err_last must have the same values of beta")
    change = {}
    for b in err5:
        e5 = real(f"err5[{b:g}]", err5[b], minimum=0.0, inclusive_minimum=False)
        change[b] = (e5 - real(f"err_last[{b:g}]", err_last[b], minimum=0.0)) / e5
    return judged("after5", claim, "§4.2, figures 6-8", CHAPTER,
                  "; ".join(f"β={b:g}: r = {r:.3f}" for b, r in change.items()), rule,
                  [Check(f"β={b:g}: r", r, "below", LITTLE_CHANGE_MAX) for b, r in change.items()], {"change": change})


def claim_extreme_beta_inadequate(error_beta1, error_extreme: Mapping, error_mean_image: float) -> Claim:
    """With beta of 200-500, reconstructions stay inadequate and much worse than small beta after 20 epochs.

    Per-image errors at z = mu: ``error_beta1`` for beta = 1 and ``error_extreme`` (beta -> array,
    the same images) for the large betas; ``error_mean_image`` is the mean error of answering every
    digit with the mean training image. Two parts per large beta: "significantly worse", the mean
    paired excess over beta = 1 exceeds WORSE_N_SE (5) standard errors; "inadequate",
    R = (E_mean - E_beta) / (E_mean - E_1) < INADEQUATE_MAX_RECOVERED (0.5).
    """
    base = per_image("error_beta1", error_beta1)
    error_extreme = by_beta("error_extreme", error_extreme)
    error_mean_image = real("error_mean_image", error_mean_image, minimum=0.0)
    gain_1 = error_mean_image - base.mean()
    out, checks = {}, []
    for b, errors in error_extreme.items():
        errors = per_image(f"error_extreme[{b:g}]", errors)
        if errors.shape != base.shape:
            raise ValueError(f"error_extreme[{b:g}] must have one error per image of error_beta1 ({len(base)})")
        excess, se = mean_se(errors - base)
        recovered = (error_mean_image - errors.mean()) / gain_1 if gain_1 > 0 else float("nan")  # nan: undecided
        out[b] = {"error": float(errors.mean()), "excess": excess, "se": se, "R": float(recovered)}
        checks += [Check(f"β={b:g}: error in excess of β = 1's", excess, "above", 0.0, se=se, n_se=WORSE_N_SE),
                   Check(f"β={b:g}: R, share of β = 1's gain over the mean image", float(recovered), "below",
                         INADEQUATE_MAX_RECOVERED)]
    return judged(
        "extreme", "With β of 200-500 reconstructions stay inadequate, much worse than with small β",
        "§4.2 (text after figure 8)", CHAPTER,
        "; ".join(f"β={b:g}: error {v['error']:.2f} vs {base.mean():.2f} (β=1), R = {v['R']:.3f}" for b, v in out.items()),
        f"for every β: excess over β=1 > {WORSE_N_SE:g} s.e. and R < {INADEQUATE_MAX_RECOVERED:g}", checks,
        {"extreme": out, "error_beta1": float(base.mean()), "error_mean_image": error_mean_image})


def claim_beta0_samples_farthest(nn_prior: Mapping) -> Claim:
    """Decoded prior samples of beta = 0 are the least like real digits (figure 8), by a crude measure.

    ``nn_prior`` maps beta (0 and others) to the squared distances of decoded prior draws to their
    nearest training image. One part per positive beta: beta = 0's mean exceeds it by more than
    N_SE (3) standard errors of the difference.
    """
    nn = {b: per_image(f"nn_prior[{b:g}]", v) for b, v in by_beta("nn_prior", nn_prior, minimum=2).items()}
    if 0.0 not in nn:
        raise ValueError("nn_prior must include beta = 0")
    stats = {b: mean_se(v) for b, v in nn.items()}
    m0, se0 = stats[0.0]
    return judged(
        "beta0-nn", "β = 0 prior samples look least like digits (distance to the nearest training image)",
        "§4.2, figure 8", CHAPTER, "; ".join(f"β={b:g}: {m:.2f} ± {se:.2f}" for b, (m, se) in stats.items()),
        f"β=0's mean distance exceeds every positive β's by > {N_SE:g} s.e.",
        [Check(f"mean distance, β=0 minus β={b:g}", m0 - m, "above", 0.0, se=float(np.hypot(se0, se)), n_se=N_SE)
         for b, (m, se) in stats.items() if b > 0],
        {"mean": {b: m for b, (m, _) in stats.items()}, "se": {b: se for b, (_, se) in stats.items()}})


def claim_large_beta_near_prior(d_large: float, d_one: float, knn_large: float, knn_one: float, n_test: int,
                                beta_large: float = 50.0) -> Claim:
    """With a large beta (50) the codes stay close to the prior and separate the digits worse than beta = 1 (figure 9).

    At the last epoch, two parts: D_N smaller for the large beta, and kNN accuracy lower by more
    than N_SE (3) binomial standard errors.
    """
    d_large, d_one = real("d_large", d_large, minimum=0.0), real("d_one", d_one, minimum=0.0)
    knn_large, knn_one = fraction("knn_large", knn_large), fraction("knn_one", knn_one)
    n_test = check_int("n_test", n_test, minimum=2)
    beta_large = check_beta(beta_large)
    return judged(
        "fig9", f"With β = {beta_large:g} the codes stay near N(0, I) and separate digits worse than with β = 1",
        "§4.2, figure 9", CHAPTER, f"D_N {d_large:.3g} vs {d_one:.3g}; kNN accuracy {knn_large:.3f} vs {knn_one:.3f}",
        f"D_N smaller, and kNN accuracy lower by > {N_SE:g} s.e.",
        [Check(f"D_N, β=1 minus β={beta_large:g}", d_one - d_large, "above", 0.0),
         Check(f"kNN accuracy, β=1 minus β={beta_large:g}", knn_one - knn_large, "above", 0.0,
               se=binomial_se_difference(knn_one, knn_large, n_test), n_se=N_SE)],
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

    Summarises (:func:`vaelib.measures.metrics.summarise_vae`) the snapshots the figures and claims use:
    every snapshot of ``betas``; the first and last of 1 and ``beta_large``; the last of
    ``betas_extreme``. Returns a dict with ``show``, ``z_prior``, ``snapshot_epochs``, ``summary``
    ((beta, epoch) -> summary), ``rows`` ((beta, epoch) -> D_N, roundness, kNN accuracy, mean
    errors at z = mu and over q, KL per image, active dimensions), ``error_mean_image`` (the
    mean-image baseline error) and ``nn_prior``, ``nn_recon`` (beta -> squared distances of the
    last epoch's decoded prior draws and reconstructions to their nearest training image).
    ``x_train`` may be uint8 pixels: then only its first ``n_knn_reference`` images are ever held
    as floats (the mean image and the nearest-neighbour search read the pixels).

    The result is cached like a trained model (:func:`vaelib._runtime.cache.cached`; the key covers the
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
    error_mean_image = metrics.mean_image_error(x_train, x_test)
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
    measures = fields("measures", measures, required=("rows", "summary", "snapshot_epochs", "error_mean_image",
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
