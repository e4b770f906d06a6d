"""What every part shares: the paths, units and thresholds, logging, and spreads of repeated measurements."""

from __future__ import annotations

import datetime as _dt
import math
import statistics
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent  # benchmarks/
ROOT = HERE.parent
N_TRAIN = 60_000
BUSY = 0.10  # above this median share of the machine used by other processes, a run is flagged as disturbed
GB = 1e9  # memory is reported in decimal units: 1 GB = 10^9 bytes, 1 MB = 10^6 bytes


def log(message: str = "") -> None:
    print(message, flush=True)


def spread(values) -> dict:
    """Median, min, max and quartiles of a list of numbers."""
    values = sorted(float(v) for v in values)
    if not values:
        return {"median": math.nan, "min": math.nan, "max": math.nan, "q1": math.nan, "q3": math.nan, "n": 0}
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (values[0],) * 3
    return {"median": statistics.median(values), "min": values[0], "max": values[-1], "q1": q1, "q3": q3,
            "n": len(values)}


def span(sp: dict, fmt: str = ".2f") -> str:
    """A spread as "median (min - max)"."""
    return f"{sp['median']:{fmt}} ({sp['min']:{fmt}} - {sp['max']:{fmt}})"


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
