#!/usr/bin/env python
"""Drive the decoding widgets in a live JupyterLab, offline, in headless Chromium.

The page-side twin of ``tests/test_widgets.py`` (which drives the widgets from Python): it starts
JupyterLab on 127.0.0.1 with a kernel running this Python (the book's environment), runs a notebook
that builds chapter 06's latent navigator and reconstruction sampler from the cached models, and
checks that the same front end (``vaelib/widgets/static/decoder_widget.js``) works with a kernel behind it:

- a drag across the plane changes the decoded image at every step, and the kernel's ``nav.z`` follows;
- switching the model in the page reaches the kernel; ``nav.move_to`` in the kernel moves the page;
- each press of *encode again* gives new draws, which the kernel receives (``sampler.draws``), and
  whose decodings there equal Keras's; ``sampler.choose`` in the kernel moves the page's slider;
- no console error and no request leaves 127.0.0.1.

JupyterLab is not one of the book's dependencies (Binder brings its own): install it beside the book,
e.g. ``python3.11 -m venv /tmp/lab && /tmp/lab/bin/pip install jupyterlab anywidget==0.11.0
jupyterlab_widgets==3.0.17``, then ``python .ci/jupyterlab_check.py --jupyter /tmp/lab/bin/jupyter``.
Needs the book's models in the cache (``VAELIB_CACHE``) and ``VAELIB_MNIST``. Not run by ``.ci/run``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_check import JS_CANVAS_DIGEST as DIGEST, verdict  # noqa: E402

CELLS = [
    """import vaelib
from vaelib.models.report_settings import report_config, trained
from vaelib.data import unit_mnist
from vaelib.widgets import latent_navigator, reconstruction_sampler
data = unit_mnist()
vae = trained(report_config(beta=1.0), data=data).model()
ae = trained(report_config(model="ae"), data=data).model()
x = data.x_test[:2000]
z_vae, z_ae = vae.encode(x)[0].numpy(), ae.encode(x).numpy()""",
    """nav = latent_navigator({"VAE": vae, "AE": ae}, {"VAE": z_vae, "AE": z_ae}, data.y_test[:2000])
nav""",
    """sampler = reconstruction_sampler(vae, data.x_test[:10], n_draws=15, seed=0)
sampler""",
]

# Run code in the notebook's kernel from the page (JupyterLab's own kernel connection); return its output.
RUN_IN_KERNEL = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let out = '';
  const future = kernel.requestExecute({ code });
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') out += msg.content.text;
    if (msg.header.msg_type === 'error') out += `ERROR ${msg.content.ename}: ${msg.content.evalue}`;
  };
  await future.done;
  return out.trim();
}"""

