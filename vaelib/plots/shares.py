"""Per-epoch shares of the KL term in the loss, one panel per beta (the report's figures 10-11).

See :mod:`vaelib.measures.dynamics` for the two shares drawn: beta * KL / loss and KL / (reconstruction + KL).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator

from vaelib.measures.dynamics import kl_shares

__all__ = ["kl_share_curves"]

SHARE_LABELS = {"weighted": "β·KL / loss", "unweighted": "KL / (reconstruction + KL)"}
SPLIT_STYLES = {"train": "-", "test": "--"}


def kl_share_curves(histories: Mapping, *, splits=("train", "test"), title: str | None = None,
                    log_y: bool = True):
    """One panel per beta: the KL's weighted and unweighted shares per epoch, in percent.

    Parameters
    ----------
    histories : mapping from beta (float) to that model's history (``TrainResult.history``)
    splits : which of "train" and "test" to draw (solid and dashed)
    title : figure title
    log_y : logarithmic share axis (shares span orders of magnitude across beta and epochs); shares
        below 1e-6 (0.0001 %) are drawn at that floor
    """
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError("histories must be a non-empty mapping from beta to a history")
    for split in splits:
        if split not in SPLIT_STYLES:
            raise ValueError(f"splits must be drawn from {tuple(SPLIT_STYLES)}; got {split!r}")
    fig, axes = plt.subplots(1, len(histories), figsize=(3.3 * len(histories) + 0.5, 3.3), squeeze=False,
                             sharey=True)
    colours = {"weighted": "tab:red", "unweighted": "tab:blue"}
    for ax, (beta, history) in zip(axes[0], histories.items()):
        for split in splits:
            shares = kl_shares(history, beta, split)
            for name, values in shares.items():
                if not np.any(values > 0):  # beta = 0: beta * KL is identically 0, nothing to draw on a log axis
                    continue
                values = 100.0 * np.maximum(values, 1e-6)
                ax.plot(np.arange(1, len(values) + 1), values, SPLIT_STYLES[split], color=colours[name],
                        marker="o" if len(values) <= 30 else None, markersize=2.5,
                        label=f"{SHARE_LABELS[name]} ({split})")
        ax.axhline(1.0, color="grey", lw=0.8, ls=":", label="1 %")
        if beta == 0:
            ax.text(0.5, 0.04, "β·KL / loss = 0 at β = 0", transform=ax.transAxes, ha="center", fontsize=8,
                    color=colours["weighted"])
        ax.set_title(f"β = {beta:g}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if log_y:
            ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}%"))
    axes[0, 0].set_ylabel("share of the KL term")
    legend = {}
    for ax in axes[0]:  # every line label once, whichever panel drew it (beta = 0 has no weighted share)
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    fig.legend(list(legend.values()), list(legend.keys()), loc="outside lower center", ncol=5, fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
