"""Reliability and safety (issue 8): bad inputs, faults, determinism and no pickle, proven by tests.

Every robustness test here is named so that ``pytest -k 'bad or invalid or fault or corrupt or kill'``
selects it. The bad-input catalogue holds one case per kind of mistake the issue lists; each case
must raise a ``TypeError``/``ValueError`` (or an ``OSError`` for the file system) whose message
names the offending value and what is accepted. Other test files hold more cases of the same
kinds (``tests/test_train.py``, ``tests/test_data.py``, ``tests/test_models.py``...).
"""

from __future__ import annotations

import ast
import difflib
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest

from vaelib._runtime import cache

from vaelib import data

from vaelib.measures import metrics
from vaelib.data import load_mnist
from vaelib._runtime.validation import check_images
from vaelib.models.training import TrainConfig, train

ROOT = Path(__file__).resolve().parent.parent
SMALL = dict(hidden_units=(16,), epochs=2, batch_size=32)


def _images(n=64, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, 784)).astype(np.float32)


def _labels(n, seed=0):
    return np.random.default_rng(seed).integers(0, 10, size=n)


def _vae(**kwargs):
    from vaelib.models.networks import VAE
    return VAE(hidden_units=(8,), **kwargs)


def _report_config(**kwargs):
    from vaelib.models.report_settings import report_config
    return report_config(**kwargs)


def _train_classifier(x_train, y_train, **kwargs):
    from vaelib.measures.judge import train_classifier
    return train_classifier(x_train, y_train, _images(16, 1), _labels(16, 1), use_cache=False, **kwargs)


def _npz(tmp_path, **arrays):
    path = tmp_path / "partial.npz"
    np.savez(path, **arrays)
    return str(path)


def _train_images(make_bad):
    x = _images(64)
    return train(TrainConfig(**SMALL), make_bad(x), _images(16, 1), use_cache=False)


