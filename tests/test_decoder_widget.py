"""The decoding widgets' JavaScript against Keras: the file the widgets ship, run in Node.

``vaelib/widgets/static/decoder_widget.js`` is what the book's pages and JupyterLab run; here Node imports the
same bytes (copied to a ``.mjs`` name, which Node needs to read an ES module) and decodes 100 random
codes per model, drawn over the plane the model's navigator shows, from the weights as the widget state
packs them (rounded to float16). Its pixels must equal Keras's with the same rounded weights within 1e-5
and Keras's float32 model within ``vaelib.widgets.FLOAT16_TOLERANCE``. The models are the book's own (AE
and VAE with beta = 0, 1, 5) when the model cache holds them, else freshly initialised decoders of the
same architecture (the test then says so).
"""

import json
import os
import shutil
import subprocess
import warnings

import keras
import numpy as np
import pytest

from vaelib._runtime import cache
from vaelib.widgets import decoders as W
from vaelib.models.training import cache_key

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
    """The book's models from the cache (never trained here), each with the half-width of its navigator's
    plane (as LatentNavigator sets it from the test digits' codes), or None when any model is missing."""
    from vaelib import data
    from vaelib.models.report_settings import report_config, trained
    from vaelib.data import unit_mnist

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
        model = trained(config, data=mnist).model()
        codes = model.encode(mnist.x_test)  # a VAE's (mu, log_var) or an autoencoder's codes
        models[name] = model, W._range(np.asarray(codes[0] if isinstance(codes, tuple) else codes))  # noqa: SLF001
    return models


@pytest.fixture(scope="module")
def models():
    found = book_models() if os.environ.get("VAELIB_CACHE") else None
    if found is not None:
        return found
    from vaelib.models.report_settings import report_config

    fresh = {}
    for i, (name, options) in enumerate(BOOK_MODELS.items()):
        keras.utils.set_random_seed(i)
        model = report_config(**options).build_model()
        model(np.zeros((1, 784), np.float32))
        fresh[f"{name} (untrained)"] = model, 4.0
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
    for name, (model, limit) in models.items():
        z = rng.uniform(-limit, limit, size=(100, 2))  # 100 random codes per model, over its navigator's plane
        holder = W.decoder_weights(model)
        js = run_js(tmp_path, holder, z)
        rounded = np.asarray(keras.ops.sigmoid(W.rounded_decoder(model)(z.astype(np.float32))), dtype=np.float64)
        keras_pixels = np.asarray(model.decode(z.astype(np.float32)), dtype=np.float64)
        assert js.shape == rounded.shape == keras_pixels.shape == (100, 784)
        worst[name] = same, full = float(np.max(np.abs(js - rounded))), float(np.max(np.abs(js - keras_pixels)))
        assert same <= 1e-5, (name, "against Keras with the same float16-rounded weights", same)
        assert full <= W.FLOAT16_TOLERANCE, (name, "against Keras's float32 model", full)
        # the kernel-side mirror (LatentNavigator.decoded, ReconstructionSampler.decoded) computes the same
        np.testing.assert_allclose(holder.decode(z), js, rtol=0, atol=1e-12)
    with capsys.disabled():
        print("\nmax |browser - keras| per model (same float16 weights, float32 model):",
              {k: f"{a:.2e}, {b:.2e}" for k, (a, b) in worst.items()})


def test_half_precision_decoding(tmp_path):
    # every one of the 65,536 float16 bit patterns: the page's halfToFloat against NumPy
    module = tmp_path / "decoder_widget.mjs"
    shutil.copyfile(W.DECODER_JS, module)
    (tmp_path / "halves.mjs").write_text(
        "const w = await import(process.argv[2]);\n"
        "const out = []; for (let h = 0; h < 65536; h++) out.push(w.halfToFloat(h));\n"
        "process.stdout.write(JSON.stringify(out.map((v) => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : "
        "v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0' : v))));\n")
    out = subprocess.run([NODE, str(tmp_path / "halves.mjs"), module.as_uri()], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    got = np.array([float(v) for v in json.loads(out.stdout)])
    want = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float64)
    numbers = ~np.isnan(want)
    assert np.array_equal(got, want, equal_nan=True) and np.array_equal(np.signbit(got[numbers]), np.signbit(want[numbers]))


def test_packed_weights_round_trip(models):
    model, _ = next(iter(models.values()))
    arrays = model.decoder.get_weights()
    holder = W.decoder_weights(model)
    flat = W.unpack_floats(holder.weights)
    full = np.concatenate([a.reshape(-1) for a in arrays])
    assert flat.dtype == np.float32 and np.array_equal(flat, full.astype(np.float16).astype(np.float32))
    assert np.array_equal(flat, np.concatenate([a.reshape(-1) for a in holder.arrays]))
    # float16 rounding: relative error at most 2^-11 (normal values), absolute 2^-25 (subnormal ones)
    assert np.all(np.abs(flat - full) <= np.maximum(2.0 ** -11 * np.abs(full), 2.0 ** -25))
    assert holder.shapes == [list(a.shape) for a in arrays]
    assert len(holder.weights) < 0.5 * full.nbytes  # float16 and the shuffle + zlib: under half the float32 bytes
    assert W.decoder_weights(model) is holder  # one holder per set of weights: a page stores them once
