"""All of vaelib's benchmarks in one run: writes benchmarks/RESULTS.md and benchmarks/scaling.png.

Parts (``--only`` selects some, comma-separated; default all):

training  vaelib's VAE training (XLA-compiled, as :func:`vaelib.models.training.train` fits it) against the
          keras.io-style reference and against vaelib with ``jit_compile=False``, on the MNIST
          training images, batch 128, float32. One untimed warm-up epoch each, then rounds in which
          every model trains one timed epoch, in turns, the first one rotating; medians over rounds.
peak      the float32 matrix-multiply peak of this machine (large ``tf.matmul``, best of several,
          several sizes), a matmul probe timed *inside* every training round as well, the exact
          FLOP count of the model's dense layers (``benchmarks/flops.py``), the fraction of the
          peak that vaelib's training reaches, and the ceiling the model's matrix shapes set (its
          dense layers' products alone, at batch 128, timed in every round as well). (Without
          ``training``, the rounds time vaelib only.)
book      every chapter ``book/[0-9][0-9]_*.ipynb`` through papermill at its defaults, first with an
          empty model cache (``VAELIB_CACHE`` set to a fresh temporary folder; the user's cache is
          never touched), then again with that cache warm; the peak resident memory of each
          chapter's kernel (with its children), polled with psutil; then the HTML build alone
          (``jupyter-book build --path-output`` into a temporary folder).
scaling   throughput across batch sizes and hidden widths, and epoch time against training-set
          size (expected linear); the figure ``scaling.png``.

Every figure is measured in the run; targets are compared in code. Results of the parts run are
merged into ``results.json`` (the parts not run keep their earlier figures, with their own date)
and ``RESULTS.md`` is regenerated from it; the section "Notes (written by hand)" of RESULTS.md is
kept as written.

Usage::

    python benchmarks/run_all.py                      # everything, writes benchmarks/ (~25-35 min,
                                                      # most of it the book with an empty cache)
    python benchmarks/run_all.py --only training,peak # some parts only (~3 min)
    python benchmarks/run_all.py --quick              # smoke run (~10-15 min): small sizes, smoke
                                                      # parameters for the chapters; prints only
    python benchmarks/run_all.py --quick --output-dir /tmp/bench   # ... and writes there

Run it on an otherwise idle machine; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import vaelib  # noqa: E402,F401  (first: its host pin, vaelib/_runtime/host.py, before NumPy and TensorFlow compute)
from peak_memory import PeakMemory, machine_busy_seconds, others_share, own_cpu_seconds  # noqa: E402 (a sibling module)

PARTS = ("training", "peak", "book", "scaling", "memory")
N_TRAIN = 60_000
BUSY = 0.10  # above this median share of the machine used by other processes, a run is flagged as disturbed
GB = 1e9  # memory is reported in decimal units: 1 GB = 10^9 bytes, 1 MB = 10^6 bytes

# The targets of issue 7 (and issue 2's earlier speed target). The verdicts are computed from these.
TARGETS = {
    "ratio": ("vaelib / keras.io-style reference, training throughput", ">=", 1.5),
    "ratio_issue2": ("the same ratio against issue 2's target", ">=", 1.3),
    "peak_fraction": ("vaelib's training FLOP rate / float32 matmul peak", ">=", 0.5),
    "book_cold_s": ("all chapters, empty model cache, seconds", "<=", 600.0),
    "book_warm_s": ("all chapters, warm model cache, seconds", "<=", 90.0),
    "html_s": ("HTML build alone, seconds", "<=", 60.0),
    "kernel_peak_gb": ("largest peak resident memory of a chapter's kernel, GB", "<=", 1.5),
    "linearity": ("epoch time against training-set size: largest deviation from the fitted line", "<=", 0.10),
    # issue 4's constraints on the results chapters alone
    "results_cold_s": ("results chapters 06-12, empty model cache, seconds", "<=", 720.0),
    "results_warm_s": ("results chapters 06-12, warm model cache, seconds", "<=", 120.0),
    "results_peak_gb": ("results chapters 06-12: largest peak kernel memory, GB", "<=", 1.5),
}
RESULTS_CHAPTERS = tuple(f"{n:02d}" for n in range(6, 13))

FULL = dict(n_train=N_TRAIN, rounds=12, sweep_sizes=(2048, 3072, 4096), sweep_repeats=5, probe_repeats=3,
            batches=(32, 64, 128, 256, 512, 1024), widths=((128, 64), (256, 128), (512, 256)),
            scaling_n=15_000, scaling_rounds=3, sizes=(7_500, 15_000, 30_000, 60_000), size_rounds=3)
QUICK = dict(n_train=15_000, rounds=2, sweep_sizes=(1024, 2048), sweep_repeats=2, probe_repeats=2,
             batches=(32, 128, 1024), widths=((128, 64), (256, 128)),
             scaling_n=4_096, scaling_rounds=1, sizes=(2_048, 4_096, 8_192), size_rounds=1)


def log(message: str = "") -> None:
    print(message, flush=True)


def spread(values) -> dict:
    """Median, min, max and quartiles of a list of numbers."""
    values = sorted(float(v) for v in values)
    if not values:
        return {"median": math.nan, "min": math.nan, "max": math.nan, "q1": math.nan, "q3": math.nan, "n": 0}
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (values[0],) * 3
    return {"median": statistics.median(values), "min": values[0], "max": values[-1], "q1": q1, "q3": q3,
            "n": len(values)}


def verdict(key: str, value) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    _, op, target = TARGETS[key]
    return value >= target if op == ">=" else value <= target


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# ----------------------------------------------------------------------------------------------
# Machine description.
# ----------------------------------------------------------------------------------------------
def machine_info() -> dict:
    import psutil
    from vaelib.probe import cpu_model

    model = cpu_model()
    versions = {}
    for name in ("tensorflow", "keras", "numpy", "papermill", "jupyter-book", "myst-nb", "psutil", "vaelib"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        commit = (commit + (" with uncommitted changes" if dirty else "")) if commit else "not a git checkout"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {
        "date": now(),
        "cpu": model,
        "logical_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": psutil.virtual_memory().total / GB,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit,
        "load_start": os.getloadavg()[0],
    }


def machine_line(info: dict) -> str:
    v = info["versions"]
    return (f"{info['cpu']}, {info['logical_cpus']} logical CPUs ({info['physical_cores']} physical cores "
            f"reported), {info['memory_gb']:.1f} GB memory; {info['os']}; Python {info['python']}, "
            f"TensorFlow {v['tensorflow']}, Keras {v['keras']}, numpy {v['numpy']}, papermill {v['papermill']}, "
            f"jupyter-book {v['jupyter-book']}, myst-nb {v['myst-nb']}; vaelib {v['vaelib']} at {info['commit']}")


# ----------------------------------------------------------------------------------------------
# Training throughput and the matmul peak, interleaved.
# ----------------------------------------------------------------------------------------------
def load_images(n: int, quick: bool):
    from vaelib.data import load_mnist, to_unit_interval

    (x_train, _), _ = load_mnist()
    x = to_unit_interval(x_train)
    if len(x) != N_TRAIN and not quick:
        raise SystemExit(f"the benchmarks need the full {N_TRAIN:,} MNIST training images, got {len(x):,} "
                         "(set VAELIB_MNIST to a verified mnist.npz; see benchmarks/README.md)")
    if len(x) < n:
        log(f"note: only {len(x):,} training images available; using all of them")
    return x[:n]


def config_trainer(x, seed, **overrides):
    """vaelib's set-up for a TrainConfig with ``overrides``: ``fit(epochs, callbacks) -> History``."""
    import keras

    from vaelib.models.training import TrainConfig, fit_model

    keras.utils.set_random_seed(seed)
    config = TrainConfig(seed=seed, **overrides)
    model = config.build_model()
    return lambda epochs, callbacks, data=None: fit_model(
        model, TrainConfig(seed=seed, epochs=epochs, **overrides), x if data is None else data, callbacks=callbacks)