# One case per kind of mistake. Each entry: (id, call(tmp_path, monkeypatch), exception, match).
# The match requires the argument's name, the offending value and the accepted range.
BAD_INPUTS = [
    # beta: negative, NaN, infinite, wrong type (eq. 12 needs a finite beta >= 0)
    ("beta-negative", lambda t, m: TrainConfig(beta=-1.0), ValueError, r"beta must be >= 0\.0, got -1\.0"),
    ("beta-nan", lambda t, m: TrainConfig(beta=float("nan")), ValueError, r"beta must be finite, got nan"),
    ("beta-inf-vae", lambda t, m: _vae(beta=float("inf")), ValueError, r"beta must be finite, got inf"),
    ("beta-minus-inf-report-config", lambda t, m: _report_config(beta=-np.inf), ValueError,
     r"beta must be finite, got -inf"),
    ("beta-string", lambda t, m: TrainConfig(beta="1.0"), TypeError,
     r"beta must be a real number, got '1\.0' of type str"),
    # epochs and batch size: zero or negative
    ("epochs-zero", lambda t, m: TrainConfig(epochs=0), ValueError, r"epochs must be >= 1, got 0"),
    ("epochs-negative-report-config", lambda t, m: _report_config(epochs=-5), ValueError,
     r"epochs must be >= 1, got -5"),
    ("batch-size-zero", lambda t, m: TrainConfig(batch_size=0), ValueError, r"batch_size must be >= 1, got 0"),
    ("batch-size-negative-classifier", lambda t, m: _train_classifier(_images(32), _labels(32), batch_size=-8),
     ValueError, r"batch_size must be >= 1, got -8"),
    ("batch-size-above-data", lambda t, m: train(TrainConfig(**dict(SMALL, batch_size=128)), _images(64),
                                                 _images(16), use_cache=False),
     ValueError, r"batch_size=128 exceeds the 64 training images"),
    # latent dimension < 1
    ("latent-dim-zero-vae", lambda t, m: _vae(latent_dim=0), ValueError, r"latent_dim must be >= 1, got 0"),
    ("seed-negative-vae", lambda t, m: _vae(seed=-1), ValueError, r"seed must be >= 0, got -1"),
    ("use-cache-string", lambda t, m: train(TrainConfig(**SMALL), _images(64), _images(16, 1), use_cache="no"),
     TypeError, r"use_cache must be True or False, got 'no'"),
    ("latent-dim-negative", lambda t, m: TrainConfig(latent_dim=-2), ValueError, r"latent_dim must be >= 1, got -2"),
    # images: shape, dtype, value range (0-255 floats), NaN, empty
    ("images-wrong-shape", lambda t, m: _train_images(lambda x: x.reshape(64, 28, 28)[:, :27]), ValueError,
     r"x_train must have shape \(n, 28, 28\) or \(n, 784\), got \(64, 27, 28\)"),
    ("images-int16", lambda t, m: _train_images(lambda x: (x * 255).astype(np.int16)), TypeError,
     r"x_train must be uint8 pixels 0-255 or floats in \[0, 1\], got dtype int16"),
    ("images-0-255-floats", lambda t, m: _train_images(lambda x: x * 255.0), ValueError,
     r"x_train must lie in \[0, 1\], got [\d,]+ above 1 \(largest 25\d[0-9.]*\); looks like 0-255 pixels"),
    ("images-just-above-1", lambda t, m: _train_images(lambda x: np.where(x > 0.99, np.float32(1.0000001), x)),
     ValueError, r"x_train must lie in \[0, 1\], got [\d,]+ above 1 \(largest 1\.0000001\d*\); clip the values"),
    ("images-negative", lambda t, m: check_images(_images(4) - 0.5, name="x"), ValueError,
     r"x must lie in \[0, 1\], got [\d,]+ below 0 \(smallest -0\.\d+\); clip"),
    ("images-nan", lambda t, m: _train_images(lambda x: np.where(x > 0.9, np.nan, x)), ValueError,
     r"x_train contains NaN"),
    ("images-strings", lambda t, m: check_images(np.array([["a"] * 784]), name="x"), TypeError,
     r"x must be a numeric array, got dtype <U1"),
    ("images-empty", lambda t, m: train(TrainConfig(**SMALL), _images(64), np.zeros((0, 784), np.float32),
                                        use_cache=False), ValueError, r"x_test is empty"),
    ("to-unit-interval-floats", lambda t, m: data.to_unit_interval(_images(2)), TypeError,
     r"uint8.*float32"),
    # empty or mismatched arrays
    ("labels-mismatched", lambda t, m: _train_classifier(_images(32), _labels(30)), ValueError,
     r"y_train must have shape \(32,\) to match the images, got \(30,\)"),
    ("labels-out-of-range", lambda t, m: _train_classifier(_images(32), _labels(32) + 10), ValueError,
     r"y_train must lie in 0-9, got values in \[1\d, 1\d\]"),
    ("codes-dimension-mismatch", lambda t, m: metrics.knn_accuracy(_images(20)[:, :2], _labels(20),
                                                                   _images(5)[:, :3], _labels(5), k=3),
     ValueError, r"train_codes and test_codes must have the same dimension, got 2 and 3"),
    ("reconstructions-mismatched", lambda t, m: metrics.squared_error(_images(4), _images(3)), ValueError,
     r"x_hat must have the shape of x, \(4, 784\), or be one image \(1, 784\), got \(3, 784\)"),
    ("codes-empty", lambda t, m: metrics.covariance_isotropy(np.zeros((0, 2))), ValueError,
     r"z must have at least 2 rows and one column, got shape \(0, 2\)"),
    # unknown likelihood, model kind, latent family
    ("likelihood-unknown", lambda t, m: TrainConfig(likelihood="poisson"), ValueError,
     r"likelihood must be one of 'squared_error', 'bernoulli'; got 'poisson'"),
    ("model-kind-unknown", lambda t, m: TrainConfig(model="gan"), ValueError,
     r"model must be one of 'vae', 'ae'; got 'gan'"),
    ("latent-family-unknown-vae", lambda t, m: _vae(latent="cauchy"), ValueError,
     r"latent must be one of 'gaussian', 'laplace', 'uniform'; got 'cauchy'"),
    ("latent-family-unknown-config", lambda t, m: TrainConfig(latent="student"), ValueError,
     r"latent must be one of 'gaussian', 'laplace', 'uniform'; got 'student'"),
    ("latent-family-for-autoencoder", lambda t, m: TrainConfig(model="ae", latent="laplace"), ValueError,
     r"latent and binarize apply to model='vae' only, got latent='laplace'"),
    # snapshot epochs outside the run
    ("snapshot-after-last-epoch", lambda t, m: TrainConfig(epochs=5, snapshot_epochs=(2, 6)), ValueError,
     r"snapshot_epochs must lie in 1\.\.epochs=5, got \[2, 6\]"),
    ("snapshot-epoch-zero", lambda t, m: TrainConfig(epochs=5, snapshot_epochs=(0, 2)), ValueError,
     r"snapshot_epochs entry must be >= 1, got 0"),
    # optimiser and seed
    ("learning-rate-negative", lambda t, m: TrainConfig(learning_rate=-1e-3), ValueError,
     r"learning_rate must be > 0\.0, got -0\.001"),
    ("seed-negative", lambda t, m: TrainConfig(seed=-1), ValueError, r"seed must be >= 0, got -1"),
    # data files: an .npz with missing keys, VAELIB_MNIST at a folder or at a missing file
    ("npz-missing-keys", lambda t, m: data.load_mnist_dataset(_npz(t, x_train=np.zeros((2, 28, 28), np.uint8))),
     data.MnistFileError, r"partial\.npz: missing array\(s\) y_train, x_test, y_test; found \[.x_train.\] \(expected x_train, y_train, x_test, y_test\)"),
    ("env-mnist-folder", lambda t, m: (m.setenv("VAELIB_MNIST", str(t)), data.load_mnist_dataset()),
     data.MnistFileError, r"is a folder.*VAELIB_MNIST"),
    ("env-mnist-missing-file", lambda t, m: (m.setenv("VAELIB_MNIST", str(t / "nowhere.npz")),
                                             data.load_mnist_dataset()),
     data.MnistFileError, r"nowhere\.npz.*no such file.*VAELIB_MNIST"),
    ("cache-dir-int", lambda t, m: cache.writable_cache_dir(5), TypeError,
     r"cache_dir must be a path \(str or os.PathLike\) or None, got 5 of type int"),
]


