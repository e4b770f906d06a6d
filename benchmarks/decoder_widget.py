"""The decoding widgets in the browser: speed, page weight and agreement with Keras.

    python benchmarks/decoder_widget.py [--baseline 7009708]   # needs the built book (_build/html)

Measured in headless Chromium (Debian's /usr/bin/chromium through Playwright) with the network cut
off, on the built site, and written to ``benchmarks/decoder_widget.json`` with the CPU and date:

- decodes per second of ``decode`` in ``vaelib/widgets/static/decoder_widget.js`` (the file the widgets
  ship), for the book's VAE (beta = 1), and pointer moves per second that the navigator of chapter
  06 handles end to end (decode, redraw of the plane and the digit), from synthetic pointer events;
- max |browser - Keras| over 100 random codes z per model of the book (autoencoder, VAE with beta = 0,
  1, 5; read from the model cache, never trained here), drawn over the plane its navigator shows (the
  half-width LatentNavigator gives the test digits' codes: mean codes here), against Keras with the same
  float16-rounded weights the page holds (``vaelib.widgets.rounded_decoder``: within 1e-5) and against
  Keras's float32 model (within ``vaelib.widgets.FLOAT16_TOLERANCE``);
- page weight: the bytes of each chapter page with navigators, and of the same page built from the
  ``--baseline`` commit (before the widgets decoded in the page), raw and gzip-compressed.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import functools
import gzip
import json
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import vaelib  # noqa: E402,F401  (first: the host pin)
import keras  # noqa: E402
import numpy as np  # noqa: E402

from vaelib import widgets as W  # noqa: E402
from vaelib.models.report_settings import report_config, trained
from vaelib.data import unit_mnist  # noqa: E402
from vaelib.probe import cpu_model  # noqa: E402

PAGES = ("book/06_ae_vs_vae.html", "book/10_latent_travel.html")
MODELS = {"autoencoder": {"model": "ae"}, "VAE beta = 0": {"beta": 0.0}, "VAE beta = 1": {"beta": 1.0},
          "VAE beta = 5": {"beta": 5.0}}

JS_DECODE = """async ([source, packed, shapes, points, repeats]) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const widget = await import(url);
  const bytes = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
  const layers = await widget.unpackDecoder(bytes, shapes);
  const out = points.map((z) => Array.from(widget.decode(layers, z)));
  let n = 0; const start = performance.now();
  while (performance.now() - start < 2000) { for (let k = 0; k < repeats; k++) { widget.decode(layers, points[(n + k) % points.length]); } n += repeats; }
  return { out, per_second: n / ((performance.now() - start) / 1000) };
}"""

JS_POINTER = """async (moves) => {
  const root = document.querySelector('.vaelib-latent-navigator[data-ready="true"]');
  const plane = root.querySelector('.vaelib-plane');
  const box = plane.getBoundingClientRect();
  const at = (f) => ({ clientX: box.left + box.width * (0.1 + 0.8 * f), clientY: box.top + box.height * (0.5 + 0.3 * Math.sin(12 * f)),
                       pointerId: 1, bubbles: true, isPrimary: true, pointerType: 'mouse', buttons: 1 });
  plane.dispatchEvent(new PointerEvent('pointerdown', at(0)));
  const before = Number(root.dataset.decodes);
  const start = performance.now();
  for (let k = 1; k <= moves; k++) {  // the await lets the redraw (a microtask) run, as between real events
    plane.dispatchEvent(new PointerEvent('pointermove', at(k / moves))); await null;
  }
  const seconds = (performance.now() - start) / 1000;
  plane.dispatchEvent(new PointerEvent('pointerup', at(1)));
  return { moves, decodes: Number(root.dataset.decodes) - before, per_second: moves / seconds };
}"""


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(site: Path) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def page_weight(site: Path) -> dict:
    out = {}
    for page in PAGES:
        data = (site / page).read_bytes()
        out[page] = {"bytes": len(data), "gzip_bytes": len(gzip.compress(data, 6))}
    return out


def baseline_weight(ref: str) -> dict:
    """Build the book at ``ref`` in a temporary git worktree; the weight of its pages."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref], check=True,
                       capture_output=True)
        try:
            subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(tree)], check=True,
                           capture_output=True)
            return page_weight(tree / "_build" / "html")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", default=str(ROOT / "_build" / "html"))
    ap.add_argument("--baseline", default="7009708", help="commit whose pages are the weight before the widgets")
    ap.add_argument("--output", default=str(ROOT / "benchmarks" / "decoder_widget.json"))
    args = ap.parse_args()
    site = Path(args.site)

    from playwright.sync_api import sync_playwright

    data = unit_mnist()
    models = {name: trained(report_config(**options), data=data).model() for name, options in MODELS.items()}
    rng = np.random.default_rng(0)
    source = W.DECODER_JS.read_text(encoding="utf-8")
    server, base = serve(site)
    record = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu_model(),
              "browser": None, "weights": "float16 (vaelib.widgets.rounded_weights), byte-shuffled, zlib, base64",
              "plane_half_width": {}, "max_abs_browser_minus_keras_same_float16_weights": {},
              "max_abs_browser_minus_keras_float32": {}, "float16_tolerance": W.FLOAT16_TOLERANCE,
              "decodes_per_second": {}}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
            record["browser"] = f"Chromium {browser.version} (headless)"
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", lambda r: r.continue_() if r.request.url.startswith((base, "data:", "blob:"))
                          else r.abort("blockedbyclient"))
            page = context.new_page()
            page.goto(base + PAGES[0], wait_until="load")
            for name, model in models.items():
                holder = W.decoder_weights(model)
                codes = model.encode(data.x_test)  # a VAE's (mu, log_var) or an autoencoder's codes
                limit = record["plane_half_width"][name] = W._range(np.asarray(codes[0] if isinstance(codes, tuple)  # noqa: SLF001
                                                                               else codes))
                z = rng.uniform(-limit, limit, size=(100, 2))
                got = page.evaluate(JS_DECODE, [source, base64.b64encode(holder.weights).decode(), holder.shapes,
                                                z.tolist(), 50])
                browser_pixels = np.array(got["out"])
                rounded = np.asarray(keras.ops.sigmoid(W.rounded_decoder(model)(z.astype(np.float32))), dtype=np.float64)
                keras_pixels = np.asarray(model.decode(z.astype(np.float32)), dtype=np.float64)
                record["max_abs_browser_minus_keras_same_float16_weights"][name] = float(np.max(np.abs(browser_pixels - rounded)))
                record["max_abs_browser_minus_keras_float32"][name] = float(np.max(np.abs(browser_pixels - keras_pixels)))
                record["decodes_per_second"][name] = round(got["per_second"])
            page.wait_for_selector('.vaelib-latent-navigator[data-ready="true"]', timeout=60_000)
            page.locator(".vaelib-latent-navigator").scroll_into_view_if_needed()
            record["navigator_pointer_moves_per_second"] = page.evaluate(JS_POINTER, 600)
            browser.close()
    finally:
        server.shutdown()
    now = page_weight(site)
    before = baseline_weight(args.baseline)
    record["page_weight"] = {
        page: {"before": before[page], "after": now[page],
               "added_bytes": now[page]["bytes"] - before[page]["bytes"],
               "added_gzip_bytes": now[page]["gzip_bytes"] - before[page]["gzip_bytes"]}
        for page in PAGES}
    record["page_weight"]["baseline_commit"] = args.baseline
    asset = site / "_static" / "npm" / "anywidget" / "index.js"
    record["shared_asset_bytes"] = {"_static/npm/anywidget/index.js": asset.stat().st_size}
    Path(args.output).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(record, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
