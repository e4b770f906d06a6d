"""vaelib.memory: freed C-heap pages handed back after the steps that allocate most."""

import ctypes.util
import platform

import numpy as np
import pytest

from vaelib import memory


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="malloc_trim is a glibc function")
def test_glibc_malloc_trim_is_found_and_called():
    assert ctypes.util.find_library("c") is not None
    assert memory.release_free_memory() is True


def test_decorator_releases_after_return_and_after_an_error(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "release_free_memory", lambda: calls.append("released") or True)

    @memory.releases_free_memory
    def measure(n):
        """Doc kept."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return np.arange(n).sum()

    assert measure(5) == 10 and calls == ["released"]
    with pytest.raises(ValueError, match="n must be >= 0, got -1"):
        measure(-1)
    assert calls == ["released", "released"]
    assert measure.__name__ == "measure" and measure.__doc__ == "Doc kept."


def test_without_malloc_trim_nothing_happens(monkeypatch):
    monkeypatch.setattr(memory, "_malloc_trim", lambda: None)
    assert memory.release_free_memory() is False
