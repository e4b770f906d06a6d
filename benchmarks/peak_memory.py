"""Peak resident memory, polled in a thread: of this process, or of the processes it starts; and the
CPU-time readings that tell whether other programs competed for the cores during a measurement.

Used by ``run_all.py``'s book part, ``suite/book.py`` (a papermill kernel and its children:
``which="children"``), by ``memory_floor.py`` (its own process: ``which="self"``) and by
``bench_training.py``. 1 GB = 10^9 bytes.
"""

from __future__ import annotations

import os
import threading

import psutil


class PeakMemory:
    """A context manager that polls resident memory every ``interval`` seconds and keeps the largest
    reading: of this process (``which="self"``) or the sum over the processes it started after
    entering (``which="children"``, e.g. a notebook kernel and any children of it)."""

    def __init__(self, which: str = "children", interval: float = 0.05):
        if which not in ("self", "children"):
            raise ValueError(f"which must be 'self' or 'children', got {which!r}")
        self.which, self.me, self.interval = which, psutil.Process(), interval
        self.peak, self.window, self.current, self._stop = 0, 0, 0, threading.Event()

    def read(self) -> int:
        """The resident memory now (bytes) of what is watched."""
        if self.which == "self":
            return self.me.memory_info().rss
        total = 0
        for process in self.me.children(recursive=True):
            if process.pid in self.baseline:
                continue
            try:
                total += process.memory_info().rss
            except psutil.Error:  # it ended between the listing and the reading
                pass
        return total

    def __enter__(self):
        self.baseline = {p.pid for p in self.me.children(recursive=True)}
        self.current = self.window = self.peak = self.read()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def _poll(self):
        while not self._stop.is_set():
            total = self.read()
            self.peak, self.window, self.current = max(self.peak, total), max(self.window, total), total
            self._stop.wait(self.interval)

    def take_window(self) -> int:
        """The peak since the last call (at least the reading now, for a step shorter than the polling
        interval); the polling thread keeps updating it."""
        self.current = self.read()
        window, self.window = max(self.window, self.current), self.current
        return window

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()


def machine_busy_seconds() -> float:
    """CPU-seconds the whole machine has spent busy since boot (Linux /proc/stat), or NaN elsewhere."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU-seconds of this process and of its children that have ended and been waited for (a
    papermill kernel is, once its notebook is done)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def others_share(busy_seconds: float, own_seconds: float, wall_seconds: float) -> float:
    """Share of the machine's CPU capacity that other programs used during ``wall_seconds``: busy
    CPU-seconds of the whole machine minus this process tree's, over wall time x logical CPUs."""
    return max(0.0, busy_seconds - own_seconds) / (wall_seconds * (os.cpu_count() or 1))
