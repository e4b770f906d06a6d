"""Parts 1 and 2: training throughput against the keras.io-style reference and the float32 matmul peak,
measured in interleaved rounds."""

from __future__ import annotations

import dataclasses
import os
import statistics
import time

from .common import N_TRAIN, log, now, spread


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