@pytest.mark.parametrize("call, error, match", [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_refused_with_a_message_naming_value_and_range(call, error, match, tmp_path, monkeypatch):
    data.clear_cache()
    try:
        with pytest.raises(error, match=match):
            call(tmp_path, monkeypatch)
    finally:
        data.clear_cache()


def test_bad_input_catalogue_is_large_and_distinct():
    ids = [case[0] for case in BAD_INPUTS]
    assert len(ids) == len(set(ids)) >= 25


# ------------------------------------------------------------------ an unwritable cache directory
# Tests run as root here, and root ignores permission bits, so a chmod-ed folder is writable for
# root. A path *below a regular file* cannot be created by anyone (mkdir fails with ENOTDIR, for
# root too), which makes it a portable unwritable location.

def test_bad_cache_dir_is_a_regular_file(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a regular file")
    with pytest.raises(NotADirectoryError, match=r"cache directory '.*not_a_folder' exists and is not a directory; "
                                                 r"set VAELIB_CACHE to a writable folder"):
        train(TrainConfig(**SMALL), _images(64), _images(16, 1), cache_dir=blocker)


def test_bad_unwritable_cache_dir_below_a_regular_file(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a regular file")
    unwritable = blocker / "vaelib"
    monkeypatch.setenv("VAELIB_CACHE", str(unwritable))  # the default location, as users set it
    with pytest.raises(PermissionError, match=re.escape(f"cache directory {str(unwritable)!r} is not writable")
                       + r" \(Not a directory\); set VAELIB_CACHE to a writable folder"):
        train(TrainConfig(**SMALL), _images(64), _images(16, 1))
    assert blocker.read_text() == "a regular file"  # nothing was written anywhere


# ------------------------------------------------------------------ faults: a killed training process

KILLED_TRAINING = textwrap.dedent("""
    import sys, time
    import numpy as np
    from vaelib.models.training import TrainConfig, train
    real_savez = np.savez
    def slow_savez(handle, **arrays):  # write one weights file, then hang inside the cache write
        real_savez(handle, **arrays)
        print("writing", flush=True)
        time.sleep(120)
    np.savez = slow_savez
    x = np.random.default_rng(7).uniform(size=(256, 784)).astype(np.float32)
    train(TrainConfig(hidden_units=(16,), epochs=2, batch_size=32, snapshot_epochs=(1,)), x[:192], x[192:],
          cache_dir=sys.argv[1])
""")


def test_kill_during_cache_write_then_next_run_retrains(tmp_path):
    """SIGKILL a real training process while it writes its cache entry; the next run retrains."""
    cache_dir = tmp_path / "cache"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen([sys.executable, "-c", KILLED_TRAINING, str(cache_dir)], stdout=subprocess.PIPE,
                               text=True, env=env)
    try:
        assert process.stdout.readline().strip() == "writing"  # trained; now half-way through the entry
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    leftovers = sorted(p.name for p in cache_dir.iterdir() if not p.name.startswith(cache.LOCK_PREFIX))
    assert leftovers and all(name.startswith(cache.TEMP_PREFIX) for name in leftovers), leftovers

    x = np.random.default_rng(7).uniform(size=(256, 784)).astype(np.float32)
    config = TrainConfig(hidden_units=(16,), epochs=2, batch_size=32, snapshot_epochs=(1,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the partial entry is invisible: no "corrupt entry" warning either
        again = train(config, x[:192], x[192:], cache_dir=cache_dir)
    assert not again.from_cache  # retrained, never loaded the partial entry
    third = train(config, x[:192], x[192:], cache_dir=cache_dir)
    assert third.from_cache and third.history == again.history

    # The killed writer's temporary folder is swept once it is stale (an hour old).
    old = time.time() - 2 * cache.STALE_TEMP_SECONDS
    for name in leftovers:
        os.utime(cache_dir / name, (old, old))
    cache.write_entry(cache_dir, "another-entry", {"weights_e001": {"w0": np.zeros(3)}}, {})  # any write sweeps
    assert not any((cache_dir / name).exists() for name in leftovers)


def test_corrupt_flipped_byte_in_any_cached_file_is_detected(tmp_path):
    """One flipped byte anywhere in any file of an entry fails verification (sha256), never loads."""
    x = _images(96, 3)
    config = TrainConfig(**dict(SMALL, snapshot_epochs=(1,)))
    train(config, x[:64], x[64:], cache_dir=tmp_path)
    (entry,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    files = sorted(entry.iterdir())
    assert {p.name for p in files} == {"manifest.json", "weights_e001.npz", "weights_e002.npz"}
    rng = np.random.default_rng(0)
    for path in files:
        original = path.read_bytes()
        for position in (0, int(rng.integers(len(original))), len(original) - 1):
            flipped = bytearray(original)
            flipped[position] ^= 0xFF
            path.write_bytes(bytes(flipped))
            with pytest.raises(cache.CacheCorruptError, match=re.escape(str(entry))):
                cache.read_entry(tmp_path, entry.name)
        path.write_bytes(original)
    assert cache.read_entry(tmp_path, entry.name) is not None  # restored: verifies again


def test_fault_diverging_run_stops_naming_the_epoch_and_caches_nothing(tmp_path):
    """An absurd learning rate: training stops with an error naming the epoch; no NaN model is cached."""
    from vaelib.models.training import TrainingDivergedError
    x = _images(96, 4)
    config = TrainConfig(hidden_units=(32,), epochs=5, batch_size=32, learning_rate=1e8)
    with pytest.raises(TrainingDivergedError, match=r"training diverged at epoch [1-5]: .*=(nan|inf).*; "
                                                    r"lower the learning rate or check the data"):
        train(config, x[:64], x[64:], cache_dir=tmp_path)
    assert [p for p in tmp_path.iterdir() if not p.name.startswith(".")] == []  # nothing was cached


# ------------------------------------------------------------------ notebooks: parameters and determinism

def _papermill(notebook, parameters, cwd, out):
    import papermill
    return papermill.execute_notebook(str(notebook), str(out), parameters=parameters, cwd=str(cwd),
                                      progress_bar=False, log_output=False)


@pytest.mark.parametrize("value, message", [
    ("four", r"n_cases must be an integer, got 'four' of type str"),
    (2.5, r"n_cases must be an integer, got 2\.5 of type float"),
    (0, r"n_cases must be >= 1, got 0"),
])
def test_bad_papermill_parameter_is_named(tmp_path, value, message):
    """A wrong papermill parameter stops the chapter in its validation cell, naming the parameter."""
    import papermill
    with pytest.raises(papermill.PapermillExecutionError, match=message) as info:
        _papermill(ROOT / "book" / "03_gaussian_kl.ipynb", {"n_cases": value}, tmp_path, tmp_path / "out.ipynb")
    assert info.value.ename in ("TypeError", "ValueError")
    # It stopped before any computation: the first cells after the validation cell never ran.
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    counts = [c.get("execution_count") for c in executed.cells if c.cell_type == "code"]
    assert sum(count is not None for count in counts) <= 3  # parameters, injected parameters, validation


def _parameter_cells(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    tagged = [i for i, cell in enumerate(code) if "parameters" in cell.metadata.get("tags", [])]
    return code, tagged


@pytest.mark.parametrize("chapter", sorted(p.name for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb")))
def test_invalid_chapter_parameters_cannot_pass_unchecked(chapter):
    """Every chapter's first code cell is its only `parameters` cell, and the next cell checks each parameter.

    Together with test_bad_papermill_parameter_is_named (which runs one chapter for real) this
    means a papermill parameter of the wrong type or range stops the chapter before it computes.
    """
    code, tagged = _parameter_cells(ROOT / "book" / chapter)
    assert tagged == [0], f"{chapter}: the first code cell, and only it, must be tagged parameters; got {tagged}"
    names = [target.id for node in ast.parse(code[0].source).body if isinstance(node, ast.Assign)
             for target in node.targets if isinstance(target, ast.Name)]
    assert names, f"{chapter}: the parameters cell assigns nothing"
    validation = code[1].source
    assert "vaelib._runtime.validation" in validation or "check_" in validation
    unchecked = [name for name in names if not re.search(rf"\b{name}\b", validation)]
    assert unchecked == [], f"{chapter}: parameters not checked in the validation cell: {unchecked}"


def _text_outputs(notebook_path):
    """The text a reader sees in each code cell, except cells marked NBVAL_IGNORE_OUTPUT.

    Consecutive stream outputs of one cell are joined, as a reader sees them (and as nbval
    compares them): how the kernel splits a cell's printing into messages depends on timing.
    """
    notebook = nbformat.read(notebook_path, as_version=4)
    texts = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or cell.source.lstrip().startswith("# NBVAL_IGNORE_OUTPUT"):
            continue
        previous = None
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and previous is not None and previous.get("name") == output.name:
                texts[-1] = (output.name, texts[-1][1] + output.text)
            elif output.output_type == "stream":
                texts.append((output.name, output.text))
            elif output.output_type in ("execute_result", "display_data"):
                texts.append((output.output_type, output.get("data", {}).get("text/plain", "")))
            elif output.output_type == "error":
                texts.append(("error", output.ename))
            previous = output if output.output_type == "stream" else None
    return texts


def test_text_outputs_join_a_cells_stream_messages(tmp_path):
    """A cell's printing split over two stdout messages reads as one text (the split depends on timing)."""
    cell = nbformat.v4.new_code_cell("print('a'); print('b')")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="b\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="w\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="c\n")]
    path = tmp_path / "split.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    assert _text_outputs(path) == [("stdout", "a\nb\n"), ("stderr", "w\n"), ("stdout", "c\n")]


def test_same_seed_gives_identical_notebook_outputs_in_fresh_kernels(tmp_path):
    """Chapter 05 at smoke scale, twice, each in a fresh kernel and a different working directory."""
    smoke = {"n_beta_grid": 31, "n_random_q": 20, "n_mc_samples": 5000}
    outputs = []
    for run in ("first", "second"):
        cwd = tmp_path / run
        cwd.mkdir()
        _papermill(ROOT / "book" / "05_beta_objective.ipynb", smoke, cwd, tmp_path / f"{run}.ipynb")
        outputs.append(_text_outputs(tmp_path / f"{run}.ipynb"))
    assert outputs[0] and not any(kind == "error" for kind, _ in outputs[0])
    assert len(outputs[0]) == len(outputs[1])
    for first, second in zip(*outputs):
        assert first == second, "\n".join(difflib.unified_diff(first[1].splitlines(), second[1].splitlines(),
                                                               "first run", "second run", lineterm=""))


# ------------------------------------------------------------------ safety: no pickle, no code from data

UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def _python_sources():
    """(label, source) for every Python file and every notebook code cell of vaelib, book, scripts, CI."""
    for folder in ("vaelib", "scripts", ".ci", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield str(path.relative_to(ROOT)), path.read_text()
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                # IPython magics and shell escapes are not Python; blank them out before parsing.
                source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                                   for line in cell.source.splitlines())
                yield f"{path.relative_to(ROOT)} cell {index}", source


def _unsafe_calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in UNSAFE_MODULES:
                    yield node.lineno, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            yield node.lineno, f"from {node.module} import ..."
        elif isinstance(node, ast.keyword) and node.arg == "allow_pickle" and not (
                isinstance(node.value, ast.Constant) and node.value.value is False):
            yield node.value.lineno, "allow_pickle other than False"
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            keywords = {k.arg: k.value for k in node.keywords}
            if isinstance(func, ast.Name) and name in ("eval", "exec", "compile", "__import__"):
                yield node.lineno, f"{name}(...)"
            elif name == "load" and owner in ("np", "numpy"):
                value = keywords.get("allow_pickle")
                if not (isinstance(value, ast.Constant) and value.value is False):
                    yield node.lineno, "np.load without allow_pickle=False"
            elif name == "load_model" or name == "enable_unsafe_deserialization":
                value = keywords.get("safe_mode")
                if name == "enable_unsafe_deserialization" or (
                        value is not None and not (isinstance(value, ast.Constant) and value.value is True)):
                    yield node.lineno, f"{name} with safe_mode disabled"
            elif name == "load" and owner == "yaml" and "Loader" not in keywords:
                yield node.lineno, "yaml.load (use yaml.safe_load)"
            elif name in ("read_pickle", "loads") and owner in ("pd", "pandas", "pickle"):
                yield node.lineno, f"{owner}.{name}"


def test_bad_deserialisation_absent_no_pickle_no_eval_anywhere():
    """No source of vaelib, the book, scripts or CI unpickles, disables Keras' safe mode or runs code from data."""
    checked, problems = 0, []
    for label, source in _python_sources():
        tree = ast.parse(source, filename=label)
        checked += 1
        problems += [f"{label}:{line}: {what}" for line, what in _unsafe_calls(tree)]
    assert checked > 20  # the scan really saw the library and the chapters
    assert problems == [], "\n".join(problems)


def test_bad_deserialisation_scan_catches_each_pattern():
    """The scanner above is not vacuous: every pattern it looks for is found in a snippet."""
    snippets = {
        "import pickle": "import pickle",
        "from joblib import load": "from joblib import ...",
        "np.load('f.npz')": "np.load without allow_pickle=False",
        "numpy.load(f, allow_pickle=True)": "allow_pickle other than False",
        "keras.models.load_model('m.keras', safe_mode=False)": "load_model with safe_mode disabled",
        "keras.config.enable_unsafe_deserialization()": "enable_unsafe_deserialization with safe_mode disabled",
        "eval(text)": "eval(...)",
        "exec(code)": "exec(...)",
        "yaml.load(stream)": "yaml.load (use yaml.safe_load)",
    }
    for snippet, expected in snippets.items():
        found = [what for _, what in _unsafe_calls(ast.parse(snippet))]
        assert expected in found, (snippet, found)
    clean = "np.load(p, allow_pickle=False)\nkeras.models.load_model(p)\nyaml.safe_load(s)\njson.loads(s)"
    assert list(_unsafe_calls(ast.parse(clean))) == []


# ------------------------------------------------------------------ silently accepted, late or unclear (issue 28)

@pytest.mark.parametrize("call, error, message", [
    (lambda: TrainConfig(model="ae", beta="abc"), TypeError, r"beta must be a real number, got 'abc'"),
    (lambda: TrainConfig(model="ae", beta=4.0), ValueError, r"beta applies to model='vae' only .* got beta=4\.0"),
    (lambda: TrainConfig(seed=2**32), ValueError, r"seed must be <= 4294967295, got 4294967296"),
    (lambda: TrainConfig(seed=-1), ValueError, r"seed must be >= 0, got -1"),
    (lambda: load_mnist(""), ValueError, r"path must name an \.npz file, got an empty path ''"),
    (lambda: cache.writable_cache_dir("  "), ValueError, r"cache_dir must name a folder, got an empty path"),
])
def test_bad_input_refused_before_any_work(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_autoencoder_takes_no_beta_or_zero():
    assert TrainConfig(model="ae").beta == 0.0 and TrainConfig(model="ae", beta=0.0).beta == 0.0
    assert TrainConfig().beta == 1.0 and TrainConfig(beta=5).beta == 5.0
    config = TrainConfig(model="ae")
    assert TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.as_dict().items()}) == config
