"""Where a chapter kernel's memory goes: resident memory after each step a results chapter takes.

    python benchmarks/memory_floor.py            # prints one JSON object

Run by ``benchmarks/run_all.py --only memory`` in a fresh process (nothing imported before it
starts). The steps, in the order a chapter takes them: the scientific Python stack; TensorFlow
and Keras imported; MNIST loaded and scaled to float32 (:func:`vaelib.experiments.unit_mnist`);
an untrained VAE of the report's shape run over the 10,000 test images (what a warm chapter
does with a cached model); one epoch of training through :func:`vaelib.train.fit_model` on
the 60,000 training images (what a cold chapter does); a second such model trained the same
way. For each step: the resident set size after it, the peak while it ran (polled every
0.02 s) and, after the imports, how much of the resident memory is file-backed (shared
library pages) rather than the process's own. 1 GB = 10^9 bytes.
"""

from __future__ import annotations

import json
import os
import threading
import time

import psutil

GB = 1e9


class _Peak:
    """Resident memory of this process, polled in a thread; ``window()`` returns the peak since the last call."""

    def __init__(self):
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def window(self) -> int:
        rss = self.process.memory_info().rss
        peak, self.peak = max(self.peak, rss), rss
        return peak

    def stop(self):
        self._stop.set()
        self.thread.join()


def measure() -> dict:
    steps, memory = [], _Peak()
    process = memory.process

    def record(name: str, seconds: float) -> None:
        info = process.memory_info()
        steps.append({"step": name, "rss_gb": info.rss / GB, "peak_gb": memory.window() / GB,
                      "file_backed_gb": info.shared / GB, "seconds": seconds})

    def timed(name, action):
        start = time.perf_counter()
        value = action()
        record(name, time.perf_counter() - start)
        return value

    def scientific_stack():
        import matplotlib.pyplot  # noqa: F401
        import numpy  # noqa: F401

    def tensorflow_and_keras():
        import keras  # noqa: F401
        import tensorflow  # noqa: F401

    record("python, psutil", 0.0)
    timed("numpy, matplotlib imported", scientific_stack)
    timed("tensorflow, keras imported", tensorflow_and_keras)
    from vaelib import experiments, metrics, train

    data = timed("MNIST as float32 (unit_mnist)", experiments.unit_mnist)
    config = experiments.report_config(1.0, epochs=1)

    def inference():
        model = config.build_model()
        metrics.reconstruction_errors(model, data.x_test)

    timed("a VAE run over the 10,000 test images", inference)

    def one_fit():
        model = config.build_model()
        train.fit_model(model, config, data.x_train, data.x_test)

    timed("one epoch of training on 60,000 images (fit_model)", one_fit)
    timed("a second model trained the same way", one_fit)
    memory.stop()
    return {"steps": steps, "pid": os.getpid(), "n_train": len(data.x_train), "full_mnist": data.is_full}


if __name__ == "__main__":
    print(json.dumps(measure()))