class MatmulProbe:
    """Times ``tf.matmul`` of two n x n float32 matrices (inside a tf.function; the result is reduced
    to a scalar so that only 8 bytes leave the graph). GFLOP/s counts 2 n^3 operations per product."""

    def __init__(self, n: int):
        import tensorflow as tf

        self.n = n
        self.a = tf.random.stateless_normal((n, n), seed=(1, 2), dtype=tf.float32)
        self.b = tf.random.stateless_normal((n, n), seed=(3, 4), dtype=tf.float32)
        self.fn = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
        float(self.fn(self.a, self.b))  # trace and warm up

    def time(self, repeats: int) -> list[float]:
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            float(self.fn(self.a, self.b))
            rates.append(2 * self.n ** 3 / (time.perf_counter() - start) / 1e9)
        return rates


class DenseProductsProbe:
    """The training step's dense-layer matrix products alone, at its batch size: one epoch's steps,
    each computing for every layer the forward product ``x W``, the weight gradient ``x^T dy`` and
    (except for the data layer) the input gradient ``dy W^T``: exactly the operations that
    ``flops.dense_training_flops`` counts, with no activation, loss, sampling, optimizer or input
    pipeline. Each step moves the weights by a small multiple of their gradient, so that no product
    can be hoisted out of the loop (XLA-compiled, as vaelib's step). Its rate is the ceiling that
    the model's own matrix shapes put on the training step's FLOP rate."""

    def __init__(self, shapes, batch_size: int, steps: int):
        import tensorflow as tf

        from flops import dense_training_flops

        self.flops = batch_size * steps * dense_training_flops(shapes)
        xs = [tf.random.stateless_uniform((batch_size, s.n_in), seed=(i, 1)) for i, s in enumerate(shapes)]
        dys = [tf.random.stateless_normal((batch_size, s.n_out), seed=(i, 2)) for i, s in enumerate(shapes)]
        self.weights = [0.05 * tf.random.stateless_normal((s.n_in, s.n_out), seed=(i, 3))
                        for i, s in enumerate(shapes)]
        input_gradients = [s.input_gradient for s in shapes]

        def step(i, weights, total):
            moved = []
            for x, dy, w, input_gradient in zip(xs, dys, weights, input_gradients):
                y = tf.matmul(x, w)  # forward
                moved.append(w - 1e-6 * tf.matmul(x, dy + 1e-6 * y, transpose_a=True))  # weight gradient
                if input_gradient:
                    total += tf.reduce_sum(tf.matmul(dy, w, transpose_b=True))  # input gradient
            return i + 1, moved, total

        @tf.function(jit_compile=True)
        def epoch(weights):
            _, weights, total = tf.while_loop(lambda i, *_: i < steps, step, (0, weights, 0.0))
            return total + tf.add_n([tf.reduce_sum(w) for w in weights])

        self.epoch = epoch
        float(self.epoch(self.weights))  # trace, compile and warm up

    def time(self) -> float:
        """GFLOP/s of one epoch's products."""
        start = time.perf_counter()
        float(self.epoch(self.weights))
        return self.flops / (time.perf_counter() - start) / 1e9


