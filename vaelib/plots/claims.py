"""Figures of the claims table (chapter "The report's claims, checked")."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from vaelib.claims import VERDICTS, Claim

#: colour per verdict; "not yet measured" claims are hatched inside "inconclusive"
VERDICT_COLOURS = {"reproduced": "#2b8a3e", "not reproduced": "#c92a2a", "inconclusive": "#adb5bd"}


def verdict_bars(claims: Sequence[Claim], *, title: str | None = None):
    """Horizontal stacked bars: for each chapter, how many of its claims got each verdict.

    Claims not measured yet count as inconclusive and are drawn hatched. Returns the figure.
    """
    claims = list(claims)
    if not claims or not all(isinstance(c, Claim) for c in claims):
        raise TypeError("claims must be a non-empty sequence of vaelib.claims.Claim records")
    chapters = sorted({c.chapter for c in claims})
    fig, ax = plt.subplots(figsize=(7.0, 0.45 * len(chapters) + 1.6))
    left = np.zeros(len(chapters))
    for verdict in VERDICTS:
        for measured in (True, False):
            counts = np.array([sum(c.chapter == ch and c.verdict == verdict and c.measured_yet == measured
                                   for c in claims) for ch in chapters], dtype=float)
            if measured is False and not counts.any():
                continue
            label = verdict if measured else f"{verdict} (not yet measured)"
            ax.barh(chapters, counts, left=left, color=VERDICT_COLOURS[verdict], edgecolor="white",
                    hatch=None if measured else "//", label=label)
            left += counts
    ax.invert_yaxis()
    ax.set_xlim(0, left.max() + 0.5)
    ax.set_xlabel("number of claims")
    ax.set_ylabel("chapter")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig
