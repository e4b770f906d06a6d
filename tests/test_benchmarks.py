"""The training-FLOP count used by benchmarks/run_all.py, and the pure functions of its parts in
benchmarks/suite/ (no timings here: speed is measured in benchmarks/, not asserted in tests)."""

import importlib.util
import sys
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "benchmarks_flops", Path(__file__).resolve().parent.parent / "benchmarks" / "flops.py")
flops = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = flops  # dataclasses look their module up
_SPEC.loader.exec_module(flops)


def test_hand_worked_two_layer_case():
    # x (3) -> Dense(4) -> Dense(2). Multiply-adds per sample: 3*4 = 12 and 4*2 = 8.
    # forward 2*(12 + 8) = 40; weight gradients 2*(12 + 8) = 40;
    # input gradients only for the second layer (the first one's input is the data): 2*8 = 16.
    layers = [flops.DenseShape("a", 3, 4, input_gradient=False), flops.DenseShape("b", 4, 2)]
    assert flops.dense_training_flops(layers) == 96
    # Tuples are accepted too; with an input gradient everywhere the first layer adds 2*12 = 24.
    assert flops.dense_training_flops([(3, 4, True), (4, 2, True)]) == 120


def test_vaelib_vae_layers_are_found_and_counted():
    from vaelib.models.training import TrainConfig

    model = TrainConfig(hidden_units=(8,), latent_dim=2, epochs=1).build_model()
    shapes = flops.model_dense_shapes(model)
    # encoder 784->8 (its input is the data), 8->2 (mu), 8->2 (log_var); decoder 2->8, 8->784.
    assert [(s.n_in, s.n_out, s.input_gradient) for s in shapes] == [
        (784, 8, False), (8, 2, True), (8, 2, True), (2, 8, True), (8, 784, True)]
    # Multiply-adds: 6272 + 16 + 16 + 16 + 6272 = 12592; forward 2*12592 = 25184, weight gradients
    # 25184, input gradients 2*(12592 - 6272) = 12640; total 63008.
    assert flops.dense_training_flops(shapes) == 63008


def test_default_model_count():
    from vaelib.models.training import TrainConfig

    shapes = flops.model_dense_shapes(TrainConfig(epochs=1).build_model())
    macs = 784 * 256 + 256 * 128 + 2 * 128 * 2 + 2 * 128 + 128 * 256 + 256 * 784
    assert flops.dense_training_flops(shapes) == 6 * macs - 2 * 784 * 256


def test_bad_layer_sizes():
    with pytest.raises(ValueError, match="n_in must be >= 1, got 0"):
        flops.dense_training_flops([(0, 4, True)])
    with pytest.raises(TypeError, match="n_out must be an integer"):
        flops.dense_training_flops([(3, 4.5, True)])
    with pytest.raises(TypeError, match="input_gradient must be True or False"):
        flops.dense_training_flops([(3, 4, "yes")])


def _suite(name):
    """``benchmarks/suite/<name>.py``, a part of benchmarks/run_all.py, imported as run_all.py imports it
    (with ``benchmarks/`` on ``sys.path``, where the suite's sibling modules are)."""
    benchmarks = str(Path(__file__).resolve().parent.parent / "benchmarks")
    if benchmarks not in sys.path:
        sys.path.insert(0, benchmarks)
    return importlib.import_module(f"suite.{name}")


@pytest.mark.parametrize("fit_peak, word", [(1.62, "above"), (1.31, "within")])
def test_memory_floor_section_states_the_measured_side_of_the_target(fit_peak, word):
    report = _suite("report")
    steps = [("python, psutil", 0.02, 0.0), ("numpy, matplotlib imported", 0.07, 0.02),
             ("tensorflow, keras imported", 0.70, 0.40), ("MNIST loaded: uint8 training pixels, float32 test images (unit_mnist)", 0.80, 0.40),
             ("a VAE run over the 10,000 test images", 1.10, 0.41),
             ("one epoch of training on the 60,000 uint8 pixels (fit_model)", fit_peak - 0.05, 0.45),
             ("a second model trained the same way", fit_peak, 0.45)]
    memory = {"date": "2026-11-24 23:59 UTC", "full_mnist": True,
              "steps": [{"step": s, "rss_gb": r, "peak_gb": r if "epoch" not in s else fit_peak,
                         "file_backed_gb": f, "seconds": 1.0} for s, r, f in steps]}
    text = report.render({"memory": memory}, "")
    assert "| tensorflow, keras imported | 0.70 | 0.70 | 0.40 | 1.0 |" in text
    assert f"one epoch of training peaks at {fit_peak:.2f} GB, {word} the 1.5 GB target" in text


def test_cached_work_sums_what_the_cold_pass_trained(tmp_path):
    import numpy as np

    from vaelib._runtime import cache

    book = _suite("book")
    weights = {"weights": {"w0": np.zeros(3)}}
    cache.write_entry(tmp_path, "a" * 32, weights, {"config": {"epochs": 20}, "history": {}, "train_seconds": 40.0})
    cache.write_entry(tmp_path, "b" * 32, weights, {"config": {"epochs": 3}, "test_accuracy": 0.98, "train_seconds": 9.5})
    cache.write_entry(tmp_path, "c" * 32, weights, {"ks": [1, 5], "n_samples": 100, "seconds": 12.0})
    work = book.cached_work(tmp_path)
    assert work == {"models": 2, "train_s": 49.5, "epochs": 23, "other": 1, "other_s": 12.0}


def _book(seconds_by_chapter, peaks, quick=False):
    chapters = {f"{n}_chapter.ipynb": {phase: {"seconds": s[i], "peak_gb": peaks[n][i], "status": "ok"}
                                       for i, phase in enumerate(("cold", "warm"))}
                for n, s in seconds_by_chapter.items()}
    return {"quick": quick, "chapters": chapters}


def test_results_chapters_summary_covers_06_to_12_only():
    book_part, targets = _suite("book"), _suite("targets")
    numbers = [f"{n:02d}" for n in range(1, 14)]
    book = _book({n: (100.0, 10.0) for n in numbers},
                 {n: (1.2, 1.0) if n != "07" else (1.7, 1.1) for n in numbers})
    summary = book_part.summarize_results_chapters(book)
    assert summary == {"cold_s": 700.0, "warm_s": 70.0, "peak_gb": 1.7, "over": ["07_chapter.ipynb"], "ok": True}
    assert targets.verdict("results_cold_s", summary["cold_s"]) is True
    assert targets.verdict("results_peak_gb", summary["peak_gb"]) is False
    del book["chapters"]["09_chapter.ipynb"]
    assert book_part.summarize_results_chapters(book) is None      # not every results chapter ran
    assert book_part.summarize_results_chapters(_book({n: (1.0, 1.0) for n in numbers},
                                                      {n: (1.0, 1.0) for n in numbers}, quick=True)) is None
