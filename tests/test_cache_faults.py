"""The fault model of vaelib's cache, and how each fault is tested.

What the cache survives (``vaelib/_runtime/cache.py``), with the test that shows it:

=====================================================  ===========================================================
fault                                                   outcome (test)
=====================================================  ===========================================================
several processes compute and publish one key at once   one entry wins, every process gets the same result, no
                                                        error and no warning (``test_processes_share_one_key``)
readers polling a key while writers publish it          a reader sees no entry or a complete one, never a
                                                        "corrupt" one (``test_readers_never_discard...``)
a corrupt entry found by several processes at once      discarded once, with one warning; every process gets the
                                                        recomputed result (``test_corrupt_entry_found_by...``)
a dangling symlink (or a file) where an entry belongs   a warning naming it; the result is stored in its place
                                                        (``test_dangling_symlink...``, ``test_file_where...``)
a full disk or quota while storing                      the result is returned with a CacheWriteWarning naming
                                                        the folder; nothing half-written remains (``..._full_disk``)
a read-only cache folder                                its entries are read; a new result is returned with a
                                                        CacheWriteWarning (``test_read_only_cache...``)
a manifest edited by hand, checksums recomputed         the entry describes another configuration: discarded with
                                                        a warning and retrained (``test_hand_edited_manifest...``)
a process killed while writing; any flipped byte        ``tests/test_robustness.py`` and ``tests/test_train.py``
an empty path for the cache folder                      refused (``test_empty_cache_path_is_refused``)
=====================================================  ===========================================================
"""

import errno
import json
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from vaelib._runtime import cache
from vaelib.models.training import TrainConfig, train

SMALL = dict(hidden_units=(16,), epochs=2, batch_size=32)
N_PROCESSES = 4

# One process of the concurrency tests: computes or only reads each key of a round, checks what it
# got, and prints the warnings it saw as JSON. Every process finishes computing round r at the same
# wall-clock instant (start + r * 0.15 s), so their publications collide.
WORKER = textwrap.dedent("""
    import json, sys, time, warnings
    import numpy as np
    from vaelib._runtime import cache

    folder, role, rounds, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    expected = np.arange(20_000, dtype=np.float64)
    encode = lambda a: ({"values": {"a": a}}, {"n": len(a)})
    decode = lambda arrays, metadata: arrays["values"]["a"]
    def compute():
        time.sleep(max(0.0, start + r * 0.15 - time.time()))
        return expected.copy()
    seen = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for r in range(rounds):
            key = f"round{r:03d}" + "0" * 24
            if role == "writer":
                value, _ = cache.cached(key, compute, encode=encode, decode=decode, cache_dir=folder)
                assert np.array_equal(value, expected), (r, "wrong result")
            else:
                deadline = time.monotonic() + 60
                while (stored := cache.read_or_discard(folder, key, then="reading again")) is None:
                    assert time.monotonic() < deadline, "no entry appeared"
                    time.sleep(0.002)
                assert np.array_equal(stored[0]["values"]["a"], expected)
    print(json.dumps([str(w.message) for w in caught]))
""")


def _run_workers(folder, roles, rounds):
    start = time.time() + 3.0   # after every process has imported vaelib
    processes = [subprocess.Popen([sys.executable, "-c", WORKER, str(folder), role, str(rounds), str(start)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for role in roles]
    outcomes = [p.communicate(timeout=300) for p in processes]
    for p, (out, err) in zip(processes, outcomes):
        assert p.returncode == 0, err
    return [json.loads(out) for out, _ in outcomes]


def _valid_entries(folder):
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_processes_share_one_key(tmp_path):
    """Four processes compute and publish the same keys, 25 rounds: all agree, none fails or warns."""
    warned = _run_workers(tmp_path, ["writer"] * N_PROCESSES, rounds=25)
    assert warned == [[]] * N_PROCESSES
    assert len(_valid_entries(tmp_path)) == 25
    for name in _valid_entries(tmp_path):
        assert cache.read_entry(tmp_path, name) is not None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(cache.TEMP_PREFIX)]  # nothing left over


def test_readers_never_discard_an_entry_being_published(tmp_path):
    warned = _run_workers(tmp_path, ["writer", "reader", "writer", "reader", "reader"], rounds=25)
    assert warned == [[]] * 5


def test_corrupt_entry_found_by_several_processes_is_discarded_once(tmp_path):
    key = "round000" + "0" * 24
    cache.write_entry(tmp_path, key, {"values": {"a": np.zeros(3)}}, {"n": 3})
    with open(tmp_path / key / "values.npz", "r+b") as handle:   # flip a byte
        handle.seek(40)
        byte = handle.read(1)
        handle.seek(40)
        handle.write(bytes([byte[0] ^ 0xFF]))
    warned = _run_workers(tmp_path, ["writer"] * N_PROCESSES, rounds=1)
    messages = [m for w in warned for m in w]
    assert len(messages) == 1 and "does not match its sha256; discarding it" in messages[0], messages
    assert np.array_equal(cache.read_entry(tmp_path, key)[0]["values"]["a"], np.arange(20_000, dtype=np.float64))


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(64, 784)).astype(np.float32), rng.uniform(size=(16, 784)).astype(np.float32)


