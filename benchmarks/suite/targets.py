"""The targets of issues 2, 4 and 7 and the verdict of a measured figure against them."""

from __future__ import annotations

import math

# The targets of issue 7 (and issue 2's earlier speed target). The verdicts are computed from these.
TARGETS = {
    "ratio": ("vaelib / keras.io-style reference, training throughput", ">=", 1.5),
    "ratio_issue2": ("the same ratio against issue 2's target", ">=", 1.3),
    "peak_fraction": ("vaelib's training FLOP rate / float32 matmul peak", ">=", 0.5),
    "book_cold_s": ("all chapters, empty model cache, seconds", "<=", 600.0),
    "book_warm_s": ("all chapters, warm model cache, seconds", "<=", 90.0),
    "html_s": ("HTML build alone, seconds", "<=", 60.0),
    "kernel_peak_gb": ("largest peak resident memory of a chapter's kernel, GB", "<=", 1.5),
    "linearity": ("epoch time against training-set size: largest deviation from the fitted line", "<=", 0.10),
    # issue 4's constraints on the results chapters alone
    "results_cold_s": ("results chapters 06-12, empty model cache, seconds", "<=", 720.0),
    "results_warm_s": ("results chapters 06-12, warm model cache, seconds", "<=", 120.0),
    "results_peak_gb": ("results chapters 06-12: largest peak kernel memory, GB", "<=", 1.5),
}
RESULTS_CHAPTERS = tuple(f"{n:02d}" for n in range(6, 13))


def verdict(key: str, value) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    _, op, target = TARGETS[key]
    return value >= target if op == ">=" else value <= target
