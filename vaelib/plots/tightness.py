"""Figures of chapter 14: the importance-weighted bound against k, and the rate-distortion plane."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["bound_against_k", "rate_distortion_plane"]


def bound_against_k(curves, *, references=None, title="", ylabel="nats", ax=None):
    """Mean bound against k (log axis) with +-2 standard-error bars.

    curves : mapping label -> (ks, means, standard_errors)
    references : mapping label -> (value or (ks, values)) drawn as dashed lines (horizontal for a value)
    """
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots()
    for label, (ks, means, ses) in curves.items():
        ax.errorbar(ks, means, yerr=2 * np.asarray(ses), marker="o", ms=4, capsize=3, label=label)
    styles = iter(["--", ":", "-.", (0, (5, 1))])
    for label, value in (references or {}).items():
        style = next(styles)
        if np.ndim(value) == 0:
            ax.axhline(value, color="k", ls=style, lw=1.2, label=label)
        else:
            ax.plot(value[0], value[1], color="0.35", ls=style, lw=1.2, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("k, importance samples per image")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def rate_distortion_plane(rates, distortions, labels, *, reference: int, rate_errors=None, distortion_errors=None,
                          title="", distortion_label="distortion  $-E_q[\\log p(x|z)]$ (nats)", ax=None):
    """Each model as a point (rate = KL, distortion); the line of equal ELBO (D + R constant)
    through model number ``reference``; every point below that line has a higher ELBO."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots()
    rates = np.asarray(rates, dtype=float)
    distortions = np.asarray(distortions, dtype=float)
    ax.errorbar(rates, distortions, xerr=None if rate_errors is None else 2 * np.asarray(rate_errors),
                yerr=None if distortion_errors is None else 2 * np.asarray(distortion_errors),
                fmt="o", color="C0", capsize=3, label="a trained model (mean over the test images)")
    for i, (r, d, text) in enumerate(zip(rates, distortions, labels)):
        # models at the same point (e.g. two collapsed ones) get their labels stacked, not overprinted
        twins = sum(1 for j in range(i) if abs(rates[j] - r) < 1e-2 * max(1.0, rates.max())
                    and abs(distortions[j] - d) < 1e-2 * max(1.0, np.ptp(distortions)))
        ax.annotate(text, (r, d), textcoords="offset points", xytext=(6, 4 - 11 * twins), fontsize=8)
    total = rates[reference] + distortions[reference]
    grid = np.linspace(0.0, max(rates.max(), 1.0) * 1.05, 50)
    ax.plot(grid, total - grid, "k--", lw=1.2, label=f"equal ELBO to {labels[reference]}: D + R = {total:.1f}")
    low, high = distortions.min(), distortions.max()
    pad = 0.1 * max(high - low, 1.0)
    ax.set_ylim(low - pad, high + pad)
    ax.set_xlabel("rate  KL$(q(z|x)\\,\\|\\,p(z))$ (nats)")
    ax.set_ylabel(distortion_label)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig
