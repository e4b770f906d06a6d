"""Seeded, cached training: configuration checks, history, snapshots, cache and determinism."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from vaelib._runtime import cache
from vaelib.models.training import TrainConfig, TrainingDivergedError, train

SMALL = dict(hidden_units=(32,), epochs=3, batch_size=64, snapshot_epochs=(1, 2))


def test_history_snapshots_and_loss_terms(small_images, cache_dir):
    result = train(TrainConfig(beta=2.0, **SMALL), *small_images)
    assert not result.from_cache
    assert sorted(result.snapshots) == [1, 2, 3]
    for split in ("train", "test"):
        history = {k.removeprefix(f"{split}_"): np.array(v) for k, v in result.history.items() if k.startswith(split)}
        assert all(len(v) == 3 for v in history.values())
        # Test-set terms are evaluated on the same batches, so they add up to float32 precision;
        # training terms are running means of the same per-batch sums, so they add up as well.
        np.testing.assert_allclose(history["loss"], history["reconstruction"] + history["beta_kl"], rtol=1e-5)
        np.testing.assert_allclose(history["beta_kl"], 2.0 * history["kl"], rtol=1e-5)
    # Snapshots differ from each other: training moved the weights.
    assert not np.allclose(result.snapshots[1][0], result.snapshots[3][0])


def test_cache_hit_returns_the_same_model(small_images, cache_dir):
    config = TrainConfig(**SMALL)
    first = train(config, *small_images)
    second = train(config, *small_images)
    assert second.from_cache and second.history == first.history
    for a, b in zip(first.snapshots[3], second.snapshots[3]):
        np.testing.assert_array_equal(a, b)
    z = np.asarray(second.model().encode(small_images[1][:5])[0])
    np.testing.assert_allclose(z, np.asarray(first.model().encode(small_images[1][:5])[0]), rtol=1e-6)


def test_cache_miss_when_config_or_data_change(small_images, cache_dir):
    train(TrainConfig(**SMALL), *small_images)
    assert not train(TrainConfig(beta=3.0, **SMALL), *small_images).from_cache
    x_train, x_test = small_images
    assert not train(TrainConfig(**SMALL), x_train[:-1], x_test).from_cache
    assert len([p for p in cache_dir.iterdir() if not p.name.startswith(".")]) == 3


def test_uint8_pixels_train_the_same_model_as_their_floats(small_images, cache_dir):
    """The step scales uint8 pixels by table lookup to exactly to_unit_interval's floats: one model, one key."""
    from vaelib.data import to_unit_interval

    x_train, x_test = small_images
    pixels_train, pixels_test = (np.round(x * 255).astype(np.uint8) for x in (x_train, x_test))
    config = TrainConfig(**SMALL)
    from_pixels = train(config, pixels_train, pixels_test.reshape(-1, 28, 28))
    from_floats = train(config, to_unit_interval(pixels_train), to_unit_interval(pixels_test), use_cache=False)
    assert not from_pixels.from_cache and from_floats.history == from_pixels.history
    for a, b in zip(from_pixels.snapshots[3], from_floats.snapshots[3]):
        np.testing.assert_array_equal(a, b)
    again = train(config, to_unit_interval(pixels_train), to_unit_interval(pixels_test))
    assert again.from_cache   # the float form finds the entry the pixels wrote


def _only_entry(cache_dir):
    (entry,) = [p for p in cache_dir.iterdir() if not p.name.startswith(".")]
    return entry


@pytest.mark.parametrize("target", ["weights_e003.npz", "manifest.json"])
def test_corrupt_cache_entry_is_detected_and_retrained(small_images, cache_dir, target):
    config = TrainConfig(**SMALL)
    first = train(config, *small_images)
    path = _only_entry(cache_dir) / target
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    path.write_bytes(bytes(data))
    with pytest.raises(cache.CacheCorruptError):
        cache.read_entry(cache_dir, _only_entry(cache_dir).name)
    with pytest.warns(RuntimeWarning, match="discarding it and retraining"):
        again = train(config, *small_images)
    assert not again.from_cache
    assert again.history == first.history  # same seed, same result
    assert train(config, *small_images).from_cache  # the rewritten entry verifies


