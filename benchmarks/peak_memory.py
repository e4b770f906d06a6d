"""Peak resident memory, polled in a thread: of this process, or of the processes it starts.

Used by ``run_all.py`` (a papermill kernel and its children: ``which="children"``) and by
``memory_floor.py`` (its own process: ``which="self"``). 1 GB = 10^9 bytes.
"""

from __future__ import annotations

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
