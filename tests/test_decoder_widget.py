"""The decoding widgets' JavaScript against Keras: the file the widgets ship, run in Node.

``vaelib/static/decoder_widget.js`` is what the book's pages and JupyterLab run; here Node imports the
same bytes (copied to a ``.mjs`` name, which Node needs to read an ES module) and decodes 100 random
codes per model from the weights as the widget state packs them. The models are the book's own (AE and
VAE with beta = 0, 1, 5) when the model cache holds them, else freshly initialised decoders of the same
architecture (the test then says so).
"""

import json
import os
import shutil
import subprocess
import warnings

import keras
import numpy as np
import pytest

from vaelib import cache
from vaelib import widgets as W
from vaelib.train import cache_key

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs)")

RUNNER = """
import { readFileSync } from "node:fs";
const widget = await import(process.argv[2]);
const packed = new Uint8Array(readFileSync(process.argv[3]));
const { shapes, z } = JSON.parse(readFileSync(process.argv[4], "utf8"));
const layers = await widget.unpackDecoder(packed, shapes);
process.stdout.write(JSON.stringify(z.map((point) => Array.from(widget.decode(layers, point)))));
"""

BOOK_MODELS = {"AE": {"model": "ae"}, "VAE β = 0": {"beta": 0.0}, "VAE β = 1": {"beta": 1.0},
               "VAE β = 5": {"beta": 5.0}}


def book_models() -> dict:
    """The book's models from the cache (never trained here), or None when any is missing."""
    from vaelib import data
    from vaelib.experiments import report_config, trained, unit_mnist

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.MnistFallbackWarning)
        mnist = unit_mnist()
    if not mnist.is_full:
        return None
    models = {}
    for name, options in BOOK_MODELS.items():
        config = report_config(**options)
        if not cache.entry_path(cache.default_cache_dir(), cache_key(config, mnist.pixels_train, mnist.pixels_test)).exists():
            return None
        models[name] = trained(config, data=mnist).model()
    return models


@pytest.fixture(scope="module")
def models():
    found = book_models() if os.environ.get("VAELIB_CACHE") else None
    if found is not None:
        return found
    from vaelib.experiments import report_config

    fresh = {}
    for i, (name, options) in enumerate(BOOK_MODELS.items()):
        keras.utils.set_random_seed(i)
        fresh[f"{name} (untrained)"] = report_config(**options).build_model()
        fresh[f"{name} (untrained)"](np.zeros((1, 784), np.float32))
    return fresh


def run_js(tmp_path, holder: W.DecoderWeights, z: np.ndarray) -> np.ndarray:
    module = tmp_path / "decoder_widget.mjs"
    shutil.copyfile(W.DECODER_JS, module)
    assert module.read_bytes() == W.DECODER_JS.read_bytes() == W._BrowserDecoding._esm.encode()  # noqa: SLF001
    (tmp_path / "weights.bin").write_bytes(holder.weights)
    (tmp_path / "input.json").write_text(json.dumps({"shapes": holder.shapes, "z": z.tolist()}))
    (tmp_path / "run.mjs").write_text(RUNNER)
    out = subprocess.run([NODE, str(tmp_path / "run.mjs"), module.as_uri(), str(tmp_path / "weights.bin"),
                          str(tmp_path / "input.json")], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return np.array(json.loads(out.stdout))


def test_browser_decoder_equals_keras(models, tmp_path, capsys):
    rng = np.random.default_rng(0)
    worst = {}
    for name, model in models.items():
        z = rng.uniform(-4, 4, size=(100, 2))  # 100 random codes per model, beyond the prior's bulk
        js = run_js(tmp_path, W.decoder_weights(model), z)
        keras_pixels = np.asarray(model.decode(z.astype(np.float32)), dtype=np.float64)
        assert js.shape == keras_pixels.shape == (100, 784)
        worst[name] = float(np.max(np.abs(js - keras_pixels)))
        assert worst[name] <= 1e-5, (name, worst[name])
        # the kernel-side mirror (LatentNavigator.decoded, ReconstructionSampler.decoded) computes the same
        np.testing.assert_allclose(W.decoder_weights(model).decode(z), js, rtol=0, atol=1e-12)
    with capsys.disabled():
        print("\nmax |browser - keras| per model:", {k: f"{v:.2e}" for k, v in worst.items()})


def test_packed_weights_round_trip(models):
    model = next(iter(models.values()))
    arrays = model.decoder.get_weights()
    holder = W.decoder_weights(model)
    flat = W.unpack_floats(holder.weights)
    assert flat.dtype == np.float32 and np.array_equal(flat, np.concatenate([a.reshape(-1) for a in arrays]))
    assert holder.shapes == [list(a.shape) for a in arrays]
    assert len(holder.weights) < 0.95 * flat.nbytes  # the shuffle + zlib pays for itself
    assert W.decoder_weights(model) is holder  # one holder per set of weights: a page stores them once
