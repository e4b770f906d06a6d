#!/usr/bin/env python
"""Open every page of the built book in headless Chromium with the network cut off.

Serves ``_build/html`` from a local HTTP server on 127.0.0.1 and drives Debian's system
Chromium (``/usr/bin/chromium``) through Playwright's Python package (no Playwright browser is
downloaded). Every request that is not to the local server is blocked and counted as a failure,
and the browser's DNS resolves nothing but 127.0.0.1. For every page it checks:

- no console errors, no uncaught exceptions, no failed or blocked requests, no HTTP errors;
- maths rendered: every Sphinx ``.math`` element holds a MathJax ``mjx-container``, and no
  ``mjx-merror`` (a TeX error) appears;
- images: every ``<img>`` loaded; on chapter pages (``book/NN_*.html``) the cell outputs hold at
  least one figure (whenever the notebook stores an image output, and always for chapters 06-09),
  and no output figure is blank (a single colour); a chapter whose notebook stores no outputs
  at all (never executed) fails;
- widgets: on pages that embed ipywidgets state the widgets render, and where a slider is linked
  to a ``Stack`` of images, moving the slider (keyboard) changes the visible image;
- decoding widgets (vaelib's latent navigators and reconstruction samplers, which decode in the
  page): as many render as the notebook stores; dragging across a navigator's plane changes the
  decoded image at every step, an arrow key moves it, switching the model changes it; every press of
  a sampler's *encode again* gives a new set of draws.

The β slider of chapter 07 is required as soon as ``book/07_beta_effects.ipynb`` stores widget
state (or with ``--require-slider``); until then its absence is reported as SKIPPED.

- figures open at full size: clicking a chapter's first output figure shows it at its natural
  width in an overlay, and Escape closes it (``_static/figure_zoom.js``);
- no console warnings either (the widget manager's included);
- every chapter page links to its own notebook on Colab and on Binder (from ``_config.yml``);
- every output figure's smallest text is at least 9 px tall as the page shows it (the height that
  ``vaelib.plots`` records in the PNG times the image's displayed scale);
- at a phone's width (390 px) the pages of chapters 07 and 12 are loaded again: every slider's
  track is at least 150 px long and no display equation is cut off.

Saves screenshots of four pages at 1,280 px (light and dark theme) and of chapters 07 and 12 at
390 px in ``_build/screenshots/``. Exits 1 with a list of failures.

Usage: python .ci/browser_check.py [--site _build/html] [--slider-page book/07_beta_effects.html]
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ALWAYS_FIGURES = ("06", "07", "08", "09")  # chapters that must show figures whatever the notebook
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
SCREENSHOT_PAGES = ("book/intro.html", "book/07_beta_effects.html", "book/06_ae_vs_vae.html", "book/12_claims.html")
PHONE = {"width": 390, "height": 844}  # a phone's viewport, CSS pixels
PHONE_PAGES = ("book/07_beta_effects.html", "book/12_claims.html")  # checked and photographed at PHONE too
MIN_SLIDER_PX = 150  # a slider's track at PHONE width


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the check's output readable
        pass


def start_server(site: Path) -> tuple[ThreadingHTTPServer, str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def notebook_facts(page: str) -> dict:
    """Image outputs and widget state stored in the notebook behind ``page`` (if any)."""
    nb_path = ROOT / Path(page).with_suffix(".ipynb")
    if not nb_path.exists():
        return {"notebook": False, "image_outputs": 0, "widget_state": False, "code_cells": 0, "outputs": 0}
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    n_img = sum(
        1
        for cell in nb.get("cells", [])
        for out in cell.get("outputs", [])
        if any(k.startswith("image/") for k in out.get("data", {}))
    )
    code = [cell for cell in nb.get("cells", []) if cell.get("cell_type") == "code"]
    n_out = sum(len(cell.get("outputs", [])) for cell in code)
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state")
    return {"notebook": True, "image_outputs": n_img, "widget_state": bool(state),
            "code_cells": len(code), "outputs": n_out}


JS_MATH = """() => {
  const math = [...document.querySelectorAll('.math')];
  const unrendered = math.filter(el => !el.querySelector('mjx-container')).length;
  return {math: math.length, containers: document.querySelectorAll('mjx-container').length,
          unrendered, merrors: document.querySelectorAll('mjx-merror').length};
}"""

JS_IMAGES = """() => {
  const info = img => {
    let blank = null;
    if (img.complete && img.naturalWidth > 0) {
      try {
        const w = Math.min(img.naturalWidth, 400), h = Math.min(img.naturalHeight, 400);
        const c = document.createElement('canvas'); c.width = w; c.height = h;
        const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0, w, h);
        const d = ctx.getImageData(0, 0, w, h).data; blank = true;
        for (let i = 4; i < d.length; i += 4) {
          if (d[i] !== d[0] || d[i+1] !== d[1] || d[i+2] !== d[2] || d[i+3] !== d[3]) { blank = false; break; }
        }
      } catch (e) { blank = null; }
    }
    return {src: img.getAttribute('src').slice(0, 80), url: img.src, loaded: img.complete && img.naturalWidth > 0,
            output: !!img.closest('.cell_output') && !img.closest('.jupyter-widgets'), blank,
            natural: img.naturalWidth, shown: img.getBoundingClientRect().width};
  };
  return [...document.querySelectorAll('img')].map(info);
}"""

JS_WIDGETS = """() => ({
  state: document.querySelectorAll('script[type="application/vnd.jupyter.widget-state+json"]').length,
  views: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
  rendered: document.querySelectorAll('.jupyter-widgets, .vaelib-decoder-widget').length,
  sliders: document.querySelectorAll('.widget-slider').length,
})"""

# The visible image of each widget area: a digest of its src (data URL or blob URL) and size.
JS_VISIBLE_IMAGES = """() => [...document.querySelectorAll('.jupyter-widgets img')]
  .filter(img => img.checkVisibility ? img.checkVisibility() : img.offsetParent !== null)
  .map(img => { const s = img.getAttribute('src') || '';
                let h = 0; for (let i = 0; i < s.length; i++) { h = (h * 31 + s.charCodeAt(i)) | 0; }
                return `${s.length}:${h}:${img.naturalWidth}x${img.naturalHeight}`; })"""


def check_slider(page, url: str, failures: list[str], notes: list[str]) -> bool:
    """Move every rendered slider with the keyboard; the visible widget image must change.

    Each slider's handle gets focus and ArrowRight (ArrowLeft when the slider is at its end).
    At least one slider must change the visible image, and the β slider (``.vaelib-beta-slider``)
    must, when the page has one. Sliders inside ``.vaelib-needs-kernel`` (a widget that could only
    compute in a kernel; the book has none now) cannot work in the static page and are not moved.
    Returns whether an image changed.
    """
    sliders = page.locator(".widget-slider")
    n = sliders.count()
    if n == 0:
        failures.append(f"{url}: no .widget-slider rendered")
        return False
    static = [i for i in range(n)
              if not sliders.nth(i).evaluate("e => e.closest('.vaelib-needs-kernel') !== null")]
    if not static:
        notes.append(f"{url}: {n} slider(s), all in widgets that need a kernel (.vaelib-needs-kernel): not moved")
        return False
    changed_any = False
    for i in static:
        slider = sliders.nth(i)
        is_beta = "vaelib-beta-slider" in (slider.get_attribute("class") or "")
        handle = slider.locator(".noUi-handle")
        readout = slider.locator(".widget-readout")
        if handle.count() == 0:
            failures.append(f"{url}: slider {i} has no handle (.noUi-handle)")
            continue
        value_before = readout.inner_text() if readout.count() else "?"
        before = page.evaluate(JS_VISIBLE_IMAGES)
        value_after, after = value_before, before
        for key in ("ArrowRight", "ArrowLeft"):
            handle.first.focus()
            page.keyboard.press(key)
            page.wait_for_timeout(300)
            value_after = readout.inner_text() if readout.count() else "?"
            after = page.evaluate(JS_VISIBLE_IMAGES)
            if value_after != value_before:
                break
        changed = bool(before) and bool(after) and before != after
        changed_any = changed_any or changed
        label = "β slider" if is_beta else f"slider {i}"
        notes.append(f"{url}: {label} moved {value_before!r} -> {value_after!r}; visible widget images "
                     f"{len(before)} -> {len(after)}; image changed: {changed}")
        if value_before == value_after:
            failures.append(f"{url}: {label} did not move with the keyboard ({value_before!r})")
        elif is_beta and not changed:
            failures.append(f"{url}: moving the β slider did not change the visible image")
    if not changed_any:
        failures.append(f"{url}: moving the slider(s) did not change the visible image")
    return changed_any


def decoding_widgets_stored(page: str) -> dict:
    """How many latent navigators and reconstruction samplers the notebook behind ``page`` stores."""
    nb_path = ROOT / Path(page).with_suffix(".ipynb")
    if not nb_path.exists():
        return {"navigator": 0, "sampler": 0}
    state = json.loads(nb_path.read_text(encoding="utf-8")).get("metadata", {}).get("widgets", {}).get(
        WIDGET_STATE, {}).get("state", {})
    kinds = [m["state"].get("kind") for m in state.values() if m.get("model_module") == "anywidget"]
    return {"navigator": kinds.count("navigator"), "sampler": kinds.count("sampler")}


# A digest of a canvas's pixels (its PNG data URL), to tell whether what it shows changed.
JS_CANVAS_DIGEST = """e => { const s = e.toDataURL(); let h = 0;
  for (let i = 0; i < s.length; i++) { h = (h * 31 + s.charCodeAt(i)) | 0; } return `${s.length}:${h}`; }"""


DECODING_WIDGETS = {"navigator": ".vaelib-latent-navigator", "sampler": ".vaelib-reconstruction-sampler"}


def loaded(page, url: str, kind: str, timeout: float, failures: list[str]):
    """Yield (name, locator) of each decoding widget of ``kind`` whose decoder loaded; a failure for the others."""
    widgets = page.locator(DECODING_WIDGETS[kind])
    for i in range(widgets.count()):
        root = widgets.nth(i)
        try:
            root.locator("xpath=self::*[@data-ready='true']").wait_for(timeout=timeout * 1000)
        except Exception:  # noqa: BLE001 -- reported as a failure
            failures.append(f"{url}: {kind} {i}: its decoder did not load (no data-ready)")
            continue
        yield f"{url}: {kind} {i}", root


def check_decoders(page, url: str, timeout: float, failures: list[str], notes: list[str]) -> None:
    """Drive every decoding widget of the page as a reader would; the decoded images must follow."""
    expected = decoding_widgets_stored(url)
    for kind, selector in DECODING_WIDGETS.items():
        found = page.locator(selector).count()
        if expected[kind] and found == 0:
            try:
                page.wait_for_selector(selector, timeout=timeout * 1000)
                found = page.locator(selector).count()
            except Exception:  # noqa: BLE001 -- reported below
                pass
        if found != expected[kind]:
            failures.append(f"{url}: {found} {kind}(s) rendered, the notebook stores {expected[kind]}")
    for name, root in loaded(page, url, "navigator", timeout, failures):
        plane, digit = root.locator(".vaelib-plane"), root.locator(".vaelib-digit")
        plane.scroll_into_view_if_needed()
        box = plane.bounding_box()
        seen = [digit.evaluate(JS_CANVAS_DIGEST)]
        steps = 8
        page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.25 * box["height"])
        page.mouse.down()
        unchanged = 0
        for k in range(1, steps + 1):  # a drag from upper left towards lower right
            f = k / steps
            page.mouse.move(box["x"] + (0.2 + 0.6 * f) * box["width"], box["y"] + (0.25 + 0.5 * f) * box["height"])
            now = digit.evaluate(JS_CANVAS_DIGEST)
            unchanged += now == seen[-1]
            seen.append(now)
        page.mouse.up()
        if unchanged:
            failures.append(f"{name}: the decoded image did not change at {unchanged} of {steps} steps of a drag")
        readout = root.locator(".vaelib-z-readout").inner_text()
        before = digit.evaluate(JS_CANVAS_DIGEST)
        plane.focus()
        page.keyboard.press("ArrowLeft")
        after_key = digit.evaluate(JS_CANVAS_DIGEST)
        if after_key == before:
            failures.append(f"{name}: ArrowLeft on the plane did not change the decoded image")
        choice = root.locator(".vaelib-model-choice")
        switched = "no model menu"
        if choice.count():
            options = choice.locator("option")
            labels = [options.nth(k).inner_text() for k in range(options.count())]
            for label in labels[1:] + labels[:1]:
                previous = digit.evaluate(JS_CANVAS_DIGEST)
                choice.select_option(label=label)
                if digit.evaluate(JS_CANVAS_DIGEST) == previous:
                    failures.append(f"{name}: switching to model {label!r} did not change the decoded image")
            switched = f"switched through {labels}"
        notes.append(f"{name}: drag of {steps} steps changed the image at {steps - unchanged}; ended at {readout.strip()}; "
                     f"arrow key changed it: {after_key != before}; {switched}")
    for name, root in loaded(page, url, "sampler", timeout, failures):
        draws, button = root.locator(".vaelib-draws"), root.locator(".vaelib-resample-button")
        button.scroll_into_view_if_needed()
        seen = [draws.evaluate(JS_CANVAS_DIGEST)]
        presses = 5
        for _ in range(presses):
            button.click()
            seen.append(draws.evaluate(JS_CANVAS_DIGEST))
        if len(set(seen)) != presses + 1:
            failures.append(f"{name}: {presses} presses of 'encode again' gave {len(set(seen)) - 1} new draws")
        slider = root.locator(".vaelib-digit-index")
        slider.focus()
        page.keyboard.press("ArrowRight")
        moved = draws.evaluate(JS_CANVAS_DIGEST) not in seen
        if not moved:
            failures.append(f"{name}: moving the test-digit slider did not change the draws shown")
        notes.append(f"{name}: {presses} presses gave {len(set(seen)) - 1} different draws; the digit slider "
                     f"changed them: {moved}; {root.locator('.vaelib-sampler-summary').inner_text()}")


def take_screenshots(page, rel: str, shots: Path, notes: list[str]) -> None:
    """Screenshot ``rel`` in light mode, scrolled to its first widget or figure, and in dark mode."""
    stem = rel.replace("/", "_").replace(".html", "")
    for selector in (".jupyter-widgets, .vaelib-decoder-widget", ".cell_output img"):
        target = page.locator(selector)
        if target.count():
            target.first.scroll_into_view_if_needed()
            page.evaluate("() => window.scrollBy(0, -120)")
            break
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(300)
        out = shots / f"{stem}_{scheme}.png"
        page.screenshot(path=str(out))
        notes.append(f"screenshot: {out}")
    page.emulate_media(color_scheme="light")


def track_requests(page) -> set:
    """The set of this page's requests still in flight, kept up to date by event handlers."""
    inflight: set = set()
    page.on("request", lambda r: inflight.add(r))
    page.on("requestfinished", lambda r: inflight.discard(r))
    page.on("requestfailed", lambda r: inflight.discard(r))
    page._inflight = inflight  # noqa: SLF001 -- read by wait_quiet
    return inflight