def test_truncated_cache_file_is_detected(small_images, cache_dir):
    train(TrainConfig(**SMALL), *small_images)
    path = _only_entry(cache_dir) / "weights_e001.npz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(RuntimeWarning, match="does not match its sha256"):
        assert not train(TrainConfig(**SMALL), *small_images).from_cache


def test_process_killed_while_writing_leaves_nothing_readable(tmp_path):
    """SIGKILL a real process in the middle of writing an entry; the entry must not exist."""
    script = textwrap.dedent(f"""
        import time, numpy as np
        from vaelib._runtime import cache
        real_savez = np.savez
        def slow_savez(handle, **arrays):
            real_savez(handle, **arrays)
            print("wrote", flush=True)
            time.sleep(60)
        np.savez = slow_savez
        cache.write_entry({str(tmp_path)!r}, "k" * 32, {{"weights_e001": {{"w0": np.ones(10)}}, "weights_e002": {{"w0": np.ones(10)}}}}, {{}})
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "wrote"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    leftovers = [p for p in tmp_path.iterdir() if not p.name.startswith(cache.LOCK_PREFIX)]
    assert leftovers and all(p.name.startswith(cache.TEMP_PREFIX) for p in leftovers)
    assert cache.read_entry(tmp_path, "k" * 32) is None


def test_same_seed_gives_identical_history_in_fresh_processes(tmp_path):
    script = textwrap.dedent("""
        import json, numpy as np
        from vaelib.models.training import TrainConfig, train
        rng = np.random.default_rng(7)
        x = rng.uniform(size=(256, 784)).astype(np.float32)
        result = train(TrainConfig(hidden_units=(16,), epochs=2, batch_size=32), x[:192], x[192:], use_cache=False)
        print(json.dumps(result.history))
    """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
            for _ in range(2)]
    histories = [json.loads(run.stdout.strip().splitlines()[-1]) for run in runs]
    assert histories[0] == histories[1]


@pytest.mark.parametrize("setting, xla", [({}, True), ({"latent": "laplace"}, False),
                                          ({"likelihood": "bernoulli", "binarize": True}, False)])
def test_reused_compiled_model_trains_exactly_as_a_fresh_one(small_images, setting, xla):
    """train() fits every configuration of one graph with one compiled model (vaelib.models.training._COMPILED_MODELS);
    after other runs, an aborted one included, it must give bit for bit what a new model gives, with an
    XLA-compiled step (the report's setting) or a plain graph (the others: vaelib.models.training.XLA_SETTING)."""
    import keras

    from vaelib.models import training as train_module
    from vaelib.models.training import fit_model

    x_train, x_test = small_images
    target = TrainConfig(beta=5.0, learning_rate=3e-3, seed=3, **setting, **SMALL)
    with pytest.raises(TrainingDivergedError):
        train(TrainConfig(hidden_units=(32,), epochs=2, batch_size=64, learning_rate=1e8, **setting), x_train,
              x_test, use_cache=False)
    train(TrainConfig(beta=0.5, seed=1, **setting, **SMALL), x_train, x_test, use_cache=False)
    compiled = train_module._COMPILED_MODELS[target.graph_key()]
    assert target.jit_compile is xla and compiled.jit_compile is xla
    reused = train(target, x_train, x_test, use_cache=False)
    assert train_module._COMPILED_MODELS[target.graph_key()] is compiled  # the run did reuse it

    keras.utils.set_random_seed(target.seed)
    fresh = target.build_model()
    assert fresh is not compiled
    history = fit_model(fresh, target, x_train, x_test).history
    assert reused.history["train_loss"] == [float(np.float32(v)) for v in history["loss"]]
    assert reused.history["test_kl"] == [float(np.float32(v)) for v in history["val_kl"]]
    for a, b in zip(reused.snapshots[target.epochs], fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert compiled.beta == 5.0 and float(compiled.optimizer.learning_rate) == pytest.approx(3e-3)


@pytest.mark.parametrize("other, match", [
    (dict(latent_dim=3), "variable shapes"),
    (dict(latent="laplace"), "latent='laplace'"),
    (dict(model="ae"), r"cannot load the state of Autoencoder .* into VAE"),
])
def test_loading_the_state_of_another_graph_is_refused(other, match):
    base = dict(hidden_units=(8,), epochs=1)
    with pytest.raises(ValueError, match=match):
        TrainConfig(**base).build_model().load_initial_state(TrainConfig(**base, **other).build_model())


def test_diverging_run_stops_with_an_error_naming_the_epoch(small_images):
    config = TrainConfig(hidden_units=(32,), epochs=5, batch_size=64, learning_rate=1e8)
    with pytest.raises(TrainingDivergedError, match=r"training diverged at epoch \d"):
        train(config, *small_images, use_cache=False)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"epochs": 0}, ValueError, "epochs must be >= 1, got 0"),
    ({"epochs": -3}, ValueError, "epochs must be >= 1, got -3"),
    ({"batch_size": 0}, ValueError, "batch_size must be >= 1, got 0"),
    ({"epochs": 2.5}, TypeError, "epochs must be an integer, got 2.5"),
    ({"model": "gan"}, ValueError, "model must be one of 'vae', 'ae'; got 'gan'"),
    ({"snapshot_epochs": (1, 30)}, ValueError, r"snapshot_epochs must lie in 1..epochs=20, got \[1, 30\]"),
    ({"snapshot_epochs": (0,)}, ValueError, "snapshot_epochs entry must be >= 1, got 0"),
    ({"learning_rate": 0.0}, ValueError, "learning_rate must be > 0.0, got 0.0"),
    ({"beta": -0.5}, ValueError, "beta must be >= 0.0, got -0.5"),
    ({"latent_dim": 0}, ValueError, "latent_dim must be >= 1, got 0"),
])
def test_invalid_train_config_is_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**kwargs)


