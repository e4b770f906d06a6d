"""What a live notebook kernel shows while models train: which model, epoch k of n, the time left, and
before a cell's training starts, how long it should take. Never part of a result or a stored output.

Progress is shown only in an IPython kernel, and not when ``VAELIB_PROGRESS=0``: the runs that store
or compare the book's outputs (``scripts/store_outputs.py``, ``pytest --nbval`` through
``book/conftest.py``, ``.ci/run``) set it, so what they keep is the same with or without this module.
The estimates come from :data:`EPOCH_SECONDS`, measured on the machine the book's figures were
made on (benchmarks/RESULTS.md); on another computer the epochs' own times soon correct them.
"""

from __future__ import annotations

import math
import os
import sys
import time

import keras

ENV_VAR = "VAELIB_PROGRESS"
EPOCH_SECONDS = {"xla": 2.1, "graph": 3.0}
"""Seconds per epoch over 60,000 images at batch 128 (2 cores, AMD EPYC, 2026-12): the XLA-compiled
step of the report's setting, and the plain TensorFlow graphs of the others (vaelib.models.training)."""
COMPILE_SECONDS = 4.0
"""Building and compiling a model's step the first time its graph is used."""


def enabled() -> bool:
    """True in a live IPython kernel unless ``VAELIB_PROGRESS=0``."""
    if os.environ.get(ENV_VAR, "1").strip() == "0":
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def describe(config) -> str:
    """A short name for the model a TrainConfig describes, e.g. "VAE beta = 5 (seed 1)"."""
    name = "autoencoder" if config.model == "ae" else f"VAE β = {config.beta:g}"
    extras = [f"{config.latent} latent"] if config.latent != "gaussian" else []
    extras += [f"{config.likelihood} likelihood"] if config.likelihood != "squared_error" else []
    return f"{name} ({', '.join(extras + [f'seed {config.seed}'])})"


def expected_seconds(config, n_images: int) -> float:
    """Expected training time of ``config`` on ``n_images`` training images (:data:`EPOCH_SECONDS`)."""
    per_epoch = EPOCH_SECONDS["xla" if config.jit_compile else "graph"] * n_images / 60_000
    return COMPILE_SECONDS + config.epochs * per_epoch


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _display(text: str):
    from IPython.display import display

    return display({"text/plain": text}, raw=True, display_id=True)


def announce(configs, n_images: int) -> None:
    """Before a cell trains ``configs`` (the ones not in the cache): say how many and how long."""
    configs = list(configs)
    if not configs or not enabled():
        return
    total = sum(expected_seconds(c, n_images) for c in configs)
    _display(f"Training {len(configs)} model{'s' if len(configs) > 1 else ''} not yet in the cache "
             f"({', '.join(describe(c) for c in configs[:4])}{', ...' if len(configs) > 4 else ''}): "
             f"about {_duration(total)} on a 2-core CPU.")


class TrainingProgress(keras.callbacks.Callback):
    """One line that a live kernel updates after every epoch: the model, epoch k of n, the time left."""

    def __init__(self, config, n_images: int):
        super().__init__()
        self.config, self.n_images = config, n_images
        self.handle, self.start = None, None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        self.handle = _display(f"Training {describe(self.config)}: {self.config.epochs} epochs on "
                               f"{self.n_images:,} images, about {_duration(expected_seconds(self.config, self.n_images))}")

    def on_epoch_end(self, epoch, logs=None):
        done, total = epoch + 1, self.config.epochs
        elapsed = time.perf_counter() - self.start
        loss = (logs or {}).get("loss")
        loss_text = f", loss {float(loss):.2f}" if loss is not None and math.isfinite(float(loss)) else ""
        self.handle.update({"text/plain": f"Training {describe(self.config)}: epoch {done} of {total}{loss_text}, "
                                          f"{_duration(elapsed)} so far, about {_duration(elapsed / done * (total - done))} left"},
                           raw=True)

    def on_train_end(self, logs=None):
        self.handle.update({"text/plain": f"Trained {describe(self.config)} in {_duration(time.perf_counter() - self.start)}"},
                           raw=True)