def wait_quiet(page, rel: str, timeout: float, quiet: float = 0.5) -> None:
    """Wait until no request of the page has been in flight for ``quiet`` seconds.

    Raises TimeoutError naming the requests still pending after ``timeout`` seconds.
    """
    inflight = page._inflight  # noqa: SLF001
    deadline = time.time() + timeout
    quiet_since = None
    while time.time() < deadline:
        page.wait_for_timeout(100)  # lets Playwright dispatch events
        if inflight:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since >= quiet:
            return
    pending = sorted(r.url for r in inflight)
    raise TimeoutError(f"requests still pending after {timeout:g} s: {pending[:5]}")


# A Markdown pipe table that reached the page as text (a paragraph holding "| --- |", whose dashes
# the typography may have turned into an em dash), not a <table>.
JS_RAW_TABLES = """() => [...document.querySelectorAll('.cell_output p, .output p')]
  .filter(p => /\\|\\s*:?(-{3,}|[\u2013\u2014]+):?\\s*\\|/.test(p.textContent)).map(p => p.textContent.slice(0, 80))"""


# At the page's width (1,280 px): display equations wider than their box must scroll (not be cut
# off), and no code or text output may run wider than its column.
JS_OVERFLOW = """() => {
  const wide = el => el.scrollWidth > el.clientWidth + 1;
  const cut = [...document.querySelectorAll('mjx-container[display="true"]')]
    .filter(el => wide(el) && !['auto', 'scroll'].includes(getComputedStyle(el).overflowX))
    .map(el => el.textContent.slice(0, 40));
  const code = [...document.querySelectorAll('div.cell_input pre, div.cell_output pre')]
    .filter(wide).map(el => el.textContent.split('\\n')[0].slice(0, 60));
  const column = document.querySelector('article') || document.body;
  const right = column.getBoundingClientRect().right;
  const tables = [...document.querySelectorAll('.cell_output table')]
    .filter(t => t.getBoundingClientRect().right > right + 1 ||
                 (wide(t) && !['auto', 'scroll'].includes(getComputedStyle(t).overflowX)))
    .map(t => t.textContent.trim().slice(0, 60));
  return {cut, code, tables};
}"""


