"""Levers for training a configuration from several seeds: what each gains over one model at a time.

    python benchmarks/seed_levers.py [--epochs 3] [--rounds 2]

The verdicts of chapter 12 rest on every model trained from three seeds, which multiplies the
book's training. Four ways to train four seeds of the report's VAE (beta = 1, full MNIST, batch 128,
no validation, no cache), each in fresh processes, the order rotating between rounds:

``one at a time``  as ``vaelib.models.training.train`` fits them: the seeds one after another, one compiled step.
``two threads``    two trainings side by side in one process (threads sharing the cores); building a
                   model and fit()'s input pipeline read the process-wide seed, so a lock is held from
                   seeding until ``on_train_begin``. The weights equal those trained one at a time.
``two processes``  two processes with one thread each, two seeds in each.
``batched``        the four seeds as one model with stacked weights whose step XLA compiles once; the
                   seeds share the minibatch order, so the first layer's four products are one
                   784 x (256 * 4) product. Other weights than one at a time (another graph).

Records seconds per model-epoch, CPU seconds and the peak resident memory (the sum over processes)
with the CPU and the date in ``benchmarks/seed_levers.json``.
"""

import argparse
import dataclasses
import datetime
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = (100, 101, 102, 103)
MODES = ("one at a time", "two threads", "two processes", "batched")


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def _batched_model(seeds, config):
    """The report's VAE for every seed in ``seeds`` as one Keras model with stacked weights."""
    import keras
    import numpy as np
    import tensorflow as tf
    from keras import ops

    from vaelib._runtime import random_draws
    from vaelib.models.networks import as_unit_interval

    class BatchedVAE(keras.Model):
        def __init__(self):
            super().__init__()
            singles = []
            for seed in seeds:
                keras.utils.set_random_seed(seed)
                singles.append(config.build_model())
            dense = lambda m: [layer for part in (m.encoder, m.decoder) for layer in part.layers  # noqa: E731
                               if isinstance(layer, keras.layers.Dense)]
            self.stacked = []
            for j, layer in enumerate(dense(singles[0])):
                kernel = self.add_weight(shape=(len(seeds), *layer.kernel.shape), initializer="zeros", name=f"k{j}")
                bias = self.add_weight(shape=(len(seeds), *layer.bias.shape), initializer="zeros", name=f"b{j}")
                kernel.assign(np.stack([dense(m)[j].kernel.numpy() for m in singles]))
                self.stacked.append((kernel, bias))
            self.generators = [keras.random.SeedGenerator(seed) for seed in seeds]
            self.tracker = keras.metrics.Mean(name="loss")

        @property
        def metrics(self):
            return [self.tracker]

        def _layer(self, h, j):
            kernel, bias = self.stacked[j]
            if j == 0:  # the shared minibatch: one 784 x (256 * K) product
                k, n_in, n_out = kernel.shape
                h = ops.reshape(ops.matmul(h, ops.reshape(ops.transpose(kernel, (1, 0, 2)), (n_in, k * n_out))),
                                (-1, k, n_out))
                return ops.transpose(h, (1, 0, 2)) + bias[:, None, :]
            return ops.matmul(h, kernel) + bias[:, None, :]

        def train_step(self, data):
            x = as_unit_interval(data[0] if isinstance(data, tuple) else data)
            with tf.GradientTape() as tape:
                h = ops.relu(self._layer(x, 0))
                h = ops.relu(self._layer(h, 1))
                mu, log_var = self._layer(h, 2), self._layer(h, 3)
                eps = ops.stack([random_draws.standard_normal(ops.shape(mu)[1:], g) for g in self.generators])
                h = mu + ops.exp(0.5 * log_var) * eps
                h = ops.relu(self._layer(h, 4))
                h = ops.relu(self._layer(h, 5))
                logits = self._layer(h, 6)
                reconstruction = ops.mean(ops.sum(ops.square(x - ops.sigmoid(logits)), axis=-1), axis=-1)
                kl = ops.mean(-0.5 * ops.sum(1 + log_var - mu ** 2 - ops.exp(log_var), axis=-1), axis=-1)
                loss = ops.sum(reconstruction + kl)
            gradients = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
            self.tracker.update_state(loss / len(seeds))
            return {"loss": self.tracker.result()}

    model = BatchedVAE()
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), steps_per_execution=32, jit_compile=True)
    return model


