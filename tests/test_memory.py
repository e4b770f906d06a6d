"""vaelib._runtime.memory: freed C-heap pages handed back after the steps that allocate most."""

import ctypes.util
import platform

import numpy as np
import pytest
from tolerances import FLOAT32_REORDERED

from vaelib._runtime import batching, memory


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


def test_in_blocks_stacks_arrays_and_tuples_like_one_call():
    x = np.arange(50, dtype=np.float32).reshape(25, 2)
    np.testing.assert_array_equal(batching.in_blocks(lambda a: a * 2.0, x, rows=4), x * 2.0)
    first, second = batching.in_blocks(lambda a: (a[:, :1], a.sum(axis=1)), x, rows=7)
    np.testing.assert_array_equal(first, x[:, :1])
    np.testing.assert_array_equal(second, x.sum(axis=1))
    seen = []
    batching.in_blocks(lambda a: seen.append(len(a)) or a, x, rows=10)
    assert seen == [10, 10, 5]
    assert batching.in_blocks(lambda a: a, x).shape == (25, 2)  # fewer rows than EAGER_ROWS: one call


def test_in_blocks_refuses_bad_rows_and_empty_inputs():
    x = np.zeros((3, 2), np.float32)
    with pytest.raises(ValueError, match="rows must be >= 1, got 0"):
        batching.in_blocks(lambda a: a, x, rows=0)
    with pytest.raises(ValueError, match="inputs must have at least one row"):
        batching.in_blocks(lambda a: a, x[:0])


def test_in_blocks_of_a_vae_are_its_block_calls_stacked_and_match_one_call():
    from vaelib.models.networks import VAE

    vae = VAE(latent_dim=2)
    x = np.random.default_rng(0).random((5000, 784), dtype=np.float32)
    mu, log_var = batching.in_blocks(vae.encode, x)
    # bit for bit: the calls on each block of EAGER_ROWS rows, in order, nothing lost or repeated
    starts = range(0, len(x), batching.EAGER_ROWS)
    by_block = [vae.encode(x[start:start + batching.EAGER_ROWS]) for start in starts]
    np.testing.assert_array_equal(mu, np.concatenate([np.asarray(block[0]) for block in by_block]))
    np.testing.assert_array_equal(log_var, np.concatenate([np.asarray(block[1]) for block in by_block]))
    # against one call over all 5,000 rows: equal up to float32 summation order (conftest)
    whole_mu, whole_log_var = vae.encode(x)
    np.testing.assert_allclose(mu, np.asarray(whole_mu), **FLOAT32_REORDERED)
    np.testing.assert_allclose(log_var, np.asarray(whole_log_var), **FLOAT32_REORDERED)
    np.testing.assert_allclose(batching.in_blocks(vae.decode, mu), np.asarray(vae.decode(whole_mu)),
                               **FLOAT32_REORDERED)


# --- figures freed after each cell that drew (vaelib._runtime.memory.release_after_figure_cells) ---------------

class _Shell:
    def __init__(self):
        from IPython.core.events import EventManager, available_events

        self.events = EventManager(self, available_events)


@pytest.fixture
def kernel_shell(monkeypatch):
    import IPython
    import matplotlib

    stub = _Shell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: stub)
    monkeypatch.setattr(memory, "_made_figures", False)
    yield stub
    matplotlib.rcParams["figure.hooks"] = [h for h in matplotlib.rcParams["figure.hooks"] if h != memory._FIGURE_HOOK]


def test_the_cell_hook_is_registered_once(kernel_shell):
    import matplotlib

    memory.release_after_figure_cells()
    memory.release_after_figure_cells()
    assert matplotlib.rcParams["figure.hooks"].count(memory._FIGURE_HOOK) == 1
    assert kernel_shell.events.callbacks["post_run_cell"].count(memory._free_closed_figures) == 1


def test_a_cell_that_drew_is_followed_by_one_collection(kernel_shell, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    collections, releases = [], []
    monkeypatch.setattr(memory.gc, "collect", lambda *a: collections.append(a) or 0)
    monkeypatch.setattr(memory, "release_free_memory", lambda: releases.append(1) or True)
    memory.release_after_figure_cells()
    kernel_shell.events.trigger("post_run_cell", None)  # a cell without figures: nothing to free
    assert collections == [] and releases == []
    plt.close(plt.figure())
    assert memory._made_figures
    kernel_shell.events.trigger("post_run_cell", None)
    assert len(collections) == 1 and releases == [1] and not memory._made_figures
    kernel_shell.events.trigger("post_run_cell", None)  # the next cell drew nothing
    assert len(collections) == 1


def test_outside_a_kernel_nothing_is_registered(monkeypatch):
    import IPython
    import matplotlib

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    before = list(matplotlib.rcParams["figure.hooks"])
    memory.release_after_figure_cells()
    assert matplotlib.rcParams["figure.hooks"] == before

