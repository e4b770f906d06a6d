"""Training throughput: vaelib's VAE against a plain keras.io-style VAE, on full MNIST.

What it shows
-------------
How many training images per second vaelib's VAE processes when trained through the same code
as :func:`vaelib.models.training.train` (``TrainConfig().build_model()`` and ``vaelib.models.training.fit_model``),
compared with the VAE of keras.io/examples/generative/vae written the straightforward way, with
dense layers of the same sizes and the same loss: a ``Sampling`` layer, a ``keras.Model``
subclass whose ``train_step`` uses ``tf.GradientTape`` and ``keras.metrics.Mean`` trackers,
``compile(optimizer=Adam())`` and ``fit(x, epochs, batch_size=128)`` on the numpy array.

How it measures
---------------
Both models train on the 60,000 MNIST training images (float32 in [0, 1]) with no validation
data, so they do the same work. Each model is built once and trained for one untimed warm-up
epoch (tracing, graph building; its time is reported as "first epoch"). Then, in each *round*,
every model trains ``--epochs`` more epochs (a further ``fit`` call that continues training),
all timed by a callback. The models take turns, and the one that goes first rotates from round
to round, so that other load on the machine hits all of them alike. Reported: the median over
rounds of the throughput, its spread, and the median of the per-round ratios (the two members
of a ratio ran a few seconds apart). Process CPU time is reported next to wall-clock time: it
is less sensitive to other programs using the cores (but not immune: contention inflates it too).
So is the fastest epoch of each model, also reported.

``--levers`` also times variants of vaelib's set-up (steps_per_execution, no XLA, a tf.data
pipeline, a fused mu/log_var layer, ...), each paired with vaelib as it is, so each lever's
ratio compares runs a few seconds apart. vaelib compiles its training step with XLA
(``vaelib.models.training.JIT_COMPILE``); every lever keeps that setting except "no-xla".

``benchmarks/run_all.py`` is the one entry point for all benchmarks (it writes
``benchmarks/RESULTS.md``; its parts in ``benchmarks/suite/`` import this module's reference model
and timer); this script remains for the lever study and writes ``benchmarks/LEVERS.md``.

Usage::

    python benchmarks/bench_training.py            # full run (~2 min), writes benchmarks/LEVERS.md
    python benchmarks/bench_training.py --quick    # short smoke run (~1 min), prints only
    python benchmarks/bench_training.py --levers   # also time the variants (~6 more minutes)

Full MNIST comes from :func:`vaelib.data.load_mnist` (set ``VAELIB_MNIST`` to a verified
``mnist.npz`` on a machine without internet).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import vaelib  # noqa: E402,F401,I001  (first: its host pin, vaelib/_runtime/host.py, before NumPy and TensorFlow compute)
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers, ops  # noqa: E402

from peak_memory import machine_busy_seconds, others_share  # noqa: E402 (a sibling module)
from vaelib.maths.gaussian import gaussian_kl, sample_gaussian  # noqa: E402
from vaelib.models.networks import _TrackedModel, build_decoder, reconstruction_loss  # noqa: E402
from vaelib.probe import cpu_model  # noqa: E402
from vaelib.models.training import JIT_COMPILE, STEPS_PER_EXECUTION, TrainConfig, fit_model  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "LEVERS.md"
N_TRAIN = 60_000
QUIET = 0.05  # a round is "quiet" if other processes used less than this share of the machine's CPU time

# ----------------------------------------------------------------------------------------------
# The reference: keras.io/examples/generative/vae, with dense layers instead of convolutions.
# ----------------------------------------------------------------------------------------------
LATENT_DIM = 2
BATCH_SIZE = 128


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def build_reference_encoder():
    encoder_inputs = keras.Input(shape=(784,))
    x = layers.Dense(256, activation="relu")(encoder_inputs)
    x = layers.Dense(128, activation="relu")(x)
    z_mean = layers.Dense(LATENT_DIM, name="z_mean")(x)
    z_log_var = layers.Dense(LATENT_DIM, name="z_log_var")(x)
    z = Sampling()([z_mean, z_log_var])
    return keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")


def build_reference_decoder():
    latent_inputs = keras.Input(shape=(LATENT_DIM,))
    x = layers.Dense(128, activation="relu")(latent_inputs)
    x = layers.Dense(256, activation="relu")(x)
    decoder_outputs = layers.Dense(784, activation="sigmoid")(x)
    return keras.Model(latent_inputs, decoder_outputs, name="decoder")


class ReferenceVAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            # The same likelihood as vaelib's default: squared error summed over the 784 pixels.
            reconstruction_loss = ops.mean(ops.sum(ops.square(data - reconstruction), axis=1))
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {
            "loss": self.total_loss_tracker.result(),
            "reconstruction_loss": self.reconstruction_loss_tracker.result(),
            "kl_loss": self.kl_loss_tracker.result(),
        }


def reference_trainer(x, seed):
    """Build the reference; return ``fit(epochs, callbacks) -> History`` that continues training it."""
    keras.utils.set_random_seed(seed)
    vae = ReferenceVAE(build_reference_encoder(), build_reference_decoder())
    vae.compile(optimizer=keras.optimizers.Adam())
    return lambda epochs, callbacks: vae.fit(x, epochs=epochs, batch_size=BATCH_SIZE, callbacks=callbacks, verbose=0)


# ----------------------------------------------------------------------------------------------
# vaelib, through the code of vaelib.models.training.train(), and the variants timed by --levers.
# ----------------------------------------------------------------------------------------------
def vaelib_trainer(x, seed, *, steps_per_execution=None, jit_compile=None, unroll=None, pipeline="numpy",
                   model_class=None, optimizer_class=None, pixels=False):
    """Build TrainConfig()'s VAE as train() does; return ``fit(epochs, callbacks) -> History``.

    With no keyword arguments this is exactly train()'s set-up; the keyword arguments select a lever
    (``jit_compile=None`` keeps vaelib's setting, ``vaelib.models.training.JIT_COMPILE``).
    """
    keras.utils.set_random_seed(seed)
    config = TrainConfig(seed=seed)
    if model_class is not None:
        model = model_class(config.latent_dim, config.hidden_units, seed=seed)
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), steps_per_execution=STEPS_PER_EXECUTION,
                      jit_compile=JIT_COMPILE)
        model.build((None, 784))
    else:
        model = config.build_model()
    if steps_per_execution is not None or jit_compile is not None or optimizer_class is not None:
        model.compile(optimizer=(optimizer_class or keras.optimizers.Adam)(config.learning_rate),
                      steps_per_execution=steps_per_execution or STEPS_PER_EXECUTION,
                      jit_compile=JIT_COMPILE if jit_compile is None else bool(jit_compile))
    if unroll is not None:
        model.unrolled_steps_per_execution = unroll  # attribute of Keras' TensorFlow trainer, 1 by default
    if pixels:  # the same images as uint8 pixels, as the chapters pass them (the step scales them)
        from vaelib.data import to_unit_interval

        floats, x = x, np.rint(x * 255).astype(np.uint8)
        assert np.array_equal(to_unit_interval(x), floats), "the images are not 8-bit pixels scaled by 255"
    if pipeline == "numpy":
        return lambda epochs, callbacks: fit_model(model, TrainConfig(epochs=epochs, seed=seed), x,
                                                   callbacks=callbacks)
    dataset = shuffled_dataset(x, config.batch_size, seed)
    return lambda epochs, callbacks: model.fit(dataset, epochs=epochs, shuffle=False, callbacks=callbacks,
                                               verbose=0)


def shuffled_dataset(x, batch_size, seed):
    """A tf.data pipeline built once from a tensor: shuffled index batches, gather, prefetch."""
    images = tf.constant(x)
    indices = tf.data.Dataset.range(len(x)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    batches = indices.batch(batch_size).map(lambda i: tf.gather(images, i), num_parallel_calls=tf.data.AUTOTUNE)
    return batches.prefetch(tf.data.AUTOTUNE)


class FusedVAE(_TrackedModel):
    """vaelib's VAE with mu and log_var from one Dense(2 * latent_dim) layer (lever "fused")."""

    def __init__(self, latent_dim, hidden_units, seed=None, **kwargs):
        super().__init__("squared_error", **kwargs)
        inputs = keras.Input(shape=(784,))
        h = inputs
        for i, units in enumerate(hidden_units):
            h = layers.Dense(units, activation="relu", name=f"hidden_{i}")(h)
        self.encoder = keras.Model(inputs, layers.Dense(2 * latent_dim, name="mu_log_var")(h))
        self.decoder = build_decoder(latent_dim, hidden_units)
        self.noise = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        mu, log_var = ops.split(self.encoder(x, training=training), 2, axis=-1)
        return self.decoder(sample_gaussian(mu, log_var, self.noise), training=training)

    def loss_terms(self, x, training):
        mu, log_var = ops.split(self.encoder(x, training=training), 2, axis=-1)
        logits = self.decoder(sample_gaussian(mu, log_var, self.noise), training=training)
        reconstruction = ops.mean(reconstruction_loss(x, logits, self.likelihood))
        kl = ops.mean(gaussian_kl(mu, log_var))
        return {"loss": reconstruction + kl, "reconstruction": reconstruction, "kl": kl, "beta_kl": kl}


class _History:
    def __init__(self, history):
        self.history = history


def bare_loop_trainer(x, seed):
    """A bound, not a training set-up: vaelib's train_step run ceil(n / 128) times per "epoch" in one
    tf.while_loop on a single fixed batch (no input pipeline, no Keras fit loop), compiled as vaelib
    compiles its step (XLA if ``JIT_COMPILE``)."""
    keras.utils.set_random_seed(seed)
    config = TrainConfig(seed=seed)
    model = config.build_model()
    batch = tf.constant(x[:config.batch_size])
    steps = -(-len(x) // config.batch_size)

    @tf.function(jit_compile=JIT_COMPILE)
    def epoch(batch):
        loss = tf.constant(0.0, tf.float64)
        for _ in tf.range(steps):
            loss = model.train_step(batch)["loss"]
        return loss

    def fit(epochs, callbacks):
        losses = []
        for e in range(epochs):
            for callback in callbacks:
                callback.on_epoch_begin(e)
            losses.append(float(epoch(batch)))
            for callback in callbacks:
                callback.on_epoch_end(e)
        return _History({"loss": losses})

    return fit


MAIN = {
    "vaelib": ("vaelib, as train() fits: TrainConfig().build_model() + vaelib.models.training.fit_model()",
               vaelib_trainer),
    "reference": ("keras.io-style dense VAE, compile(Adam()), fit(x, epochs, batch_size=128)", reference_trainer),
}
LEVERS = {
    "spe=1": ("steps_per_execution=1 (the Keras default)", lambda x, seed: vaelib_trainer(x, seed, steps_per_execution=1)),
    "spe=16": ("steps_per_execution=16", lambda x, seed: vaelib_trainer(x, seed, steps_per_execution=16)),
    "spe=64": ("steps_per_execution=64", lambda x, seed: vaelib_trainer(x, seed, steps_per_execution=64)),
    "no-xla": ("jit_compile=False: plain TensorFlow graph, no XLA (vaelib before XLA was adopted)",
               lambda x, seed: vaelib_trainer(x, seed, jit_compile=False)),
    "unroll=4": ("4 steps unrolled per while-loop iteration (unrolled_steps_per_execution)",
                 lambda x, seed: vaelib_trainer(x, seed, unroll=4)),
    "tf.data": ("a tf.data pipeline built once from a tensor (shuffled indices, gather, prefetch)",
                lambda x, seed: vaelib_trainer(x, seed, pipeline="tf.data")),
    "fused": ("mu and log_var from one fused Dense layer", lambda x, seed: vaelib_trainer(x, seed, model_class=FusedVAE)),
    "uint8": ("the training images as uint8 pixels, scaled inside the step (as the chapters train since 2026-11-25)",
              lambda x, seed: vaelib_trainer(x, seed, pixels=True)),
    "bound": ("not a set-up but a bound: vaelib's train_step in a bare tf.while_loop on one fixed batch",
              bare_loop_trainer),
}


class EpochTimer(keras.callbacks.Callback):
    """Per epoch: wall-clock seconds, this process's CPU seconds, and the share of the machine's
    CPU time that *other* processes used meanwhile (Keras syncs at the end of an epoch)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []
        self.others: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter(), time.process_time(), machine_busy_seconds()

    def on_epoch_end(self, epoch, logs=None):
        wall = time.perf_counter() - self._start[0]
        cpu = time.process_time() - self._start[1]
        self.seconds.append(wall)
        self.cpu_seconds.append(cpu)
        self.others.append(others_share(machine_busy_seconds() - self._start[2], cpu, wall))


# ----------------------------------------------------------------------------------------------
# Measurement.
# ----------------------------------------------------------------------------------------------
def load_images(quick: bool) -> tuple[np.ndarray, str]:
    from vaelib.data import load_mnist, to_unit_interval

    (x_train, _), _ = load_mnist()
    x = to_unit_interval(x_train)
    if len(x) != N_TRAIN and not quick:
        raise SystemExit(f"the benchmark needs the full {N_TRAIN:,} MNIST training images, got {len(x):,} "
                         "(set VAELIB_MNIST to a verified mnist.npz; see benchmarks/README.md)")
    return x, f"MNIST training images via vaelib.data.load_mnist(), {x.shape} {x.dtype}"


def check_same_work(x) -> int:
    """Both models must have the same sizes, dtype, batch size and optimizer, or the comparison is unfair."""
    config = TrainConfig()
    assert (config.latent_dim, config.hidden_units, config.batch_size, config.likelihood, config.model) == (
        LATENT_DIM, (256, 128), BATCH_SIZE, "squared_error", "vae"), "TrainConfig defaults changed: update the reference"
    assert config.learning_rate == keras.optimizers.Adam().learning_rate, "the reference's Adam uses another rate"
    assert keras.config.floatx() == "float32" and x.dtype == np.float32
    vaelib_model = config.build_model()
    reference = ReferenceVAE(build_reference_encoder(), build_reference_decoder())
    reference.build((None, 784))
    counts = [sum(int(np.prod(w.shape)) for w in m.trainable_weights) for m in (vaelib_model, reference)]
    assert counts[0] == counts[1], f"parameter counts differ: vaelib {counts[0]}, reference {counts[1]}"
    keras.backend.clear_session()
    return counts[0]


def measure(candidates, x, rounds, epochs, seed):
    """Warm every candidate up for one epoch, then ``rounds`` rounds of ``epochs`` timed epochs each, in turns.

    Returns, per candidate, the wall-clock and CPU throughput of each round, every timed epoch's
    wall and CPU seconds, the warm-up epoch's seconds and the last loss; and the load averages.
    """
    names = list(candidates)
    result = {name: {"wall_round": [], "cpu_round": [], "others_round": [], "wall": [], "cpu": [], "others": [],
                     "first": None, "loss": None} for name in names}
    fits = {}
    for name in names:
        fits[name] = candidates[name][1](x, seed)
        timer = EpochTimer()
        fits[name](1, [timer])
        result[name]["first"] = timer.seconds[0]
        print(f"  warm-up    {name:>10}: first epoch {timer.seconds[0]:.2f} s", flush=True)
    loads = []
    for r in range(rounds):
        loads.append(os.getloadavg()[0])
        for name in names[r % len(names):] + names[:r % len(names)]:  # each model goes first in turn
            timer = EpochTimer()
            history = fits[name](epochs, [timer])
            entry = result[name]
            entry["wall_round"].append(len(x) * epochs / sum(timer.seconds))
            entry["cpu_round"].append(len(x) * epochs / sum(timer.cpu_seconds))
            entry["wall"].extend(timer.seconds)
            entry["cpu"].extend(timer.cpu_seconds)
            entry["others"].extend(timer.others)
            entry["others_round"].append(sum(o * w for o, w in zip(timer.others, timer.seconds)) / sum(timer.seconds))
            entry["loss"] = float(history.history["loss"][-1])
            print(f"  round {r + 1:>2}/{rounds} {name:>10}: {entry['wall_round'][-1]:8,.0f} samples/s   epochs "
                  + " ".join(f"{s:.2f}" for s in timer.seconds) + " s (CPU "
                  + " ".join(f"{s:.2f}" for s in timer.cpu_seconds) + " s; other processes "
                  + " ".join(f"{s:.0%}" for s in timer.others) + f")   loss {entry['loss']:.2f}",
                  flush=True)
    loads.append(os.getloadavg()[0])
    return result, loads


def spread(values):
    """(median, min, max, first quartile, third quartile)."""
    values = sorted(values)
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (values[0],) * 3
    return statistics.median(values), values[0], values[-1], q1, q3


def paired_ratio(result, name, other, key="wall_round"):
    return spread([a / b for a, b in zip(result[name][key], result[other][key])])


def summarize(name, what, result):
    entry = result[name]
    wall = entry["wall"]
    return {"name": name, "what": what, "wall": spread(entry["wall_round"]), "cpu": spread(entry["cpu_round"]),
            "epoch_s": statistics.median(wall), "cpu_s": statistics.median(entry["cpu"]), "best_s": min(wall),
            "cv": statistics.stdev(wall) / statistics.mean(wall) if len(wall) > 1 else float("nan"),
            "first_s": entry["first"], "loss": entry["loss"],
            "others": statistics.median(entry["others"]) if entry["others"] else float("nan"),
            "others_max": max(entry["others"], default=float("nan"))}


# ----------------------------------------------------------------------------------------------
# Report.
# ----------------------------------------------------------------------------------------------
def machine_info() -> dict:
    model = cpu_model()
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def _r(s):
    return f"{s[0]:.2f} ({s[1]:.2f} - {s[2]:.2f})"


def header_lines(info, settings, loads):
    return [f"Measured {info['date']} on {info['nproc']} CPUs ({info['cpu']}); Python {info['python']}, "
            f"TensorFlow {info['tensorflow']}, Keras {info['keras']}, numpy {info['numpy']}.",
            f"Settings: {settings}. Load average (1 min) at the start of each round and at the end: "
            + ", ".join(f"{v:.1f}" for v in loads) + "."]


def main_block(result, info, settings, loads):
    rows = [summarize(name, MAIN[name][0], result) for name in MAIN]
    wall, cpu = paired_ratio(result, "vaelib", "reference"), paired_ratio(result, "vaelib", "reference", "cpu_round")
    lines = ["### vaelib vs the keras.io-style reference", "", *header_lines(info, settings, loads), "",
             "| model | what | samples/s (wall clock): median over rounds (min - max) | median s/epoch "
             "| fastest epoch, s | epoch-time CV | samples per CPU-second: median (min - max) | median CPU s/epoch "
             "| machine share used by other processes: median (max) | first epoch, s | final loss |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['what']} | {r['wall'][0]:,.0f} ({r['wall'][1]:,.0f} - {r['wall'][2]:,.0f}) | "
                     f"{r['epoch_s']:.2f} | {r['best_s']:.2f} | {r['cv']:.0%} | "
                     f"{r['cpu'][0]:,.0f} ({r['cpu'][1]:,.0f} - {r['cpu'][2]:,.0f}) | "
                     f"{r['cpu_s']:.2f} | {r['others']:.0%} ({r['others_max']:.0%}) | {r['first_s']:.1f} | "
                     f"{r['loss']:.2f} |")
    best = rows[1]["best_s"] / rows[0]["best_s"]
    quiet = [a / b for a, b, oa, ob in zip(result["vaelib"]["wall_round"], result["reference"]["wall_round"],
                                           result["vaelib"]["others_round"], result["reference"]["others_round"])
             if max(oa, ob) < QUIET]
    lines += ["", f"**vaelib / reference throughput: {wall[0]:.2f}x** (median of the per-round ratios of wall-clock "
                  f"throughput; min {wall[1]:.2f}, max {wall[2]:.2f}, interquartile range {wall[3]:.2f} - {wall[4]:.2f}). "
                  f"Per CPU-second: {_r(cpu)}. Fastest epoch against fastest epoch (least disturbed by other "
                  f"load): {best:.2f}x. Over the {len(quiet)} rounds in which other processes used less than "
                  f"{QUIET:.0%} of the machine during both members: "
                  + (f"{_r(spread(quiet))}." if quiet else "none.")]
    return "\n".join(lines), rows, wall, cpu, best, quiet


def levers_block(lever_results, info, settings, loads):
    lines = ["### Levers: variants of vaelib's training set-up, each paired with vaelib as it is", "",
             *header_lines(info, settings, loads), "",
             "| lever | what | samples/s: lever / vaelib (medians over rounds) | ratio to vaelib, wall clock: "
             "median (min - max) | CPU s/epoch: lever / vaelib | ratio to vaelib per CPU-second: median (min - max) "
             "| first epoch s: lever / vaelib | final loss: lever / vaelib | other processes' share: median (max) |",
             "|---|---|---:|---|---:|---|---:|---:|---:|"]
    for name, result in lever_results.items():
        a, b = summarize(name, LEVERS[name][0], result), summarize("vaelib", "", result)
        a_o, b_o = result[name]["others"], result["vaelib"]["others"]
        lines.append(f"| {name} | {LEVERS[name][0]} | {a['wall'][0]:,.0f} / {b['wall'][0]:,.0f} | "
                     f"{_r(paired_ratio(result, name, 'vaelib'))} | {a['cpu_s']:.2f} / {b['cpu_s']:.2f} | "
                     f"{_r(paired_ratio(result, name, 'vaelib', 'cpu_round'))} | {a['first_s']:.1f} / {b['first_s']:.1f} | "
                     f"{a['loss']:.2f} / {b['loss']:.2f} | {statistics.median(a_o + b_o):.0%} ({max(a_o + b_o):.0%}) |")
    return "\n".join(lines)


HEADER = """# Training throughput: the lever study

Written by `benchmarks/bench_training.py` (see `benchmarks/README.md`). The blocks between the
`BEGIN`/`END` markers are regenerated by the script; the rest of this file is kept as written.
"""


def write_block(path: Path, name: str, text: str) -> None:
    """Replace the block ``name`` of the results file (or append it), keeping everything else."""
    begin, end = f"<!-- BEGIN {name} (generated by bench_training.py) -->", f"<!-- END {name} -->"
    old = path.read_text() if path.exists() else HEADER
    block = f"{begin}\n{text}\n{end}"
    if begin in old and end in old:
        new = old[:old.index(begin)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new)
    tmp.replace(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds; prints only unless --output")
    parser.add_argument("--rounds", type=int, help="rounds of the main comparison (default 12, --quick 2)")
    parser.add_argument("--epochs", type=int, help="timed epochs per model and round (default 1)")
    parser.add_argument("--levers", nargs="?", const="all", metavar="NAMES",
                        help="also time vaelib variants, each paired with vaelib: all, or a comma-separated "
                             "subset of " + ", ".join(LEVERS))
    parser.add_argument("--lever-rounds", type=int, default=4, help="rounds per lever (default 4, 1 epoch each)")
    parser.add_argument("--only-levers", action="store_true", help="with --levers: skip the main comparison")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, help=f"results file (default {RESULTS.name}; --quick writes none)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 12)
    epochs = args.epochs or 1
    if min(rounds, epochs, args.lever_rounds) < 1:
        parser.error("--rounds, --epochs and --lever-rounds must be >= 1")
    output = None if args.no_write or (args.quick and args.output is None) else (args.output or RESULTS)
    levers = []
    if args.levers:
        levers = list(LEVERS) if args.levers == "all" else [n.strip() for n in args.levers.split(",")]
        unknown = sorted(set(levers) - set(LEVERS))
        if unknown:
            parser.error(f"unknown lever(s) {unknown}; choose from {', '.join(LEVERS)}")

    x, source = load_images(args.quick)
    n_params = check_same_work(x)
    info = machine_info()
    print(f"{source}; {n_params:,} trainable parameters in each model; {info['nproc']} CPUs ({info['cpu']}); "
          f"TF {info['tensorflow']}, Keras {info['keras']}, numpy {info['numpy']}", flush=True)
    common = f"{len(x):,} images, batch {BATCH_SIZE}, float32, no validation data; one untimed warm-up epoch per model"

    if not args.only_levers:
        print(f"\nvaelib vs reference: warm-up epoch, then {rounds} rounds x {epochs} timed epoch(s) per model",
              flush=True)
        result, loads = measure(MAIN, x, rounds, epochs, args.seed)
        settings = (f"{common}, then {rounds} rounds of {epochs} timed epoch{'s' if epochs > 1 else ''} per model, "
                    "the models taking turns and the first one alternating")
        text, rows, wall, cpu, best, quiet = main_block(result, info, settings, loads)
        print()
        for r in rows:
            print(f"{r['name']:>10}: median {r['wall'][0]:8,.0f} samples/s (min {r['wall'][1]:,.0f}, max "
                  f"{r['wall'][2]:,.0f}; epoch-time CV {r['cv']:.0%}); {r['cpu'][0]:,.0f} samples per CPU-second; "
                  f"first epoch {r['first_s']:.1f} s")
        print(f"vaelib / reference = {wall[0]:.2f}x (median of the per-round ratios; min {wall[1]:.2f}, "
              f"max {wall[2]:.2f}); per CPU-second {cpu[0]:.2f}x; fastest epochs {best:.2f}x; "
              + (f"{len(quiet)} quiet rounds {statistics.median(quiet):.2f}x" if quiet else "no quiet round"),
              flush=True)
        if output:
            write_block(output, "main", text)
            print(f"wrote {output}")
        keras.backend.clear_session()

    if levers:
        lever_results, loads = {}, []
        for name in levers:
            print(f"\nlever {name} vs vaelib: warm-up epoch, then {args.lever_rounds} rounds x 1 timed epoch", flush=True)
            result, lever_loads = measure({"vaelib": MAIN["vaelib"], name: LEVERS[name]}, x, args.lever_rounds, 1,
                                          args.seed)
            lever_results[name] = result
            loads += lever_loads[:1]
            ratio = paired_ratio(result, name, "vaelib")
            print(f"{name} / vaelib = {ratio[0]:.2f} (min {ratio[1]:.2f}, max {ratio[2]:.2f}); per CPU-second "
                  f"{paired_ratio(result, name, 'vaelib', 'cpu_round')[0]:.2f}", flush=True)
            keras.backend.clear_session()
        loads.append(os.getloadavg()[0])
        settings = (f"{common}, then {args.lever_rounds} rounds of 1 timed epoch per model, lever and vaelib "
                    "taking turns (fresh pair of models for each lever)")
        if output:
            write_block(output, "levers", levers_block(lever_results, info, settings, loads))
            print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
