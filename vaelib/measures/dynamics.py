"""Loss dynamics: the shares of the reconstruction and KL terms in a per-epoch history.

Pure functions on :class:`vaelib.models.training.TrainResult` histories (mappings ``"{split}_{term}"`` to
per-epoch lists), used by the chapter "Loss dynamics" to check the report's reading of its
figures 10-11. Two shares of the KL term are defined, because the report does not say which one
its figures show:

- ``weighted``: beta * KL / loss, the KL's share of what is minimised (eq. 12, negated);
- ``unweighted``: KL / (reconstruction + KL), the KL's share of the two terms as plotted.

At beta = 1 they coincide; at beta = 0 the weighted share is 0 whatever the KL does.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vaelib._runtime.validation import check_beta, check_choice

__all__ = ["SHARES", "history_curve", "kl_shares", "trend"]

SHARES = ("weighted", "unweighted")
SPLITS = ("train", "test")


def history_curve(history: Mapping, split: str, term: str) -> np.ndarray:
    """The per-epoch values of ``{split}_{term}`` as a finite float64 array, or raise naming the key."""
    split = check_choice("split", split, SPLITS)
    if not isinstance(history, Mapping):
        raise TypeError(f"history must be a mapping of per-epoch lists, got {type(history).__name__}")
    key = f"{split}_{term}"
    if key not in history:
        raise KeyError(f"history has no entry {key!r}; it has {sorted(history)}")
    values = np.asarray(history[key], dtype=np.float64)
    if values.ndim != 1 or len(values) == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"history[{key!r}] must be a non-empty sequence of finite per-epoch values")
    return values


def kl_shares(history: Mapping, beta: float, split: str = "test") -> dict[str, np.ndarray]:
    """Per-epoch KL shares (see the module docstring), each in [0, 1].

    Also checks the history is consistent with ``beta``: loss = reconstruction + beta * KL per epoch
    (relative tolerance 1e-4: float32 batch means accumulated in float64).
    """
    beta = check_beta(beta)
    rec = history_curve(history, split, "reconstruction")
    kl = history_curve(history, split, "kl")
    loss = history_curve(history, split, "loss")
    if not (len(rec) == len(kl) == len(loss)):
        raise ValueError("history curves have different lengths")
    if np.any(rec < 0) or np.any(kl < -1e-6):
        raise ValueError("reconstruction and KL terms must be non-negative")
    kl = np.maximum(kl, 0.0)
    if not np.allclose(loss, rec + beta * kl, rtol=1e-4, atol=1e-6):
        raise ValueError(f"history's loss is not reconstruction + beta * kl for beta={beta}; is beta the model's?")
    weighted = np.where(loss > 0, beta * kl / np.where(loss > 0, loss, 1.0), 0.0)
    total = rec + kl
    unweighted = np.where(total > 0, kl / np.where(total > 0, total, 1.0), 0.0)
    return {"weighted": weighted, "unweighted": unweighted}


def trend(values) -> float:
    """Last value minus first value of a per-epoch curve (positive: it grew over training)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0 or not np.all(np.isfinite(values)):
        raise ValueError("values must be a non-empty 1-D sequence of finite numbers")
    return float(values[-1] - values[0])
