"""Part 5: throughput across batch sizes and hidden widths, epoch time against training-set size, and
the figure scaling.png."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from .common import log, now, spread


def config_trainer(x, seed, **overrides):
    """vaelib's set-up for a TrainConfig with ``overrides``: ``fit(epochs, callbacks) -> History``."""
    import keras

    from vaelib.models.training import TrainConfig, fit_model

    keras.utils.set_random_seed(seed)
    config = TrainConfig(seed=seed, **overrides)
    model = config.build_model()
    return lambda epochs, callbacks, data=None: fit_model(
        model, TrainConfig(seed=seed, epochs=epochs, **overrides), x if data is None else data, callbacks=callbacks)


def run_scaling(x_all, settings, seed) -> dict:
    import keras
    import numpy as np

    import bench_training as bt
    from flops import dense_training_flops, model_dense_shapes
    from vaelib.models.training import TrainConfig

    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # one traced function per configuration is expected, not a warning
    n = settings["scaling_n"]
    x = x_all[:n]
    result = {"date": now(), "n_images": len(x), "grid": [], "sizes": []}
    configs = [(b, w) for w in settings["widths"] for b in settings["batches"]]
    fits = {}
    log(f"  batch x width grid on {len(x):,} images: warm-up epochs")
    for b, w in configs:
        fits[(b, w)] = config_trainer(x, seed, batch_size=b, hidden_units=w)
        fits[(b, w)](1, [])
    flops = {w: dense_training_flops(model_dense_shapes(TrainConfig(hidden_units=w).build_model()))
             for w in settings["widths"]}
    times = {c: [] for c in configs}
    for r in range(settings["scaling_rounds"]):
        for c in configs[r % len(configs):] + configs[:r % len(configs)]:
            timer = bt.EpochTimer()
            fits[c](1, [timer])
            times[c].append(timer.seconds[0])
        log(f"  grid round {r + 1}/{settings['scaling_rounds']}: " + ", ".join(
            f"b{b}/{w[0]}-{w[1]} {len(x) / times[(b, w)][-1]:,.0f}/s" for b, w in configs))
    for (b, w), t in times.items():
        result["grid"].append({"batch": b, "hidden": list(w), "flops_per_sample": flops[w],
                               "rate": spread([len(x) / s for s in t]), "seconds": t})
    fits.clear()
    keras.backend.clear_session()

    sizes = [s for s in settings["sizes"] if s <= len(x_all)]
    log(f"  epoch time against training-set size {sizes}: warm-up epochs")
    fit = config_trainer(x_all, seed)
    for s in sizes:
        fit(1, [], x_all[:s])
    size_times = {s: [] for s in sizes}
    for r in range(settings["size_rounds"]):
        for s in sizes[r % len(sizes):] + sizes[:r % len(sizes)]:
            timer = bt.EpochTimer()
            fit(1, [timer], x_all[:s])
            size_times[s].append(timer.seconds[0])
        log(f"  size round {r + 1}/{settings['size_rounds']}: "
            + ", ".join(f"{s:,}: {size_times[s][-1]:.2f} s" for s in sizes))
    med = np.array([statistics.median(size_times[s]) for s in sizes])
    n_arr = np.array(sizes, dtype=float)
    slope, intercept = np.polyfit(n_arr, med, 1)
    fitted = intercept + slope * n_arr
    ss_res, ss_tot = float(((med - fitted) ** 2).sum()), float(((med - med.mean()) ** 2).sum())
    result["sizes"] = [{"n": s, "epoch_s": spread(size_times[s]), "seconds": size_times[s]} for s in sizes]
    result["fit"] = {"slope_s_per_1000": slope * 1000, "intercept_s": float(intercept),
                     "r2": 1 - ss_res / ss_tot if ss_tot > 0 else math.nan,
                     "max_rel_dev": float(np.max(np.abs(med - fitted) / med))}
    keras.backend.clear_session()
    return result


def plot_scaling(s: dict, peak_gflops: float | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)
    widths = sorted({tuple(g["hidden"]) for g in s["grid"]})
    for w in widths:
        rows = sorted((g for g in s["grid"] if tuple(g["hidden"]) == w), key=lambda g: g["batch"])
        b = [g["batch"] for g in rows]
        for ax, scale in ((axes[0], 1.0), (axes[1], None)):
            k = 1.0 if scale else rows[0]["flops_per_sample"] / 1e9
            med = np.array([g["rate"]["median"] for g in rows]) * k
            lo = med - np.array([g["rate"]["min"] for g in rows]) * k
            hi = np.array([g["rate"]["max"] for g in rows]) * k - med
            ax.errorbar(b, med, yerr=[lo, hi], marker="o", capsize=3, label=f"hidden {w[0]}-{w[1]}")
    if peak_gflops:
        axes[1].axhline(peak_gflops, color="k", ls="--", lw=1, label=f"float32 matmul peak {peak_gflops:.0f} GFLOP/s")
        axes[1].axhline(peak_gflops / 2, color="k", ls=":", lw=1, label="50% of peak")
    for ax, ylabel, title in ((axes[0], "training images per second", "Throughput (median, min-max)"),
                              (axes[1], "GFLOP/s in the dense layers", "Arithmetic rate")):
        ax.set_xscale("log", base=2)
        batches = sorted({g["batch"] for g in s["grid"]})
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.minorticks_off()
        ax.set_xlabel("batch size")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{title}, {s['n_images']:,} images")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    n = np.array([r["n"] for r in s["sizes"]], dtype=float)
    med = np.array([r["epoch_s"]["median"] for r in s["sizes"]])
    lo = med - np.array([r["epoch_s"]["min"] for r in s["sizes"]])
    hi = np.array([r["epoch_s"]["max"] for r in s["sizes"]]) - med
    f = s["fit"]
    axes[2].errorbar(n, med, yerr=[lo, hi], marker="o", capsize=3, ls="none", label="measured (median, min-max)")
    grid = np.linspace(0, n.max() * 1.05, 50)
    axes[2].plot(grid, f["intercept_s"] + f["slope_s_per_1000"] * grid / 1000, "k--", lw=1,
                 label=f"least-squares line, R$^2$ = {f['r2']:.3f}")
    axes[2].set_xlabel("training images per epoch")
    axes[2].set_ylabel("seconds per epoch")
    axes[2].set_title("Epoch time against training-set size (batch 128)")
    axes[2].set_xlim(0)
    axes[2].set_ylim(0)
    axes[2].legend(fontsize=8)
    axes[2].grid(alpha=0.3)
    fig.suptitle("vaelib VAE training on this machine (float32, XLA-compiled step)")
    fig.savefig(path, dpi=110)
    plt.close(fig)