JS_SLIDER_TRACKS = """() => [...document.querySelectorAll('.widget-slider .noUi-target, .widget-hslider .noUi-target')]
  .map(el => Math.round(el.getBoundingClientRect().width))"""


def check_phone_page(page, rel: str, base: str, args, failures: list[str], notes: list[str], shots: Path) -> None:
    """At a phone's width: sliders long enough to move, no display equation cut off; a screenshot."""
    page.goto(base + rel, wait_until="load", timeout=args.timeout * 1000)
    wait_quiet(page, rel, args.timeout)
    if page.evaluate("() => !!(window.MathJax && window.MathJax.startup)"):
        page.evaluate("() => MathJax.startup.promise")
    if notebook_facts(rel)["widget_state"]:
        page.wait_for_selector(".widget-slider, .widget-hslider", timeout=args.timeout * 1000)
    tracks = page.evaluate(JS_SLIDER_TRACKS)
    short = [w for w in tracks if w < MIN_SLIDER_PX]
    if short:
        failures.append(f"{rel} (phone): slider track(s) of {short} px, shorter than {MIN_SLIDER_PX} px")
    for text in page.evaluate(JS_OVERFLOW)["cut"]:
        failures.append(f"{rel} (phone): a display equation is cut off at the right: {text!r}")
    stem = rel.replace("/", "_").replace(".html", "")
    for selector in (".jupyter-widgets", ".cell_output table", ".cell_output img"):
        target = page.locator(selector)
        if target.count():
            target.first.scroll_into_view_if_needed()
            break
    out = shots / f"{stem}_phone.png"
    page.screenshot(path=str(out))
    notes.append(f"{rel} (phone, {PHONE['width']} px): slider tracks {tracks} px; screenshot: {out}")


