"""Figures of sample quality as a digit classifier sees it (the report's figures 12-13)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from vaelib._runtime.validation import check_real


def _check_curves(curves, name: str) -> dict:
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError(f"{name} must be a non-empty mapping, got {type(curves).__name__}")
    return dict(curves)


def confidence_ratio_curves(curves: Mapping, *, title: str | None = None, n_se: float = 2.0, ncols: int | None = None):
    """Eq. (13)'s confidence ratio against the training epoch, one panel per model (figures 12-13).

    Parameters
    ----------
    curves : mapping panel title -> mapping series name -> (epochs, ratios, standard errors);
        e.g. {"β = 0": {"reconstructions": ([1, 5], [0.9, 0.95], [0.01, 0.01]), "prior samples": ...}}
    title : figure title
    n_se : error bars span +- n_se standard errors
    ncols : panels per row (default: all in one row)

    The test images themselves have ratio 1 by definition; a dashed line marks it.
    """
    curves = _check_curves(curves, "curves")
    n_se = check_real("n_se", n_se, minimum=0.0)
    ncols = len(curves) if ncols is None else int(ncols)
    nrows = -(-len(curves) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.9 * nrows), sharey=True, squeeze=False)
    low, high = 1.0, 1.0
    for ax, (panel, series) in zip(axes.flat, curves.items()):
        ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="test images (= 1)")
        for (name, (epochs, ratios, ses)), marker in zip(_check_curves(series, "series").items(), "osD^v"):
            ratios, ses = np.asarray(ratios, float), np.asarray(ses, float)
            ax.errorbar(epochs, ratios, yerr=n_se * ses, marker=marker, capsize=3, label=name)
            low, high = min(low, float(np.min(ratios - n_se * ses))), max(high, float(np.max(ratios + n_se * ses)))
        ax.set_title(panel)
        ax.set_xlabel("training epoch")
        ax.set_xticks(sorted({int(e) for s in series.values() for e in s[0]}))
    for ax in axes[:, 0]:
        ax.set_ylabel("confidence ratio, eq. (13)")
    for ax in list(axes.flat)[len(curves):]:
        ax.set_visible(False)
    pad = 0.05 * (high - low + 1e-3)
    axes[0, 0].set_ylim(low - pad, high + pad)
    axes[0, 0].legend(loc="lower right", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def measure_bars(rows: Mapping, measures: Sequence[str], *, labels: Mapping | None = None, title: str | None = None,
                 limits: Mapping | None = None):
    """Grouped horizontal bars: one panel per measure, one bar per row (e.g. per model or image set).

    Parameters
    ----------
    rows : mapping row name -> mapping measure -> value (NaN or missing: no bar, marked "n/a")
    measures : the measures to draw, one panel each
    labels : optional axis label per measure
    title : figure title
    limits : optional (low, high) x-limits per measure
    """
    rows = _check_curves(rows, "rows")
    measures = list(measures)
    if not measures:
        raise ValueError("measures is empty: name at least one measure to draw")
    labels, limits = dict(labels or {}), dict(limits or {})
    names = list(rows)
    fig, axes = plt.subplots(1, len(measures), figsize=(2.9 * len(measures) + 1.2, 0.35 * len(names) + 1.4),
                             sharey=True, squeeze=False)
    positions = np.arange(len(names))[::-1]
    for ax, measure in zip(axes[0], measures):
        values = np.array([rows[n].get(measure, np.nan) for n in names], dtype=float)
        present = np.isfinite(values)
        ax.barh(positions[present], values[present], color="tab:blue", alpha=0.8)
        for y, v, ok in zip(positions, values, present):
            ax.text(v if ok else 0.0, y, f" {v:.2f}" if ok else " n/a", va="center", fontsize=8)
        ax.set_xlabel(labels.get(measure, measure))
        if measure in limits:
            ax.set_xlim(*limits[measure])
        ax.grid(axis="y", visible=False)
    axes[0, 0].set_yticks(positions, names)
    if title:
        fig.suptitle(title)
    return fig
