"""Serve MathJax and the Jupyter widget manager from the built site instead of a CDN.

A local Sphinx extension (listed under ``sphinx: local_extensions`` in ``_config.yml``). At build
time it fetches three pinned npm packages from the npm registry, checks each tarball against the
registry's ``dist.integrity`` (sha512) pinned below, extracts the files the pages need into
``_build/offline_assets/npm/`` and adds that folder to ``html_static_path``. It then points
Sphinx's ``mathjax_path`` and myst-nb's ``nb_ipywidgets_js`` (RequireJS + the widget manager) at
those local copies, so no page of the book loads anything from outside the site.

It also serves anywidget's front end, which vaelib's decoding widgets need (``vaelib/widgets/decoders.py``):
the AMD module ``anywidget/nbextension/index.js`` of the installed ``anywidget`` Python package (pinned
in ``requirements.txt``), checked against the version and sha512 pinned below (a mismatch stops the
build). anywidget's npm package cannot be used here: it is an ES module, and the widget manager loads
a widget's module with RequireJS, which needs AMD; the wheel's AMD build is the one anywidget itself
serves to RequireJS pages (the classic notebook).

- Tarballs are cached in ``$BOOK_ASSET_CACHE`` (else ``$XDG_CACHE_HOME/vaelib-book/npm``, else
  ``~/.cache/vaelib-book/npm``) and re-verified on every build; a cached or downloaded tarball
  whose hash does not match is deleted and the build stops with an error: it is never used.
- Fetching uses ``npm pack`` (so npm's own registry/proxy settings apply) and falls back to a
  plain HTTPS download of the same tarball from the registry when npm is not installed.
- Files are re-extracted from the verified tarball on every build, so a damaged extracted copy
  cannot reach the site.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

VENDOR = "npm"  # served as _static/npm/... (the theme already uses _static/vendor/)


@dataclass(frozen=True)
class NpmPin:
    """One npm package at an exact version, its registry integrity and the files we serve."""

    name: str
    version: str
    integrity: str  # npm's dist.integrity: "sha512-" + base64(sha512(tarball))
    dest: str  # folder under _static/npm/
    include: tuple[str, ...]  # paths inside the tarball's package/ folder (files or folders)

    @property
    def tarball_name(self) -> str:
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    @property
    def registry_path(self) -> str:
        return f"{self.name}/-/{self.name.split('/')[-1]}-{self.version}.tgz"


PINS = (
    # MathJax 3 (the version line Sphinx 7 loads); tex-mml-chtml.js loads its fonts and lazily
    # loaded components (menu, accessibility) relative to its own URL, so those folders come too.
    NpmPin(
        "mathjax",
        "3.2.2",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        "mathjax",
        (
            "es5/tex-mml-chtml.js",
            "es5/input",
            "es5/output/chtml.js",
            "es5/output/chtml",
            "es5/ui",
            "es5/a11y",
            "es5/sre",
            "LICENSE",
        ),
    ),
    # RequireJS: the AMD loader the widget manager's embed-amd.js expects on the page.
    NpmPin(
        "requirejs",
        "2.3.7",
        "sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
        "requirejs",
        ("require.js", "README.md"),
    ),
    # The ipywidgets 8 HTML widget manager: renders the widget state saved in the notebooks
    # (base, controls and output widgets are bundled in embed-amd.js; its icon fonts sit beside it).
    NpmPin(
        "@jupyter-widgets/html-manager",
        "1.0.15",
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        "html-manager",
        (
            "dist/embed-amd.js",
            "dist/*.woff",
            "dist/*.woff2",
            "dist/*.ttf",
            "dist/*.eot",
            "dist/*.svg",
            "package.json",  # licence (BSD-3-Clause) and version; the tarball has no LICENSE file
        ),
    ),
)

# Edits to verified vendor files, applied right after each extraction (the tarball itself is never
# changed): (file under npm/, text, replacement, how many times the text must occur; any other count
# stops the build, so a new version cannot be patched by accident).
PATCHES = (
    # The manager validates the embedded widget state with Ajv in strict mode, and its state schema
    # types a buffer path's items as ["string", "number"]: Ajv then logs "strict mode: use
    # allowUnionTypes ..." on every page with widgets. anyOf of the two types accepts exactly the
    # same values and is the form Ajv's strict mode asks for (https://ajv.js.org/strict-mode.html).
    ("html-manager/dist/embed-amd.js",
     '"items":{"description":"An object key or array index","type":["string","number"]}',
     '"items":{"description":"An object key or array index","anyOf":[{"type":"string"},{"type":"number"}]}', 2),
)


def apply_patches(static_root: Path) -> int:
    """Apply :data:`PATCHES` to the extracted files; raise ExtensionError when a text occurs a different number of times."""
    for rel, old, new, count in PATCHES:
        path = static_root / VENDOR / rel
        text = path.read_text(encoding="utf-8")
        if text.count(old) != count:
            raise ExtensionError(f"{path}: expected {count} occurrence(s) of the text to patch, found {text.count(old)}; "
                                 "check PATCHES in _ext/offline_assets.py against this version")
        path.write_text(text.replace(old, new), encoding="utf-8")
    return len(PATCHES)


@dataclass(frozen=True)
class PythonPackagePin:
    """A file of an installed Python package at an exact version, with its sha512, served from the site."""

    package: str
    version: str
    path: str  # inside the package's folder
    integrity: str  # "sha512-" + base64(sha512(file))
    dest: str  # path under _static/npm/


PYTHON_PINS = (
    # anywidget's AMD front end: defines the "anywidget" widget module (AnyModel, AnyView) on top of
    # @jupyter-widgets/base; _ext/static/widgets_offline.js maps the module name to this copy.
    PythonPackagePin(
        "anywidget",
        "0.11.0",
        "nbextension/index.js",
        "sha512-6VKFs6N8SBLqjP/j0KeCcB6FPN/+lBbUCo+oBJuVwcKyXgFggsYasWgAevmvNsWs6SsmJ8EYiWrjFtqO1faFCg==",
        "anywidget/index.js",
    ),
)

MATHJAX_PATH = f"{VENDOR}/mathjax/es5/tex-mml-chtml.js"
HERE = Path(__file__).resolve().parent
# Our own few lines (not vendored): local module paths for the manager and a MathJax 3 shim.
SETUP_JS = HERE / "static" / "widgets_offline.js"
IPYWIDGETS_JS = {
    f"{VENDOR}/requirejs/require.js": {},
    f"{VENDOR}/widgets_offline.js": {},
    f"{VENDOR}/html-manager/dist/embed-amd.js": {},
}


class AssetIntegrityError(ExtensionError):
    """A fetched or cached tarball does not match its pinned sha512 integrity."""


def sri_sha512(data: bytes) -> str:
    """Return the Subresource-Integrity string (npm's ``dist.integrity``) of ``data``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def cache_dir() -> Path:
    """Folder holding verified tarballs (see module docstring)."""
    if os.environ.get("BOOK_ASSET_CACHE"):
        return Path(os.environ["BOOK_ASSET_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "vaelib-book" / "npm"


def verify(pin: NpmPin, path: Path) -> None:
    """Raise AssetIntegrityError (after deleting ``path``) unless it matches ``pin.integrity``."""
    actual = sri_sha512(path.read_bytes())
    if actual != pin.integrity:
        path.unlink(missing_ok=True)
        raise AssetIntegrityError(
            f"{pin.name}@{pin.version}: tarball {path} has integrity {actual}, expected "
            f"{pin.integrity}; the file is corrupt or not the pinned release, so it was deleted and "
            "is not used. A damaged download is fetched again by the next build; if the mismatch "
            "persists, check the pin in _ext/offline_assets.py against "
            f"`npm view {pin.name}@{pin.version} dist.integrity`."
        )


def _npm_pack(pin: NpmPin, dest: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm is not installed")
    out = subprocess.run(
        [npm, "pack", f"{pin.name}@{pin.version}", "--pack-destination", str(dest), "--silent"],
        cwd=dest, capture_output=True, text=True, timeout=300, check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"npm pack failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    return dest / pin.tarball_name


def _http_fetch(pin: NpmPin, dest: Path) -> Path:
    registry = os.environ.get("npm_config_registry") or "https://registry.npmjs.org/"
    url = registry.rstrip("/") + "/" + pin.registry_path
    target = dest / pin.tarball_name
    with urllib.request.urlopen(url, timeout=120) as response, open(target, "wb") as fh:
        shutil.copyfileobj(response, fh)
    return target


def fetch(pin: NpmPin, cache: Path) -> Path:
    """Return the path of the verified tarball of ``pin``, downloading it when needed."""
    cache.mkdir(parents=True, exist_ok=True)
    cached = cache / pin.tarball_name
    if cached.exists():
        try:
            verify(pin, cached)
            return cached
        except AssetIntegrityError as err:
            logger.info(f"[offline_assets] discarded a corrupt cached tarball, fetching again: {err}")
    logger.info(f"[offline_assets] fetching {pin.name}@{pin.version} from the npm registry")
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        errors = []
        got = None
        for method in (_npm_pack, _http_fetch):
            try:
                got = method(pin, Path(tmp))
                if got.exists():
                    break
                errors.append(f"{method.__name__}: no tarball produced")
            except Exception as exc:  # noqa: BLE001 -- try the next method, report all
                errors.append(f"{method.__name__}: {exc}")
            got = None
        if got is None:
            raise ExtensionError(
                f"could not fetch {pin.name}@{pin.version} from the npm registry: "
                + "; ".join(errors)
            )
        verify(pin, got)  # raises (and deletes) on mismatch: never used
        os.replace(got, cached)
    return cached


def _selected(pin: NpmPin, member: tarfile.TarInfo) -> str | None:
    """Path of ``member`` relative to package/ when it is a wanted regular file, else None."""
    parts = PurePosixPath(member.name).parts
    if not member.isfile() or len(parts) < 2 or parts[0] != "package":
        return None
    rel = PurePosixPath(*parts[1:])
    if rel.is_absolute() or ".." in rel.parts:
        return None
    for pattern in pin.include:
        if rel.match(pattern) and "*" in pattern and len(rel.parts) == len(PurePosixPath(pattern).parts):
            return str(rel)
        if str(rel) == pattern or str(rel).startswith(pattern.rstrip("/") + "/"):
            return str(rel)
    return None


def extract(pin: NpmPin, tarball: Path, static_root: Path) -> int:
    """Extract ``pin.include`` from ``tarball`` into ``static_root/npm/pin.dest``; return count."""
    target = static_root / VENDOR / pin.dest
    shutil.rmtree(target, ignore_errors=True)
    count = 0
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            rel = _selected(pin, member)
            if rel is None:
                continue
            out = target / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
            count += 1
    missing = [p for p in pin.include if "*" not in p and not (target / p).exists()]
    if missing:
        raise ExtensionError(f"{pin.name}@{pin.version}: tarball lacks {missing}")
    return count


def stage_python_file(pin: PythonPackagePin, static_root: Path) -> Path:
    """Copy ``pin.path`` of the installed package to ``static_root/npm/pin.dest`` after checking its
    version and sha512; raise AssetIntegrityError (nothing copied) on any mismatch."""
    from importlib import metadata, util

    try:
        installed = metadata.version(pin.package)
    except metadata.PackageNotFoundError as err:
        raise ExtensionError(f"{pin.package}=={pin.version} is not installed (pip install -r requirements.txt)") from err
    if installed != pin.version:
        raise AssetIntegrityError(f"{pin.package} {installed} is installed, the site pins {pin.version}: install the "
                                  "pinned version (requirements.txt) or move the pin in _ext/offline_assets.py")
    spec = util.find_spec(pin.package)
    source = Path(spec.origin).parent / pin.path
    data = source.read_bytes()
    if sri_sha512(data) != pin.integrity:
        raise AssetIntegrityError(f"{source} has integrity {sri_sha512(data)}, expected {pin.integrity}: the installed "
                                  f"{pin.package} {pin.version} is not the released file; reinstall it")
    target = static_root / VENDOR / pin.dest
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    for file in metadata.distribution(pin.package).files or ():
        if file.name.startswith("LICENSE"):  # MIT: its licence travels with the file
            shutil.copyfile(file.locate(), target.parent / file.name)
    return target


def setup_assets(app: Sphinx, config: Config) -> None:
    """config-inited: fetch, verify and stage the assets; point the page scripts at them."""
    static_root = Path(app.doctreedir).parent / "offline_assets"
    cache = cache_dir()
    for pin in PINS:
        n = extract(pin, fetch(pin, cache), static_root)
        logger.info(f"[offline_assets] {pin.name}@{pin.version}: {n} files (integrity verified)")
    logger.info(f"[offline_assets] {apply_patches(static_root)} vendor patch(es) applied")
    for pin in PYTHON_PINS:
        stage_python_file(pin, static_root)
        logger.info(f"[offline_assets] {pin.package} {pin.version}: {pin.path} (integrity verified)")
    shutil.copyfile(SETUP_JS, static_root / VENDOR / SETUP_JS.name)
    # Sphinx copies static files only when it writes some page, and then does not replace a file
    # already in the output folder: put the verified files there now, so that a copy an earlier build
    # left (another version, an unpatched or damaged file) is never served.
    served = Path(app.outdir) / "_static" / VENDOR
    shutil.rmtree(served, ignore_errors=True)
    shutil.copytree(static_root / VENDOR, served)
    config.html_static_path = list(config.html_static_path) + [str(static_root)]
    config.mathjax_path = MATHJAX_PATH
    config.nb_ipywidgets_js = dict(IPYWIDGETS_JS)


def dedupe_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """html-page-context: drop repeated inline scripts from a page.

    sphinx-thebe (loaded by Jupyter Book) registers its inline ``const THEBE_JS_URL = ...``
    configuration twice under Sphinx 7.4 (once with filename ``None``, once with ``''``), which
    makes every page throw "Identifier 'THEBE_JS_URL' has already been declared".
    """
    files = context.get("script_files")
    if not isinstance(files, list):
        return
    seen, keep = set(), []
    for js in files:
        attrs = getattr(js, "attributes", None) or {}
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted(attrs.items())))
        if key not in seen:
            seen.add(key)
            keep.append(js)
    files[:] = keep


def setup(app: Sphinx) -> dict:
    # priority < 500 so that it runs before myst-nb reads nb_ipywidgets_js at builder-inited
    app.connect("config-inited", setup_assets, priority=400)
    # late, after myst-nb and the theme have added their per-page scripts
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