JS_ZOOM = """() => {
  const img = document.querySelector('.cell_output img');
  if (!img) return null;
  img.click();
  const big = document.querySelector('.vaelib-zoom img');
  return big ? {natural: big.naturalWidth, shown: Math.round(big.getBoundingClientRect().width),
                thumb: Math.round(img.getBoundingClientRect().width)} : {natural: 0, shown: 0, thumb: 0};
}"""


def check_text_size(site: Path, base: str, rel: str, im: dict, failures: list[str]) -> float | None:
    """The smallest text of an output figure, as the page shows it (CSS px): the height vaelib.plots
    recorded in the PNG (:data:`vaelib.plots.MIN_TEXT_KEY`, in the image's pixels) times the scale the
    page draws the image at. Fails below :data:`vaelib.plots.MIN_TEXT_PX` or when the key is missing."""
    from PIL import Image

    from vaelib.plots import MIN_TEXT_KEY, MIN_TEXT_PX

    if not im["url"].startswith(base) or not im["natural"]:
        return None
    with Image.open(site / im["url"][len(base):].split("?")[0]) as png:
        recorded = png.info.get(MIN_TEXT_KEY)
    if recorded is None:
        failures.append(f"{rel}: figure {im['src']} was not drawn through vaelib.plots (no {MIN_TEXT_KEY} in the PNG)")
        return None
    shown = float(recorded) * im["shown"] / im["natural"]
    if shown < MIN_TEXT_PX:
        failures.append(f"{rel}: figure {im['src']} shows its smallest text {shown:.1f} px tall (< {MIN_TEXT_PX:g} px)")
    return shown