@pytest.mark.parametrize("make_bad, match", [
    (lambda x: x * 255.0, r"x_train must lie in \[0, 1\].*0-255 pixels"),
    (lambda x: (x * 255).astype(np.int64), r"x_train must be uint8 pixels 0-255 or floats in \[0, 1\], got dtype int64"),
    (lambda x: (x * 255).astype(np.uint8)[:, :700], r"x_train must have shape \(n, 28, 28\) or \(n, 784\), got \(512, 700\)"),
    (lambda x: (x * 255).astype(np.uint8)[:0], "x_train is empty"),
    (lambda x: x[:, :700], r"x_train must have shape \(n, 28, 28\) or \(n, 784\), got \(512, 700\)"),
    (lambda x: x[:0], "x_train is empty"),
    (lambda x: np.where(x > 0.5, np.nan, x), "x_train contains NaN"),
])
def test_bad_images_are_refused_before_training(small_images, cache_dir, make_bad, match):
    x_train, x_test = small_images
    with pytest.raises((TypeError, ValueError), match=match):
        train(TrainConfig(**SMALL), make_bad(x_train), x_test)


def test_bad_batch_larger_than_data(small_images, cache_dir):
    with pytest.raises(ValueError, match="batch_size=1024 exceeds the 512 training images"):
        train(TrainConfig(hidden_units=(8,), epochs=1, batch_size=1024), *small_images)


def test_invalid_snapshot_request(small_images, cache_dir):
    result = train(TrainConfig(**SMALL), *small_images)
    with pytest.raises(ValueError, match=r"epoch must be one of the snapshot epochs \[1, 2, 3\], got 7"):
        result.model(7)


def test_unwritable_cache_dir_is_named(small_images, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(NotADirectoryError, match="a_file"):
        train(TrainConfig(**SMALL), *small_images, cache_dir=blocker)
    if os.geteuid() != 0:  # root can write anywhere, so only the file case is testable as root
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(PermissionError, match="locked"):
            train(TrainConfig(**SMALL), *small_images, cache_dir=locked / "sub")
