"""Where a chapter kernel's memory goes: resident memory after each step a results chapter takes.

    python benchmarks/memory_floor.py            # prints one JSON object

Run by ``benchmarks/run_all.py --only memory`` in a fresh process (nothing imported before it
starts). The steps, in the order a chapter takes them: the scientific Python stack; TensorFlow
and Keras imported; MNIST loaded (:func:`vaelib.data.unit_mnist`: the training images stay
uint8, the test images are scaled to float32); an untrained VAE of the report's shape run over the
10,000 test images (what a warm chapter does with a cached model); one epoch of training through
:func:`vaelib.models.training.train` (uncached) on the 60,000 uint8 training pixels (what a cold chapter
does); a second model (another beta) trained the same way, which reuses the first one's compiled
step; the training images scaled to float32 (what a chapter that measures against the whole
training set holds). For each step: the resident set size after it, the peak while it ran (polled
every 0.02 s) and, after the imports, how much of the resident memory is file-backed (shared
library pages) rather than the process's own. 1 GB = 10^9 bytes.
"""

from __future__ import annotations

import json
import os
import time

from peak_memory import PeakMemory

GB = 1e9


def measure() -> dict:
    steps = []
    with PeakMemory(which="self", interval=0.02) as memory:
        process = memory.me

        def record(name: str, seconds: float) -> None:
            info = process.memory_info()
            steps.append({"step": name, "rss_gb": info.rss / GB, "peak_gb": memory.take_window() / GB,
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
        from vaelib.models import report_settings, training
        from vaelib.measures import metrics

        data = timed("MNIST loaded: uint8 training pixels, float32 test images (unit_mnist)", report_settings.unit_mnist)
        config = report_settings.report_config(1.0, epochs=1)

        def inference():
            model = config.build_model()
            metrics.reconstruction_errors(model, data.x_test)

        timed("a VAE run over the 10,000 test images", inference)

        def one_fit(beta):
            training.train(report_settings.report_config(beta, epochs=1), data.pixels_train, data.pixels_test, use_cache=False)

        timed("one epoch of training on the 60,000 uint8 pixels (train(), uncached, as trained() calls it)",
              lambda: one_fit(1.0))
        timed("a second model (beta = 5) trained the same way (it reuses the compiled step)", lambda: one_fit(5.0))
        timed("the training images scaled to float32 (UnitMnist.x_train, for a measure over all of them)",
              lambda: data.x_train)
    return {"steps": steps, "pid": os.getpid(), "n_train": data.n_train, "full_mnist": data.is_full}


if __name__ == "__main__":
    print(json.dumps(measure()))