def check_zoom(page, rel: str, failures: list[str]) -> None:
    """The first output figure opens at its natural width and closes with Escape."""
    zoom = page.evaluate(JS_ZOOM)
    if zoom is None:
        return
    if zoom["natural"] == 0 or abs(zoom["shown"] - zoom["natural"]) > 1:
        failures.append(f"{rel}: clicking a figure did not show it at full size ({zoom})")
        return
    page.keyboard.press("Escape")
    if page.locator(".vaelib-zoom").count():
        failures.append(f"{rel}: Escape did not close the full-size figure")


def launch_urls(rel: str) -> dict[str, str]:
    """The Colab and Binder addresses a chapter page must link to, from ``_config.yml``'s repository."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repo, branch = config["repository"]["url"].rstrip("/"), config["repository"]["branch"]
    owner_name = repo.removeprefix("https://github.com/")
    notebook = rel.removesuffix(".html") + ".ipynb"
    return {"Colab": f"{config['launch_buttons']['colab_url']}/github/{owner_name}/blob/{branch}/{notebook}",
            "Binder": f"{config['launch_buttons']['binderhub_url']}/v2/gh/{owner_name}/{branch}?urlpath=lab/tree/{notebook}"}


def check_launch_buttons(page, rel: str, failures: list[str]) -> None:
    """A chapter page links to itself on Colab and on Binder (the launch menu)."""
    links = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    for name, url in launch_urls(rel).items():
        if url not in links:
            found = [u for u in links if ("colab" if name == "Colab" else "mybinder") in u]
            failures.append(f"{rel}: no {name} launch link to {url} (found {found})")


def check_page(page, rel: str, base: str, site: Path, args, failures: list[str], notes: list[str],
               row: dict, shots: Path) -> None:
    """Open ``rel`` and run every check on it, filling ``row`` and appending to ``failures``."""
    page.goto(base + rel, wait_until="load", timeout=args.timeout * 1000)
    if 'http-equiv="refresh"' in (site / rel).read_text(encoding="utf-8", errors="replace").lower():
        # a redirect page (the site's index.html): check the page it leads to
        page.wait_for_url(lambda url: url != base + rel, timeout=args.timeout * 1000)
        page.wait_for_load_state("load", timeout=args.timeout * 1000)
        notes.append(f"{rel}: redirects to {page.url[len(base):]}")
    wait_quiet(page, rel, args.timeout)
    # maths: wait for MathJax's first typesetting pass, then inspect
    has_mathjax = page.evaluate("() => !!(window.MathJax && window.MathJax.startup)")
    if has_mathjax:
        page.evaluate("() => MathJax.startup.promise")
    m = page.evaluate(JS_MATH)
    row["math"] = f"{m['math'] - m['unrendered']}/{m['math']}"
    if m["math"] and not has_mathjax:
        failures.append(f"{rel}: {m['math']} maths elements but MathJax did not load")
    if m["unrendered"]:
        failures.append(f"{rel}: {m['unrendered']} of {m['math']} maths elements not rendered")
    if m["merrors"]:
        failures.append(f"{rel}: {m['merrors']} MathJax errors (mjx-merror)")
    overflow = page.evaluate(JS_OVERFLOW)
    for text in overflow["cut"]:
        failures.append(f"{rel}: a display equation is cut off at the right (wider than its box, no scrollbar): {text!r}")
    for text in overflow["code"]:
        failures.append(f"{rel}: code or output wider than the column: {text!r}")
    for text in overflow["tables"]:
        failures.append(f"{rel}: a table runs past the column's edge (cut off, no scrollbar): {text!r}")
    for text in page.evaluate(JS_RAW_TABLES):
        failures.append(f"{rel}: a Markdown table in a cell output rendered as text, not as a table: {text!r}")
    # widgets
    w = page.evaluate(JS_WIDGETS)
    if w["state"]:
        try:
            page.wait_for_selector(".jupyter-widgets, .vaelib-decoder-widget", timeout=args.timeout * 1000)
            if w["sliders"] == 0:
                page.wait_for_timeout(500)
        except Exception:  # noqa: BLE001 -- reported below
            pass
        w = page.evaluate(JS_WIDGETS)
        if w["rendered"] == 0:
            failures.append(f"{rel}: widget state embedded but no widget rendered")
        elif w["sliders"]:
            check_slider(page, rel, failures, notes)
            row["slider_checked"] = rel == args.slider_page
        check_decoders(page, rel, args.timeout, failures, notes)
    row["widgets"] = f"{w['rendered']} rendered, {w['sliders']} sliders" if w["state"] else "-"
    # images
    imgs = page.evaluate(JS_IMAGES)
    for im in imgs:
        if not im["loaded"]:
            failures.append(f"{rel}: image did not load: {im['src']}")
        elif im["output"] and im["blank"]:
            failures.append(f"{rel}: output figure is blank (one colour): {im['src']}")
    n_out = sum(im["output"] and im["loaded"] for im in imgs)
    row["figures"] = n_out
    sizes = [check_text_size(site, base, rel, im, failures) for im in imgs if im["output"] and im["loaded"]]
    sizes = [x for x in sizes if x is not None]
    if sizes:
        row["figures"] = f"{n_out} (text >= {min(sizes):.1f} px)"
    chapter = re.match(r"book/(\d\d)_", rel)
    if chapter:
        facts = notebook_facts(rel)
        if facts["code_cells"] and not facts["outputs"]:
            failures.append(f"{rel}: its notebook stores no outputs (not executed?); the book "
                            "renders stored outputs only")
        if (chapter.group(1) in ALWAYS_FIGURES or facts["image_outputs"]) and n_out == 0:
            failures.append(f"{rel}: chapter page shows no figure in its cell outputs "
                            f"(notebook stores {facts['image_outputs']} image outputs)")
    if chapter:
        check_launch_buttons(page, rel, failures)
    if chapter and n_out:
        check_zoom(page, rel, failures)
    if rel in SCREENSHOT_PAGES:
        take_screenshots(page, rel, shots, notes)


def watched_page(context, label: str, base: str, failures: list[str]):
    """A new page of ``context`` whose console warnings and errors, uncaught exceptions, failed local
    requests and HTTP errors are added to ``failures`` under ``label``."""
    page = context.new_page()
    track_requests(page)
    page.on("console", lambda m: m.type in ("error", "warning") and failures.append(
        f"{label}: console {m.type}: {m.text[:300]}"))
    page.on("pageerror", lambda e: failures.append(f"{label}: uncaught exception: {e}"))
    page.on("requestfailed", lambda r: r.url.startswith(base) and failures.append(
        f"{label}: request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and failures.append(f"{label}: HTTP {r.status} for {r.url}"))
    return page


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", default=str(ROOT / "_build" / "html"))
    ap.add_argument("--screenshots", default=str(ROOT / "_build" / "screenshots"))
    ap.add_argument("--slider-page", default="book/07_beta_effects.html",
                    help="page whose kernel-free slider must work (see --require-slider)")
    ap.add_argument("--require-slider", action="store_true",
                    help="fail when the slider page has no widget, even if its notebook has no widget state")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per page")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    site = Path(args.site)
    if not (site / "index.html").exists():
        print(f"browser check: {site}/index.html not found; build the book first", file=sys.stderr)
        return 1
    pages = sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if not p.relative_to(site).parts[0].startswith(("_static", "_sources", "_images"))
    )
    slider_required = args.require_slider or notebook_facts(args.slider_page)["widget_state"]
    shots = Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)

    server, base = start_server(site)
    failures: list[str] = []
    notes: list[str] = []
    rows = []
    slider_checked = False
    t0 = time.time()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
            )
            context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
            current = {"page": ""}

            def route(route_obj):
                url = route_obj.request.url
                if url.startswith(base) or url.startswith(("data:", "blob:")):
                    route_obj.continue_()
                else:
                    failures.append(f"{current['page']}: blocked request to outside the site: {url}")
                    route_obj.abort("blockedbyclient")

            context.route("**/*", route)
            for rel in pages:
                current["page"] = rel
                page = watched_page(context, rel, base, failures)
                row = {"page": rel, "math": "-", "figures": "-", "widgets": "-"}
                try:
                    check_page(page, rel, base, site, args, failures, notes, row, shots)
                except Exception as exc:  # noqa: BLE001 -- a page that cannot be checked is a failure
                    failures.append(f"{rel}: could not be checked: {type(exc).__name__}: {str(exc)[:300]}")
                slider_checked = slider_checked or row.get("slider_checked", False)
                rows.append(row)
                page.close()
            context.close()
            phone = browser.new_context(viewport=PHONE, service_workers="block", is_mobile=True, has_touch=True)
            phone.route("**/*", route)
            for rel in PHONE_PAGES:
                current["page"] = rel
                page = watched_page(phone, f"{rel} (phone)", base, failures)
                try:
                    check_phone_page(page, rel, base, args, failures, notes, shots)
                except Exception as exc:  # noqa: BLE001 -- a page that cannot be checked is a failure
                    failures.append(f"{rel} (phone): could not be checked: {type(exc).__name__}: {str(exc)[:300]}")
                page.close()
            browser.close()
    finally:
        server.shutdown()

    if not slider_checked:
        msg = f"{args.slider_page}: kernel-free β slider"
        if slider_required:
            failures.append(f"{msg} not found (no slider rendered, yet the notebook stores widget state)")
        else:
            notes.append(f"SKIPPED {msg}: the page has no widget yet (its notebook stores no widget state)")

    width = max(len(r["page"]) for r in rows) if rows else 10
    print(f"{'page':<{width}}  maths rendered  figures  widgets")
    for r in rows:
        print(f"{r['page']:<{width}}  {r['math']:>14}  {r['figures']:>7}  {r['widgets']}")
    for n in notes:
        print(n)
    print(f"{len(rows)} pages checked in {time.time() - t0:.1f} s with the network cut off")
    return verdict("browser check", failures)


def verdict(check: str, failures: list[str]) -> int:
    """Print the failures (each once) and return the exit status of ``check``."""
    if failures:
        print(f"\n{check.upper()} FAILED: {len(failures)} problem(s)", file=sys.stderr)
        for f in dict.fromkeys(failures):
            print(f"  - {f}", file=sys.stderr)
        return 1
    print(f"{check} passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