def run_training(x, settings, seed, *, training: bool, peak: bool) -> dict:
    """Interleaved rounds: each training member trains one timed epoch, and (with ``peak``) the
    matmul probe and the dense-products probe run, in turns, the first member rotating from round to
    round."""
    import keras

    import bench_training as bt
    from flops import dense_training_flops, model_dense_shapes
    from vaelib.models.training import JIT_COMPILE, TrainConfig

    members = {"vaelib": ("vaelib as train() fits it (XLA-compiled step, steps_per_execution=32)",
                          bt.vaelib_trainer)}
    if training:
        members["no-xla"] = ("vaelib with jit_compile=False (plain TensorFlow graph)",
                             lambda x, s: bt.vaelib_trainer(x, s, jit_compile=False))
        members["reference"] = ("keras.io-style dense VAE: compile(Adam()), fit(x, batch_size=128)",
                                bt.reference_trainer)
    n_params = bt.check_same_work(x)
    shapes = model_dense_shapes(TrainConfig().build_model())
    flops_per_sample = dense_training_flops(shapes)
    keras.backend.clear_session()
    result = {"date": now(), "n_images": len(x), "batch_size": bt.BATCH_SIZE, "rounds": settings["rounds"],
              "jit_compile": JIT_COMPILE, "n_params": n_params, "flops_per_sample": flops_per_sample,
              "layers": [dataclasses.asdict(s) for s in shapes],
              "members": {name: {"what": what, "wall": [], "cpu": [], "others": [], "first": None, "loss": None}
                          for name, (what, _) in members.items()}}
    if peak:
        log(f"  matmul peak sweep: sizes {settings['sweep_sizes']}, best of {settings['sweep_repeats']}")
        sweep = {}
        for n in settings["sweep_sizes"]:
            sweep[n] = MatmulProbe(n).time(settings["sweep_repeats"])
            log(f"    {n} x {n}: best {max(sweep[n]):.1f} GFLOP/s (median {statistics.median(sweep[n]):.1f})")
        probe_n = max(sweep, key=lambda n: max(sweep[n]))
        probe = MatmulProbe(probe_n)
        result["sweep"] = {str(n): rates for n, rates in sweep.items()}
        result["probe_n"], result["probe"] = probe_n, []
        products = DenseProductsProbe(shapes, bt.BATCH_SIZE, -(-len(x) // bt.BATCH_SIZE))
        result["products"] = []
    fits = {}
    for name, (_, factory) in members.items():
        fits[name] = factory(x, seed)
        timer = bt.EpochTimer()
        fits[name](1, [timer])
        result["members"][name]["first"] = timer.seconds[0]
        log(f"  warm-up {name:>10}: first epoch {timer.seconds[0]:.2f} s")
    order = list(members) + (["matmul", "products"] if peak else [])
    loads = []
    for r in range(settings["rounds"]):
        loads.append(os.getloadavg()[0])
        parts = []
        for name in order[r % len(order):] + order[:r % len(order)]:
            if name == "matmul":
                rates = probe.time(settings["probe_repeats"])
                result["probe"].append(max(rates))
                parts.append(f"matmul {max(rates):.0f} GFLOP/s")
                continue
            if name == "products":
                result["products"].append(products.time())
                parts.append(f"dense products alone {result['products'][-1]:.0f} GFLOP/s")
                continue
            timer = bt.EpochTimer()
            history = fits[name](1, [timer])
            entry = result["members"][name]
            entry["wall"].append(timer.seconds[0])
            entry["cpu"].append(timer.cpu_seconds[0])
            entry["others"].append(timer.others[0])
            entry["loss"] = float(history.history["loss"][-1])
            parts.append(f"{name} {len(x) / timer.seconds[0]:,.0f}/s")
        log(f"  round {r + 1:>2}/{settings['rounds']}: " + "; ".join(parts))
    loads.append(os.getloadavg()[0])
    result["loads"] = loads
    keras.backend.clear_session()
    return result


def summarize_training(t: dict) -> dict:
    """Throughputs, ratios and the fraction of peak from the raw per-round timings."""
    n = t["n_images"]
    out = {"members": {}}
    for name, e in t["members"].items():
        out["members"][name] = {"rate": spread([n / s for s in e["wall"]]), "cpu_rate": spread([n / s for s in e["cpu"]]),
                                "epoch_s": statistics.median(e["wall"]), "best_s": min(e["wall"]),
                                "cpu_s": statistics.median(e["cpu"]), "others": statistics.median(e["others"])}
    v = t["members"]["vaelib"]["wall"]
    for other, key in (("reference", "ratio"), ("no-xla", "xla_gain")):
        if other in t["members"]:
            w = t["members"][other]["wall"]
            out[key] = spread([b / a for a, b in zip(v, w)])  # per round: other's epoch time / vaelib's
            out[key + "_cpu"] = spread([b / a for a, b in zip(t["members"]["vaelib"]["cpu"],
                                                            t["members"][other]["cpu"])])
            out[key + "_best"] = min(w) / min(v)
    if "probe" in t:
        peak = max(max(max(r) for r in t["sweep"].values()), max(t["probe"], default=0.0)) * 1e9
        f = t["flops_per_sample"]
        out["peak_gflops"] = peak / 1e9
        out["probe"] = spread(t["probe"])
        out["vaelib_gflops"] = spread([f * n / s / 1e9 for s in v])
        out["fraction"] = spread([f * n / s / peak for s in v])  # against the best matmul of the run
        out["fraction_paired"] = spread([f * n / s / (p * 1e9) for s, p in zip(v, t["probe"])])
        out["fraction_best_epoch"] = f * n / min(v) / peak
        if t.get("products"):  # runs before this probe existed lack it
            out["products_gflops"] = spread(t["products"])
            out["products_fraction"] = spread([p * 1e9 / peak for p in t["products"]])
            out["share_of_products"] = spread([f * n / s / (p * 1e9) for s, p in zip(v, t["products"])])
    return out


# ----------------------------------------------------------------------------------------------
# The book: papermill (empty cache, warm cache), kernel memory, HTML build.
# ----------------------------------------------------------------------------------------------
def run_book(quick: bool, only_chapters=None) -> dict:
    import logging

    import papermill
    import yaml

    logging.getLogger("papermill").setLevel(logging.ERROR)  # its parameter-parsing notes are not results

    chapters = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    if only_chapters:
        chapters = [c for c in chapters if c.name[:2] in only_chapters]
    smoke = yaml.safe_load((ROOT / "book" / "smoke_parameters.yml").read_text()) or {} if quick else {}
    skipped = [c.name for c in chapters if quick and c.name not in smoke]
    if skipped:  # at their defaults they could train for minutes: not a smoke run
        log(f"  quick: skipping chapters without smoke parameters in book/smoke_parameters.yml: {skipped}")
        chapters = [c for c in chapters if c.name not in skipped]
    result = {"date": now(), "quick": quick, "chapters": {c.name: {} for c in chapters}, "skipped": skipped,
              "subset": bool(only_chapters)}
    cache = Path(tempfile.mkdtemp(prefix="vaelib-bench-cache-"))
    out = Path(tempfile.mkdtemp(prefix="vaelib-bench-notebooks-"))
    saved = {k: os.environ.get(k) for k in ("VAELIB_CACHE", "TF_CPP_MIN_LOG_LEVEL")}
    os.environ["VAELIB_CACHE"] = str(cache)  # the kernels inherit it; the user's cache is not touched
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result["loads"] = [os.getloadavg()[0]]
    try:
        for phase in ("cold", "warm"):
            log(f"  {phase} cache ({cache}):")
            for chapter in chapters:
                # per executed code cell: [index, seconds, peak GB while it ran, growth of the peak over the
                # memory at its start, GB]
                cells, started = [], {}

                def cell_start(cell, cell_index, **_):
                    memory.take_window()
                    started[cell_index] = time.perf_counter(), memory.current

                def cell_done(cell, cell_index, **_):
                    t0, rss0 = started[cell_index]
                    peak = memory.take_window()
                    cells.append([cell_index, time.perf_counter() - t0, peak / GB, (peak - rss0) / GB])

                start, busy, own = time.perf_counter(), machine_busy_seconds(), own_cpu_seconds()
                with PeakMemory() as memory:
                    try:
                        papermill.execute_notebook(chapter, out / f"{phase}_{chapter.name}",
                                                   parameters=(smoke or {}).get(chapter.name) or {},
                                                   cwd=str(out), kernel_name="python3", progress_bar=False,
                                                   on_cell_start=cell_start, on_cell_executed=cell_done)
                        status = "ok"
                    except Exception as error:  # keep measuring the other chapters, report the failure
                        status = f"FAILED: {type(error).__name__}: {str(error).strip().splitlines()[-1][:300]}"
                seconds = time.perf_counter() - start
                others = others_share(machine_busy_seconds() - busy, own_cpu_seconds() - own, seconds)
                timed = cells
                slowest = max(timed, key=lambda c: c[1], default=None)
                biggest = max(timed, key=lambda c: c[3], default=None)
                result["loads"].append(os.getloadavg()[0])
                result["chapters"][chapter.name][phase] = {
                    "seconds": seconds, "peak_gb": memory.peak / GB, "status": status, "others": others, "cells": timed,
                    "slowest_cell": slowest, "largest_cell": biggest}
                log(f"    {chapter.name:<32} {seconds:7.1f} s  peak RSS {memory.peak / GB:5.2f} GB  "
                    f"other programs {others:.0%}  {status}"
                    + (f"  (slowest cell {slowest[0]}: {slowest[1]:.1f} s; largest memory growth in cell "
                       f"{biggest[0]}: +{biggest[3]:.2f} GB to {biggest[2]:.2f} GB)" if timed else ""))
        entries = [p for p in cache.rglob("*") if p.is_file()]
        result["cache_files"], result["cache_gb"] = len(entries), sum(p.stat().st_size for p in entries) / GB
        result["cached_work"] = cached_work(cache)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)

    build = Path(tempfile.mkdtemp(prefix="vaelib-bench-html-"))
    jb = Path(sys.executable).with_name("jupyter-book")
    command = [str(jb) if jb.exists() else "jupyter-book", "build", str(ROOT), "--path-output", str(build)]
    log(f"  HTML build: {' '.join(command)}")
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    pages = len(list((build / "_build" / "html").rglob("*.html")))
    ok = done.returncode == 0 and (build / "_build" / "html" / "index.html").exists()
    result["html"] = {"seconds": seconds, "status": "ok" if ok else f"FAILED (exit {done.returncode}): "
                      + (done.stderr or done.stdout).strip()[-300:], "pages": pages}
    log(f"    {seconds:.1f} s, {pages} HTML pages, {result['html']['status']}")
    shutil.rmtree(build, ignore_errors=True)
    return result


def cached_work(cache: Path) -> dict:
    """What the cold pass computed and cached: models trained (the digit classifier included; their
    fit() seconds and epochs) and other cached computations (seconds), read from the entries' manifests."""
    work = {"models": 0, "train_s": 0.0, "epochs": 0, "other": 0, "other_s": 0.0}
    for manifest in cache.glob("*/manifest.json"):
        metadata = json.loads(manifest.read_text())["content"]["metadata"]
        config = metadata.get("config", {})
        if "train_seconds" in metadata:
            work["models"] += 1
            work["train_s"] += metadata["train_seconds"]
            work["epochs"] += int(config.get("epochs", 0))
        elif "seconds" in metadata:
            work["other"] += 1
            work["other_s"] += metadata["seconds"]
    return work


def summarize_results_chapters(b: dict) -> dict | None:
    """Issue 4's figures: chapters 06-12 only (None unless every one of them ran, at its defaults)."""
    chapters = {name: c for name, c in b["chapters"].items() if name[:2] in RESULTS_CHAPTERS}
    if b["quick"] or sorted(name[:2] for name in chapters) != list(RESULTS_CHAPTERS):
        return None
    ok = all(c[phase]["status"] == "ok" for c in chapters.values() for phase in ("cold", "warm"))
    return {"cold_s": sum(c["cold"]["seconds"] for c in chapters.values()),
            "warm_s": sum(c["warm"]["seconds"] for c in chapters.values()),
            "peak_gb": max(max(c["cold"]["peak_gb"], c["warm"]["peak_gb"]) for c in chapters.values()),
            "over": sorted(name for name, c in chapters.items()
                           if max(c["cold"]["peak_gb"], c["warm"]["peak_gb"]) > TARGETS["results_peak_gb"][2]),
            "ok": ok}


def book_others_share(b: dict) -> float | None:
    """Share of the machine other programs used during the book part, weighted by the chapters'
    seconds (None for runs made before it was measured)."""
    runs = [r for c in b["chapters"].values() for r in c.values()]
    if not runs or any("others" not in r for r in runs):
        return None
    return sum(r["others"] * r["seconds"] for r in runs) / sum(r["seconds"] for r in runs)


def summarize_book(b: dict) -> dict:
    ch = b["chapters"].values()
    ok = lambda phase: all(c.get(phase, {}).get("status") == "ok" for c in ch)  # noqa: E731
    return {"cold_s": sum(c["cold"]["seconds"] for c in ch), "warm_s": sum(c["warm"]["seconds"] for c in ch),
            "cold_ok": ok("cold"), "warm_ok": ok("warm"),
            "peak_gb": max(max(c["cold"]["peak_gb"], c["warm"]["peak_gb"]) for c in ch),
            "html_s": b["html"]["seconds"], "html_ok": b["html"]["status"] == "ok"}


def run_memory_floor() -> dict:
    """benchmarks/memory_floor.py in a fresh process: resident memory after each step a chapter takes."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, str(HERE / "memory_floor.py")], capture_output=True, text=True, env=env,
                          cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise RuntimeError(f"memory_floor.py failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]), date=now())


# ----------------------------------------------------------------------------------------------
# Growth: batch sizes, widths, training-set sizes.
# ----------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------
# RESULTS.md
# ----------------------------------------------------------------------------------------------
NOTES_HEADING = "## Notes (written by hand)"


def _s(sp: dict, fmt: str = ".2f") -> str:
    return f"{sp['median']:{fmt}} ({sp['min']:{fmt}} - {sp['max']:{fmt}})"


def _rounds(n: int) -> str:
    return f"{n} round" + ("" if n == 1 else "s")


def _met(ok) -> str:
    return "**met**" if ok else ("not tested" if ok is None else "**NOT met**")


def render(data: dict, notes: str) -> str:
    info = data.get("machine", {})
    lines = ["# Benchmark results", "",
             "Generated by `python benchmarks/run_all.py` (see `benchmarks/README.md`) from `results.json`; "
             "do not edit by hand, except the section \"Notes\" at the end, which the script keeps. "
             "Every figure below was measured by the script; every verdict is computed from it.", ""]
    summary = []  # (target key, value text, spread text, verdict, date)
    t, b, sc, mf = data.get("training"), data.get("book"), data.get("scaling"), data.get("memory")
    ts = summarize_training(t) if t else None
    if ts and "ratio" in ts:
        for key in ("ratio", "ratio_issue2"):
            summary.append((key, f"{ts['ratio']['median']:.2f}x",
                            f"min {ts['ratio']['min']:.2f} - max {ts['ratio']['max']:.2f} over {_rounds(ts['ratio']['n'])}",
                            verdict(key, ts["ratio"]["median"]), t["date"]))
    if ts and "fraction" in ts:
        summary.append(("peak_fraction", f"{ts['fraction']['median']:.0%}",
                        f"{ts['fraction']['min']:.0%} - {ts['fraction']['max']:.0%} over rounds; paired with the "
                        f"in-round probe {ts['fraction_paired']['median']:.0%}",
                        verdict("peak_fraction", ts["fraction"]["median"]), t["date"]))
    if b:
        bs = summarize_book(b)
        suffix = " (quick run: smoke parameters, not the target's conditions)" if b["quick"] else ""
        if b.get("subset"):
            suffix += f" (only {len(b['chapters'])} chapters: not the whole book)"
        applies = None if b["quick"] or b.get("subset") else True  # a verdict only under the target's conditions
        summary += [
            ("book_cold_s", f"{bs['cold_s']:.0f} s", ("all chapters ok" if bs["cold_ok"] else "A CHAPTER FAILED") + suffix,
             applies and verdict("book_cold_s", bs["cold_s"]) and bs["cold_ok"], b["date"]),
            ("book_warm_s", f"{bs['warm_s']:.0f} s", ("all chapters ok" if bs["warm_ok"] else "A CHAPTER FAILED") + suffix,
             applies and verdict("book_warm_s", bs["warm_s"]) and bs["warm_ok"], b["date"]),
            ("html_s", f"{bs['html_s']:.0f} s", f"{b['html']['pages']} pages, {b['html']['status'][:80]}",
             verdict("html_s", bs["html_s"]) and bs["html_ok"], b["date"]),
            ("kernel_peak_gb", f"{bs['peak_gb']:.2f} GB", "largest over chapters and both passes" + suffix,
             applies and verdict("kernel_peak_gb", bs["peak_gb"]), b["date"])]
        rs = summarize_results_chapters(b)
        if rs:
            state = "all seven ok" if rs["ok"] else "A CHAPTER FAILED"
            summary += [
                ("results_cold_s", f"{rs['cold_s']:.0f} s", state, verdict("results_cold_s", rs["cold_s"]) and rs["ok"],
                 b["date"]),
                ("results_warm_s", f"{rs['warm_s']:.0f} s", state, verdict("results_warm_s", rs["warm_s"]) and rs["ok"],
                 b["date"]),
                ("results_peak_gb", f"{rs['peak_gb']:.2f} GB",
                 "over the target: " + (", ".join(n[:2] for n in rs["over"]) or "none"),
                 verdict("results_peak_gb", rs["peak_gb"]), b["date"])]
    if sc:
        f = sc["fit"]
        summary.append(("linearity", f"{f['max_rel_dev']:.1%}", f"R^2 = {f['r2']:.4f}, "
                        f"{f['slope_s_per_1000']:.3f} s per 1,000 images {'+' if f['intercept_s'] >= 0 else '-'} {abs(f['intercept_s']):.2f} s",
                        verdict("linearity", f["max_rel_dev"]), sc["date"]))
    lines += ["## Targets", "", "| target | measured | spread / detail | target | verdict | measured on |",
              "|---|---:|---|---|---|---|"]
    for key, value, detail, ok, date in summary:
        what, op, target = TARGETS[key]
        tt = f"{op} {target:.0%}" if key in ("peak_fraction", "linearity") else f"{op} {target:g}"
        lines.append(f"| {what} | {value} | {detail} | {tt} | {_met(ok)} | {date} |")
    missing = [k for k in TARGETS if k not in {s[0] for s in summary}]
    if missing:
        lines += ["", "Not measured yet (run the corresponding part): " + ", ".join(missing) + "."]
    if ts:
        others = max(m["others"] for m in ts["members"].values())
        if others > BUSY:
            lines += ["", f"**Warning:** other processes used {others:.0%} of the machine (median over the timed "
                          f"epochs of part 1) while it was measured on {t['date']}: the machine was not idle, and "
                          "the throughputs, the matmul peak and so the fraction of peak are not representative "
                          "(contention slows the two-core matrix product more than the training step). Rerun on "
                          "an idle machine."]
    book_others = book_others_share(b) if b else None
    if book_others is not None and book_others > BUSY:
        lines += ["", f"**Warning:** other programs used {book_others:.0%} of the machine during the book part "
                      f"({b['date']}; time-weighted over its chapters): its times are not representative."]
    disturbed = any("**Warning:**" in line for line in lines)
    lines += ["", "### Headline (for the README)", "",
              ("(Do not quote: measured while the machine was busy, see the warning above.) " if disturbed else "")
              + ("(Do not quote: a --quick run.) " if data.get("quick") else "") + headline(data, ts), ""]
    lines += ["", "## Machine", "", f"Last run: {info.get('date', '?')} ({', '.join(data.get('last_parts', []))}"
              f"{'; quick' if data.get('quick') else ''}). {machine_line(info) if info else ''}.",
              f"Load average (1 min) at the start of the last run: {info.get('load_start', math.nan):.2f}. "
              "Each part below gives its own date; a part not run in the last run keeps its earlier figures.", ""]

    if t:
        lines += ["## 1. Training throughput", "",
                  f"Measured {t['date']}: {t['n_images']:,} MNIST training images, batch {t['batch_size']}, "
                  f"float32, no validation data, {t['n_params']:,} trainable parameters in each model "
                  f"(vaelib's `JIT_COMPILE` = {t['jit_compile']}). One untimed warm-up epoch per model, then "
                  f"{_rounds(t['rounds'])} in which each model trains one timed epoch, in turns, the first rotating"
                  + (" (the matmul probe of part 2 takes its turn too)" if "probe" in t else "")
                  + ". Load average at the start of each round and at the end: "
                  + ", ".join(f"{v:.1f}" for v in t["loads"]) + ".", "",
                  "| model | what | images/s: median (min - max) | median s/epoch | fastest epoch, s | "
                  "images per CPU-second: median | other processes' share of the machine: median | "
                  "first epoch, s | last loss |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, m in ts["members"].items():
            e = t["members"][name]
            lines.append(f"| {name} | {e['what']} | {_s(m['rate'], ',.0f')} | {m['epoch_s']:.2f} | {m['best_s']:.2f} | "
                         f"{m['cpu_rate']['median']:,.0f} | {m['others']:.0%} | {e['first']:.1f} | {e['loss']:.2f} |")
        lines.append("")
        if "ratio" in ts:
            r = ts["ratio"]
            lines.append(f"**vaelib / reference: {r['median']:.2f}x** (median of the per-round ratios; min "
                         f"{r['min']:.2f}, max {r['max']:.2f}, interquartile range {r['q1']:.2f} - {r['q3']:.2f}); "
                         f"per CPU-second {_s(ts['ratio_cpu'])}; fastest epoch against fastest epoch "
                         f"{ts['ratio_best']:.2f}x. Issue 7's target (>= 1.5x): {_met(verdict('ratio', r['median']))}; "
                         f"issue 2's (>= 1.3x): {_met(verdict('ratio_issue2', r['median']))}.")
        if "xla_gain" in ts:
            g = ts["xla_gain"]
            lines += ["", f"XLA (vaelib as is) / vaelib without XLA (`jit_compile=False`): {_s(g)} per round; per "
                          f"CPU-second {_s(ts['xla_gain_cpu'])}; fastest epochs {ts['xla_gain_best']:.2f}x."]
        lines.append("")
    if t and "probe" in t:
        layer_text = ", ".join(f"{l['n_in']}x{l['n_out']}" + ("" if l["input_gradient"] else " (data input)")
                               for l in t["layers"])
        lines += ["## 2. Near the limit: fraction of the float32 matmul peak", "",
                  f"Measured {t['date']} in the same run as part 1. Peak: `tf.matmul` of two n x n float32 "
                  "matrices in a `tf.function`, 2 n^3 operations each; sweep before the rounds (best and median "
                  f"per size): " + "; ".join(f"n = {n}: best {max(v):.1f}, median {statistics.median(v):.1f} GFLOP/s"
                                            for n, v in t["sweep"].items())
                  + f". In every round a probe (n = {t['probe_n']}, best of the round's products) ran between the "
                  f"training epochs: {_s(ts['probe'], '.1f')} GFLOP/s. **Peak (best of the run): "
                  f"{ts['peak_gflops']:.1f} GFLOP/s.**", "",
                  f"Training FLOPs per image in the dense layers (`benchmarks/flops.py`, tested in "
                  f"`tests/test_benchmarks.py`): forward 2·in·out per layer, weight gradients 2·in·out, input "
                  f"gradients 2·in·out except for the first encoder layer, over the layers {layer_text}: "
                  f"**{t['flops_per_sample']:,} FLOPs per image** (elementwise work, bias additions and Adam's update "
                  "not counted).", "",
                  f"vaelib's training: {_s(ts['vaelib_gflops'], '.1f')} GFLOP/s over the rounds = "
                  f"**{ts['fraction']['median']:.1%} of the peak** (min {ts['fraction']['min']:.1%}, max "
                  f"{ts['fraction']['max']:.1%}); each round against the probe of the same round: "
                  f"{_s(ts['fraction_paired'], '.1%')}; fastest epoch: {ts['fraction_best_epoch']:.1%}. "
                  f"Target >= 50%: {_met(verdict('peak_fraction', ts['fraction']['median']))}.", ""]
        if "products_gflops" in ts:
            lines += [f"The ceiling the model's matrix shapes set: its dense layers' products alone (forward, weight "
                      f"and input gradients of every layer at batch {t['batch_size']}, one epoch's steps in one "
                      "XLA-compiled loop, nothing else; `DenseProductsProbe` in `run_all.py`), timed in every round: "
                      f"{_s(ts['products_gflops'], '.1f')} GFLOP/s = **{ts['products_fraction']['median']:.1%} of the "
                      f"peak** ({ts['products_fraction']['min']:.1%} - {ts['products_fraction']['max']:.1%}). "
                      "vaelib's training reaches, round by round, "
                      f"**{ts['share_of_products']['median']:.0%} of this ceiling** "
                      f"({ts['share_of_products']['min']:.0%} - {ts['share_of_products']['max']:.0%}).", ""]
    if b:
        bs = summarize_book(b)
        applies = None if b["quick"] or b.get("subset") else True
        lines += ["## 3-4. The whole book: execution time and kernel memory", "",
                  f"Measured {b['date']}"
                  + (" (QUICK run: chapters at book/smoke_parameters.yml, not their defaults)" if b["quick"]
                     else ": every chapter at its default parameters") +
                  ", executed by papermill (`kernel python3`, in a temporary working directory); seconds include "
                  "kernel start-up. Cold: `VAELIB_CACHE` pointing at a fresh, empty temporary folder (every "
                  "model trains). Warm: the same folder, second pass. Peak memory: largest sum of the resident "
                  "set sizes of the kernel process and its children, polled every 0.05 s with psutil "
                  f"(1 GB = 10^9 bytes). The cold pass left {b.get('cache_files', 0)} cache files, "
                  f"{b.get('cache_gb', 0) * 1000:.1f} MB."
                  + (lambda w: f" It trained {w['models']} models, the digit classifier included ({w['epochs']} epochs in all), whose fit() calls took "
                     f"{w['train_s']:.0f} s of the cold pass's {bs['cold_s']:.0f} s, and cached {w['other']} other "
                     f"computations taking {w['other_s']:.0f} s (times from the cache entries' metadata)."
                     if w else "")(b.get("cached_work"))
                  + (f" Skipped (no smoke parameters): {', '.join(b['skipped'])}." if b.get("skipped") else "")
                  + (" Load average (1 min) at the start and after each chapter: "
                     + ", ".join(f"{v:.1f}" for v in b["loads"]) + " (it counts the kernels' own threads too)."
                     if b.get("loads") else "")
                  + (lambda o: "" if o is None else
                     f" Other programs' share of the machine (busy CPU time from /proc/stat minus this run's and its "
                     f"kernels'), weighted by the chapters' seconds: {o:.1%}; largest for one chapter: "
                     f"{max(r['others'] for c in b['chapters'].values() for r in c.values()):.1%}.")(book_others_share(b)),
                  "",
                  "| chapter | cold cache, s | warm cache, s | peak memory cold, GB | peak memory warm, GB | "
                  "slowest cell (cold): index, s | cell whose peak memory grew most (cold): index, +GB to GB | status |",
                  "|---|---:|---:|---:|---:|---:|---:|---|"]
        for name, c in b["chapters"].items():
            status = "ok" if c["cold"]["status"] == c["warm"]["status"] == "ok" else \
                f"cold: {c['cold']['status']}; warm: {c['warm']['status']}"
            slow, big = c["cold"].get("slowest_cell"), c["cold"].get("largest_cell")
            lines.append(f"| {name} | {c['cold']['seconds']:.1f} | {c['warm']['seconds']:.1f} | "
                         f"{c['cold']['peak_gb']:.2f} | {c['warm']['peak_gb']:.2f} | "
                         + (f"{slow[0]}: {slow[1]:.1f}" if slow else "-") + " | "
                         + (f"{big[0]}: +{big[3]:.2f} to {big[2]:.2f}" if big else "-") + f" | {status} |")
        lines += [f"| **total** | **{bs['cold_s']:.1f}** | **{bs['warm_s']:.1f}** | max {bs['peak_gb']:.2f} | | | | |",
                  "", "Cell indices count all cells of the executed notebook from 0 (papermill's injected "
                  "parameters cell included).", "",
                  f"HTML build alone (`jupyter-book build . --path-output <temporary folder>`, a clean build from the "
                  f"stored outputs): **{bs['html_s']:.1f} s**, {b['html']['pages']} pages, {b['html']['status']}.", "",
                  f"Targets: cold <= 600 s {_met(applies and verdict('book_cold_s', bs['cold_s']) and bs['cold_ok'])}; "
                  f"warm <= 90 s {_met(applies and verdict('book_warm_s', bs['warm_s']) and bs['warm_ok'])}; HTML <= 60 s "
                  f"{_met(verdict('html_s', bs['html_s']) and bs['html_ok'])}; every kernel <= 1.5 GB "
                  f"{_met(applies and verdict('kernel_peak_gb', bs['peak_gb']))}"
                  + (" (verdicts on the chapters only for a full run of every chapter)." if not applies else "."), ""]
    if mf:
        rows = mf["steps"]
        lines += ["### Where a kernel's memory goes", "",
                  f"Measured {mf['date']} by `benchmarks/memory_floor.py` in a fresh process (no notebook kernel: "
                  "an ipykernel adds about 0.05 GB), "
                  + ("full MNIST" if mf.get("full_mnist") else "the fallback data (full MNIST was not found)")
                  + ". Resident memory after each step a results chapter takes, in the order it takes them; "
                  "file-backed: pages of shared libraries (TensorFlow's own code), counted in the resident set.", "",
                  "| step | resident after, GB | peak during, GB | of which file-backed, GB | s |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {r['step']} | {r['rss_gb']:.2f} | {r['peak_gb']:.2f} | {r['file_backed_gb']:.2f} | "
                  f"{r['seconds']:.1f} |" for r in rows]
        tf_step = next(r for r in rows if r["step"].startswith("tensorflow"))
        data_step = next(r for r in rows if r["step"].startswith("MNIST"))
        fit_step = next(r for r in rows if r["step"].startswith("one epoch"))
        lines += ["", f"Importing TensorFlow and Keras alone brings the process to {tf_step['rss_gb']:.2f} GB "
                  f"({tf_step['file_backed_gb']:.2f} GB of it library pages); MNIST loaded (uint8 training pixels, float32 test "
                  f"images) takes it to {data_step['rss_gb']:.2f} GB before a chapter has done anything, and one epoch of training "
                  f"peaks at {fit_step['peak_gb']:.2f} GB, "
                  + ("above" if fit_step["peak_gb"] > TARGETS["kernel_peak_gb"][2] else "within")
                  + f" the {TARGETS['kernel_peak_gb'][2]} GB target before any chapter-specific work: the floor a "
                  "chapter that trains in its kernel starts from.", ""]
    if sc:
        f = sc["fit"]
        lines += ["## 5. Growth: batch size, width, training-set size", "",
                  f"Measured {sc['date']}; figure `scaling.png`. Throughput on {sc['n_images']:,} images, one "
                  "untimed warm-up epoch per configuration, then rounds of one timed epoch each, in turns "
                  "(images/s, median (min - max); GFLOP/s from the dense-layer count of part 2):", "",
                  "| hidden | batch | images/s | GFLOP/s (median) |", "|---|---:|---:|---:|"]
        for g in sc["grid"]:
            lines.append(f"| {g['hidden'][0]}-{g['hidden'][1]} | {g['batch']} | {_s(g['rate'], ',.0f')} | "
                         f"{g['rate']['median'] * g['flops_per_sample'] / 1e9:.1f} |")
        lines += ["", "Epoch time against training-set size (default model, batch 128):", "",
                  "| images | s/epoch: median (min - max) | s per 1,000 images |", "|---:|---:|---:|"]
        for r in sc["sizes"]:
            lines.append(f"| {r['n']:,} | {_s(r['epoch_s'])} | {r['epoch_s']['median'] / r['n'] * 1000:.3f} |")
        lines += ["", f"Least-squares line: {f['slope_s_per_1000']:.3f} s per 1,000 images {'+' if f['intercept_s'] >= 0 else '-'} {abs(f['intercept_s']):.2f} s, "
                      f"R^2 = {f['r2']:.4f}; largest deviation of a median from the line {f['max_rel_dev']:.1%} "
                      f"(linear within 10 %: {_met(verdict('linearity', f['max_rel_dev']))}).", ""]
    lines += [NOTES_HEADING, "", notes.strip() or "(none)", ""]
    return "\n".join(lines)


def headline(data: dict, ts: dict | None) -> str:
    """A README-ready sentence with the headline figures of ``data`` (those measured)."""
    info, t, b = data.get("machine", {}), data.get("training"), data.get("book")
    claims = []
    if ts and "ratio" in ts:
        claims.append(f"vaelib trains the report's VAE (batch 128, float32) at "
                      f"{ts['members']['vaelib']['rate']['median']:,.0f} MNIST images per second, "
                      f"{ts['ratio']['median']:.2f}x the plain keras.io-style reference (median of "
                      f"{ts['ratio']['n']} interleaved rounds, range {ts['ratio']['min']:.2f}-{ts['ratio']['max']:.2f}; "
                      f"target 1.5x {'met' if verdict('ratio', ts['ratio']['median']) else 'not met'})")
    if ts and "fraction" in ts:
        claims.append(f"its dense layers run at {ts['fraction']['median']:.0%} of this machine's float32 "
                      f"matrix-multiply peak of {ts['peak_gflops']:.0f} GFLOP/s (target 50% "
                      f"{'met' if verdict('peak_fraction', ts['fraction']['median']) else 'not met'})")
    if b:
        bs = summarize_book(b)
        scale = "at smoke-test parameters (quick run)" if b["quick"] else "at their defaults"
        claims.append(f"all {len(b['chapters'])} chapters execute {scale} in {bs['cold_s'] / 60:.1f} min from an "
                      f"empty model cache and {bs['warm_s']:.0f} s with a warm one, the HTML build takes "
                      f"{bs['html_s']:.0f} s, and no chapter's kernel exceeds {bs['peak_gb']:.2f} GB of memory")
    if not claims:
        return "(nothing measured yet)"
    where = f"{info.get('cpu', '?')}, {info.get('logical_cpus', '?')} CPUs" if info else "this machine"
    return (f"On {where} ({info.get('date', '?')[:10]}): " + "; ".join(claims)
            + ". Reproduce with `python benchmarks/run_all.py`; details and spreads in `benchmarks/RESULTS.md`.")


def write_outputs(output_dir: Path, new: dict, parts, quick: bool, info: dict) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = output_dir / "results.json", output_dir / "RESULTS.md"
    data = json.loads(json_path.read_text()) if json_path.exists() else {}
    data.update(new)
    data.update(machine=info, last_parts=list(parts), quick=quick)
    notes = ""
    if md_path.exists() and NOTES_HEADING in md_path.read_text():
        notes = md_path.read_text().split(NOTES_HEADING, 1)[1]
    for path, text in ((json_path, json.dumps(data, indent=1, default=float)), (md_path, render(data, notes))):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    if "scaling" in new:  # the peak line only if measured in this run
        peak = summarize_training(new["training"]).get("peak_gflops") if "training" in new else None
        plot_scaling(new["scaling"], peak, output_dir / "scaling.png")
    log(f"wrote {md_path}, {json_path}" + (f", {output_dir / 'scaling.png'}" if "scaling" in new else ""))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes; writes only with --output-dir")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts among {', '.join(PARTS)}")
    parser.add_argument("--rounds", type=int, help="rounds of part 1/2 (default 12, --quick 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chapters", help="book part: only these chapters, by number (e.g. 04,07); the totals "
                        "then do not test the whole-book targets")
    parser.add_argument("--output-dir", type=Path, help="where RESULTS.md, results.json and scaling.png go "
                        "(default benchmarks/; --quick writes nothing unless given)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        parser.error(f"unknown part(s) {unknown}; choose from {', '.join(PARTS)}")
    settings = dict(QUICK if args.quick else FULL)
    if args.rounds is not None:
        if args.rounds < 1:
            parser.error("--rounds must be >= 1")
        settings["rounds"] = args.rounds
    output_dir = args.output_dir or (None if args.quick else HERE)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that temporary folders are removed
    info = machine_info()
    log(f"{info['date']}: parts {', '.join(parts)}{' (quick)' if args.quick else ''}")
    log(machine_line(info))
    new, start = {}, time.perf_counter()
    if {"training", "peak", "scaling"} & set(parts):
        x = load_images(max(settings["n_train"], max(settings["sizes"])), args.quick)
    if "training" in parts or "peak" in parts:
        log(f"\n[1-2] training throughput{' and matmul peak' if 'peak' in parts else ''} "
            f"({settings['rounds']} rounds, {settings['n_train']:,} images)")
        new["training"] = run_training(x[:settings["n_train"]], settings, args.seed, training="training" in parts,
                                       peak="peak" in parts)
        ts = summarize_training(new["training"])
        if "ratio" in ts:
            log(f"  vaelib / reference {_s(ts['ratio'])}x; vaelib / no-XLA {_s(ts['xla_gain'])}x")
        if "fraction" in ts:
            log(f"  peak {ts['peak_gflops']:.1f} GFLOP/s; {new['training']['flops_per_sample']:,} FLOPs per image; "
                f"vaelib {_s(ts['vaelib_gflops'], '.1f')} GFLOP/s = {_s(ts['fraction'], '.1%')} of peak")
    if "scaling" in parts:
        log("\n[5] growth")
        new["scaling"] = run_scaling(x, settings, args.seed)
        f = new["scaling"]["fit"]
        log(f"  epoch time = {f['slope_s_per_1000']:.3f} s per 1,000 images {'+' if f['intercept_s'] >= 0 else '-'} {abs(f['intercept_s']):.2f} s, "
            f"R^2 {f['r2']:.4f}, max deviation {f['max_rel_dev']:.1%}")
    if "memory" in parts:
        log("\n[4b] memory floor (benchmarks/memory_floor.py)")
        new["memory"] = run_memory_floor()
        for r in new["memory"]["steps"]:
            log(f"  {r['step']:<52} {r['rss_gb']:5.2f} GB (peak {r['peak_gb']:5.2f}, file-backed {r['file_backed_gb']:.2f})")
    if "book" in parts:
        log(f"\n[3-4] the book{' (smoke parameters)' if args.quick else ''}")
        new["book"] = run_book(args.quick, [c.strip().zfill(2) for c in args.chapters.split(",")]
                               if args.chapters else None)
        bs = summarize_book(new["book"])
        log(f"  cold {bs['cold_s']:.1f} s, warm {bs['warm_s']:.1f} s, HTML {bs['html_s']:.1f} s, "
            f"largest kernel {bs['peak_gb']:.2f} GB")
    log(f"\ntotal {time.perf_counter() - start:.0f} s")
    if output_dir is not None:
        write_outputs(output_dir, new, parts, args.quick, info)
    else:
        data = dict(new, machine=info, last_parts=parts, quick=args.quick)
        text = render(data, "")
        log("\n" + text.split("## Machine")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