KERNEL_READY = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel); }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drive(url: str, failures: list[str], notes: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    def check(ok: bool, what: str) -> None:
        (notes if ok else failures).append(("ok: " if ok else "FAILED: ") + what)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        base = url.split("/lab")[0]
        context.route("**/*", lambda r: r.continue_() if r.request.url.startswith((base, "data:", "blob:"))
                      else (failures.append(f"blocked request: {r.request.url}"), r.abort()))
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and failures.append(f"console error: {m.text[:200]}"))
        page.on("pageerror", lambda e: failures.append(f"uncaught exception: {e}"))
        page.goto(url)
        page.wait_for_function(KERNEL_READY, timeout=120_000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_selector('.vaelib-latent-navigator[data-ready="true"]', timeout=180_000)
        page.wait_for_selector('.vaelib-reconstruction-sampler[data-ready="true"]', timeout=60_000)
        kernel = lambda code: page.evaluate(RUN_IN_KERNEL, code)  # noqa: E731

        nav = page.locator(".vaelib-latent-navigator")
        nav.scroll_into_view_if_needed()
        plane, digit = nav.locator(".vaelib-plane"), nav.locator(".vaelib-digit")
        box = plane.bounding_box()
        seen = [digit.evaluate(DIGEST)]
        page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"])
        page.mouse.down()
        for k in range(1, 7):
            page.mouse.move(box["x"] + (0.3 + 0.07 * k) * box["width"], box["y"] + (0.3 + 0.05 * k) * box["height"])
            seen.append(digit.evaluate(DIGEST))
        page.mouse.up()
        page.wait_for_timeout(500)
        check(all(a != b for a, b in zip(seen, seen[1:])), "a drag changed the decoded image at each of 6 steps")
        shown = nav.locator(".vaelib-z-readout").inner_text().strip()
        z = json.loads(kernel("import json; print(json.dumps(nav.z))"))
        check(shown == f"z = ({z[0]:.2f}, {z[1]:.2f})", f"the kernel's nav.z {z} is the page's {shown!r}")
        diff = float(kernel("import numpy as np; print(np.abs(nav.decoded - vae.decode(np.array([nav.z], 'float32'))"
                            ".numpy()[0]).max())"))
        check(diff <= 1e-5, f"the kernel's decoding of that z equals Keras's (max diff {diff:.1e})")
        before = digit.evaluate(DIGEST)
        nav.locator(".vaelib-model-choice").select_option(label="AE")
        page.wait_for_timeout(500)
        check(digit.evaluate(DIGEST) != before and kernel("print(nav.selected)") == "AE",
              "switching to AE in the page changed the image and reached the kernel")
        before = digit.evaluate(DIGEST)
        kernel("nav.select('VAE'); nav.move_to(1.0, -1.0)")
        page.wait_for_timeout(800)
        check(nav.locator(".vaelib-z-readout").inner_text().strip() == "z = (1.00, -1.00)"
              and digit.evaluate(DIGEST) != before, "nav.move_to(1.0, -1.0) in the kernel moved the page")

        sampler = page.locator(".vaelib-reconstruction-sampler")
        sampler.scroll_into_view_if_needed()
        draws = sampler.locator(".vaelib-draws")
        first = kernel("print(sampler.draws.tolist())")
        shots = [draws.evaluate(DIGEST)]
        for _ in range(3):
            sampler.locator(".vaelib-resample-button").click()
            page.wait_for_timeout(300)
            shots.append(draws.evaluate(DIGEST))
        check(len(set(shots)) == 4, "three presses of 'encode again' gave three new sets of draws")
        check(kernel("print(sampler.draws.tolist())") != first, "the page's draws reached the kernel")
        diff = float(kernel("print(np.abs(sampler.decoded - vae.decode(sampler.draws.astype('float32')).numpy()).max())"))
        check(diff <= 1e-5, f"the kernel's decodings of the page's draws equal Keras's (max diff {diff:.1e})")
        kernel("sampler.choose(3)")
        page.wait_for_timeout(500)
        check(sampler.locator(".vaelib-digit-index-readout").inner_text().strip() == "3",
              "sampler.choose(3) in the kernel moved the page's slider")
        browser.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jupyter", required=True, help="the jupyter executable of an environment with JupyterLab")
    args = ap.parse_args()
    failures: list[str] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        root, share = Path(tmp) / "lab", Path(tmp) / "share"
        root.mkdir()
        kernel_dir = share / "jupyter" / "kernels" / "vaelib-book"
        kernel_dir.mkdir(parents=True)
        (kernel_dir / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "vaelib book", "language": "python"}))
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
        notebook.metadata["kernelspec"] = {"name": "vaelib-book", "display_name": "vaelib book", "language": "python"}
        nbformat.write(notebook, root / "live.ipynb")
        port, token = free_port(), "vaelib-check"
        env = {**os.environ, "JUPYTER_PATH": str(share / "jupyter")}
        server = subprocess.Popen(
            [args.jupyter, "lab", "--no-browser", "--allow-root", f"--port={port}", "--ServerApp.ip=127.0.0.1",
             f"--IdentityProvider.token={token}", "--expose-app-in-browser", f"--ServerApp.root_dir={root}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(8)
            drive(f"http://127.0.0.1:{port}/lab/tree/live.ipynb?token={token}", failures, notes)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("\n".join(notes))
    return verdict("jupyterlab check", failures)


if __name__ == "__main__":
    sys.exit(main())