def child(mode: str, seeds: list[int], epochs: int, threads: int) -> None:
    import vaelib  # noqa: F401  (first: the host pin)
    import keras
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    from vaelib import probe
    from vaelib.models.report_settings import report_config
    from vaelib.data import unit_mnist
    from vaelib.models.training import _model_to_fit, fit_model

    x = unit_mnist().pixels_train
    config = report_config(beta=1.0, epochs=epochs)
    wall, cpu = time.perf_counter(), time.process_time()
    if mode == "batched":
        _batched_model(seeds, config).fit(x, epochs=epochs, batch_size=config.batch_size, shuffle=True, verbose=0)
    elif mode == "two threads":
        lock = threading.Lock()

        class Release(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                lock.release()

        def work(my_seeds):  # one compiled model per thread, reset for each seed as vaelib.models.training does
            compiled = None
            for seed in my_seeds:
                lock.acquire()
                keras.utils.set_random_seed(seed)
                fresh = config.build_model()
                if compiled is None:
                    compiled = fresh
                else:
                    compiled.load_initial_state(fresh)
                fit_model(compiled, config, x, callbacks=[Release()])

        workers = [threading.Thread(target=work, args=(seeds[i::2],)) for i in range(2)]
        [w.start() for w in workers]
        [w.join() for w in workers]
    else:  # as vaelib.models.training.train fits them: one compiled model, reset for each seed
        for seed in seeds:
            fit_model(_model_to_fit(dataclasses.replace(config, seed=seed)), config, x)
    print(json.dumps({"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
                      "peak_rss_gb": _peak_gb(), "cpu": probe.cpu_model()}))


def run(mode: str, epochs: int) -> dict:
    command = lambda seeds, threads: [sys.executable, __file__, "--child", mode, "--epochs", str(epochs),  # noqa: E731
                                      "--threads", str(threads), "--seeds", *map(str, seeds)]
    if mode == "two processes":
        procs = [subprocess.Popen(command(SEEDS[i::2], 1), stdout=subprocess.PIPE, text=True) for i in range(2)]
        outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        return {"wall_s": max(o["wall_s"] for o in outs), "cpu_s": sum(o["cpu_s"] for o in outs),
                "peak_rss_gb": sum(o["peak_rss_gb"] for o in outs), "cpu": outs[0]["cpu"]}
    out = subprocess.run(command(SEEDS, 0), capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seeds", type=int, nargs="*")
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.seeds, args.epochs, args.threads)
    runs = {mode: [] for mode in MODES}
    for round_ in range(args.rounds):
        for mode in MODES[round_ % len(MODES):] + MODES[:round_ % len(MODES)]:
            result = run(mode, args.epochs)
            result["s_per_model_epoch"] = result["wall_s"] / (len(SEEDS) * args.epochs)
            runs[mode].append(result)
            print(mode, result, flush=True)
    median = lambda mode: statistics.median(r["s_per_model_epoch"] for r in runs[mode])  # noqa: E731
    record = {"date": datetime.date.today().isoformat(), "cpu": runs[MODES[0]][0]["cpu"], "epochs": args.epochs,
              "seeds": len(SEEDS), "rounds": args.rounds, "runs": runs,
              "s_per_model_epoch": {mode: median(mode) for mode in MODES},
              "speed_up": {mode: median(MODES[0]) / median(mode) for mode in MODES},
              "peak_rss_gb": {mode: max(r["peak_rss_gb"] for r in runs[mode]) for mode in MODES}}
    path = HERE / "seed_levers.json"
    history = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(history + [record], indent=1) + "\n")
    for mode in MODES:
        print(f"{mode:>14}: {record['s_per_model_epoch'][mode]:.2f} s per model-epoch, "
              f"{record['speed_up'][mode]:.2f}x, peak {record['peak_rss_gb'][mode]:.2f} GB")


if __name__ == "__main__":
    main()