def _entry_of(folder, config, images):
    from vaelib.models.training import cache_key
    return folder / cache_key(config, *images)


def test_dangling_symlink_where_an_entry_belongs(tmp_path, images):
    config = TrainConfig(**SMALL)
    entry = _entry_of(tmp_path, config, images)
    entry.symlink_to(tmp_path / "nowhere")
    with pytest.warns(RuntimeWarning, match="was a dangling symlink to .*nowhere.*replacing it"):
        first = train(config, *images, cache_dir=tmp_path)
    assert entry.is_dir() and not entry.is_symlink()
    second = train(config, *images, cache_dir=tmp_path)
    assert second.from_cache and np.array_equal(second.snapshots[2][0], first.snapshots[2][0])


def test_file_where_an_entry_belongs(tmp_path, images):
    config = TrainConfig(**SMALL)
    _entry_of(tmp_path, config, images).write_text("not an entry")
    with pytest.warns(RuntimeWarning, match="was a file, not an entry; replacing it"):
        train(config, *images, cache_dir=tmp_path)
    assert train(config, *images, cache_dir=tmp_path).from_cache


def test_full_disk_returns_the_result_with_a_warning(tmp_path, images, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache.np, "savez", no_space)
    with pytest.warns(cache.CacheWriteWarning, match=f"could not be stored in the cache folder '{tmp_path}' "
                                                     r"\(No space left on device\); it is returned"):
        result = train(TrainConfig(**SMALL), *images, cache_dir=tmp_path)
    assert not result.from_cache and set(result.snapshots) == {2}
    assert not list(tmp_path.iterdir()) or all(p.name.startswith(cache.LOCK_PREFIX) for p in tmp_path.iterdir())


def test_read_only_cache_is_read_and_new_results_are_returned(tmp_path, images, monkeypatch):
    stored = train(TrainConfig(**SMALL), *images, cache_dir=tmp_path)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(cache.tempfile, "mkdtemp", read_only)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = train(TrainConfig(**SMALL), *images, cache_dir=tmp_path)   # read: no warning
    assert again.from_cache and np.array_equal(again.snapshots[2][0], stored.snapshots[2][0])
    with pytest.warns(cache.CacheWriteWarning, match="Read-only file system"):
        new = train(TrainConfig(**SMALL, seed=1), *images, cache_dir=tmp_path)
    assert not new.from_cache


def test_hand_edited_manifest_is_not_trusted(tmp_path, images):
    config = TrainConfig(**SMALL)
    train(config, *images, cache_dir=tmp_path)
    manifest_path = _entry_of(tmp_path, config, images) / cache.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["content"]["metadata"]["config"]["epochs"] = 7            # describes another training
    manifest["checksum"] = cache._checksum(manifest["content"])        # ... with a consistent checksum
    manifest_path.write_text(json.dumps(manifest))
    with pytest.warns(RuntimeWarning, match="describes another config than the one asked for; discarding it"):
        result = train(config, *images, cache_dir=tmp_path)
    assert not result.from_cache


def test_empty_cache_path_is_refused(images):
    with pytest.raises(ValueError, match="cache_dir must name a folder, got an empty path"):
        train(TrainConfig(**SMALL), *images, cache_dir="")
