"""Live training progress (vaelib.models.progress): shown in a live kernel, never in stored outputs,
and without any effect on what is trained."""

import json
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

import vaelib  # noqa: F401
from vaelib.models import progress
from vaelib.models.training import TrainConfig, train

BOOK = Path(__file__).resolve().parents[1] / "book"
TINY = dict(epochs=3, batch_size=64, hidden_units=(16,), seed=3)
TRAIN_CELL = f"""
import numpy as np
from vaelib.models.training import TrainConfig, train
x = np.random.default_rng(0).integers(0, 256, size=(256, 784), dtype=np.uint8)
result = train(TrainConfig(**{TINY!r}), x, x[:64], use_cache=False)
"""


class _Handle:
    def __init__(self, shown):
        self.shown = shown

    def update(self, data, raw=False):
        self.shown.append(data["text/plain"])


def _run_in_kernel(environment: dict) -> list[dict]:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TRAIN_CELL)])
    before = {k: os.environ.get(k) for k in environment}
    os.environ.update(environment)
    try:
        NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    finally:
        for k, v in before.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return notebook.cells[0].outputs


def test_a_live_kernel_sees_the_progress_and_a_storing_run_does_not():
    live = _run_in_kernel({progress.ENV_VAR: "1"})
    texts = [o["data"]["text/plain"] for o in live if o.get("output_type") == "display_data"]
    assert len(texts) == 1 and texts[0].startswith("Trained VAE β = 1 (seed 3) in "), texts  # updated in place
    assert _run_in_kernel({progress.ENV_VAR: "0"}) == []


def test_stored_chapters_hold_no_progress_line():
    for path in sorted(BOOK.glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
                assert not text.startswith(("Training ", "Trained ")), (path.name, text[:80])


def test_epoch_lines_count_epochs_and_time_left(monkeypatch):
    shown = []
    monkeypatch.setattr(progress, "_display", lambda text: shown.append(text) or _Handle(shown))
    config = TrainConfig(**TINY)
    callback = progress.TrainingProgress(config, 256)
    callback.on_train_begin()
    callback.on_epoch_end(0, {"loss": 12.5})
    callback.on_epoch_end(1, {"loss": float("nan")})
    callback.on_train_end()
    assert shown[0].startswith("Training VAE β = 1 (seed 3): 3 epochs on 256 images, about ")
    assert "epoch 1 of 3, loss 12.50," in shown[1] and shown[1].endswith("left")
    assert "epoch 2 of 3," in shown[2] and "loss" not in shown[2]
    assert shown[3].startswith("Trained VAE β = 1 (seed 3) in ")


def test_progress_changes_nothing_that_is_trained(monkeypatch):
    x = np.random.default_rng(1).integers(0, 256, size=(256, 784), dtype=np.uint8)
    quiet = train(TrainConfig(**TINY), x, x[:64], use_cache=False)
    shown = []
    monkeypatch.setattr(progress, "enabled", lambda: True)
    monkeypatch.setattr(progress, "_display", lambda text: shown.append(text) or _Handle(shown))
    loud = train(TrainConfig(**TINY), x, x[:64], use_cache=False)
    assert len(shown) == 2 + TINY["epochs"]
    assert loud.history == quiet.history
    assert all(np.array_equal(a, b) for a, b in zip(loud.snapshots[3], quiet.snapshots[3]))


def test_expected_seconds_and_the_announcement(monkeypatch):
    xla, graph = TrainConfig(epochs=20), TrainConfig(epochs=20, latent="laplace")
    assert progress.expected_seconds(xla, 60_000) == pytest.approx(progress.COMPILE_SECONDS + 20 * progress.EPOCH_SECONDS["xla"])
    assert progress.expected_seconds(graph, 30_000) == pytest.approx(progress.COMPILE_SECONDS + 10 * progress.EPOCH_SECONDS["graph"])
    shown = []
    monkeypatch.setattr(progress, "_display", lambda text: shown.append(text) or _Handle(shown))
    monkeypatch.setattr(progress, "enabled", lambda: False)
    progress.announce([xla], 60_000)
    assert shown == []
    monkeypatch.setattr(progress, "enabled", lambda: True)
    progress.announce([], 60_000)
    progress.announce([xla, graph], 60_000)
    assert shown == ["Training 2 models not yet in the cache (VAE β = 1 (seed 0), VAE β = 1 (laplace latent, seed 0)): "
                     "about 1.8 min on a 2-core CPU."]
