"""Per-epoch training curves from :class:`vaelib.models.training.TrainResult` histories.

A history is a mapping with keys ``"{split}_{term}"`` (e.g. ``"train_kl"``, ``"test_loss"``)
and one value per epoch, as in ``TrainResult.history``. Every function returns the figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

__all__ = ["loss_history"]

TERM_LABELS = {
    "loss": "loss (reconstruction + β·KL)",
    "reconstruction": "reconstruction term",
    "kl": "KL term",
    "beta_kl": "β·KL",
}
SPLIT_STYLES = {"train": "-", "test": "--"}


def _is_history(obj) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(
        isinstance(v, (Sequence, np.ndarray)) and not isinstance(v, str) for v in obj.values())


def _curve(history: Mapping, key: str, label: str) -> np.ndarray:
    if key not in history:
        raise KeyError(f"history {label!r} has no entry {key!r}; it has {sorted(history)}")
    values = np.asarray(history[key], dtype=np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"history {label!r}[{key!r}] must be a non-empty sequence of per-epoch values")
    return values


def loss_history(histories, terms: Sequence[str] = ("reconstruction", "kl"), *,
                 splits: Sequence[str] = ("train", "test"), title: str | None = None, log_y: bool = False,
                 term_labels: Mapping[str, str] | None = None):
    """One panel per loss term; one colour per history, solid for train and dashed for test.

    Parameters
    ----------
    histories : a history (see the module docstring) or a mapping from a label (e.g. a model's
        name) to a history
    terms : the loss terms to draw, one panel each (e.g. "loss", "reconstruction", "kl")
    splits : which of "train" and "test" to draw
    title : figure title
    log_y : logarithmic y axes
    term_labels : panel titles overriding the defaults in ``TERM_LABELS``
    """
    if _is_history(histories) and not any(_is_history(v) for v in histories.values()):
        histories = {"": histories}
    if not isinstance(histories, Mapping) or not histories or not all(_is_history(h) for h in histories.values()):
        raise TypeError("histories must be a history (a mapping of per-epoch lists such as TrainResult.history) "
                        "or a non-empty mapping from labels to histories")
    if isinstance(terms, str) or not terms:
        raise ValueError(f"terms must be a non-empty sequence of loss-term names, got {terms!r}")
    if isinstance(splits, str) or not splits:
        raise ValueError(f"splits must be a non-empty sequence drawn from {tuple(SPLIT_STYLES)}, got {splits!r}")
    for split in splits:
        if split not in SPLIT_STYLES:
            raise ValueError(f"splits must be drawn from {tuple(SPLIT_STYLES)}; got {split!r}")
    labels = dict(TERM_LABELS, **(term_labels or {}))
    fig, axes = plt.subplots(1, len(terms), figsize=(4.2 * len(terms), 3.4), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, term in zip(axes[0], terms):
        for k, (name, history) in enumerate(histories.items()):
            for split in splits:
                values = _curve(history, f"{split}_{term}", name)
                legend = f"{name} ({split})" if name else split
                ax.plot(np.arange(1, len(values) + 1), values, SPLIT_STYLES[split], color=colours[k % len(colours)],
                        marker="o" if len(values) <= 30 else None, markersize=3, label=legend)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("per-image mean (nats)" if term in ("kl", "beta_kl") else "per-image mean")
        ax.set_title(labels.get(term, term))
        if log_y:
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
