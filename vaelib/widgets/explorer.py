"""The beta explorer: PNG views of VAEs with several betas at several epochs, rendered beforehand
and switched by sliders, in the kernel and (linked in the page, no kernel) in the static HTML book.

Each view is kept as NumPy arrays too (:class:`SnapshotView`), so tests compare it with the model.
"""


from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import PIL
from PIL import Image as PILImage

from vaelib._runtime import cache
from vaelib._runtime.validation import check_choice, check_images, check_int, check_labels, check_real, check_seed
from vaelib.measures import latent_space
from vaelib.models.networks import check_vae, encode_mean
from vaelib.plots.images import image_grid
from vaelib.plots.latent import latent_scatter

BETA_EXPLORER_BETAS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 50.0, 200.0, 500.0)
VIEW_DPI = 64


def figure_png(fig, *, dpi: int = VIEW_DPI, colours: int = 64) -> bytes:
    """The figure as PNG bytes with at most ``colours`` palette colours (small to embed); closes it."""
    dpi = check_int("dpi", dpi, minimum=10, maximum=600)
    colours = check_int("colours", colours, minimum=2, maximum=256)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    plt.close(fig)
    image = PILImage.open(buffer).convert("RGB").quantize(colors=colours, method=PILImage.Quantize.FASTOCTREE)
    out = io.BytesIO()
    image.save(out, format="png", optimize=True)
    return out.getvalue()


def digit_png(image, *, scale: int = 4) -> bytes:
    """One 28 x 28 image in [0, 1] as a grey PNG, dark on white, each pixel ``scale`` x ``scale``."""
    image = check_images(np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0).reshape(1, 784), name="image")
    scale = check_int("scale", scale, minimum=1, maximum=32)
    grey = np.round(255 * (1.0 - image.reshape(28, 28))).astype(np.uint8)
    out = io.BytesIO()
    PILImage.fromarray(np.kron(grey, np.ones((scale, scale), dtype=np.uint8))).save(out, format="png")
    return out.getvalue()


def _decode(model, z) -> np.ndarray:
    return np.asarray(model.decode(np.asarray(z, dtype=np.float32)), dtype=np.float64)


# --- the beta explorer --------------------------------------------------------------------------

@dataclass(frozen=True)
class SnapshotView:
    """What the explorer shows of one model at one epoch: codes, reconstructions, prior samples."""

    z: np.ndarray
    reconstructions: np.ndarray
    prior_images: np.ndarray


def snapshot_view(model, x_scatter, x_shown, z_prior, *, seed: int = 0) -> SnapshotView:
    """One draw z ~ q(z|x) (eq. 2) per image of ``x_scatter``, decodings of ``x_shown`` at z = mu and of ``z_prior``."""
    x_shown = check_images(x_shown, name="x_shown")
    check_vae(model, latent="gaussian")
    mu, log_var = encode_mean(model, x_scatter)
    rng = np.random.default_rng(check_seed(seed))
    z = mu + np.exp(0.5 * log_var) * rng.standard_normal(mu.shape)
    recon = np.clip(_decode(model, encode_mean(model, x_shown)[0]), 0.0, 1.0)
    return SnapshotView(z, recon, np.clip(_decode(model, latent_space.check_codes(z_prior, name="z_prior", dim=2)), 0, 1))


def _check_results(results) -> None:
    if not isinstance(results, Mapping) or not results:
        raise TypeError(f"results must be a non-empty mapping beta -> TrainResult, got {type(results).__name__}")


def explorer_views(results, x_scatter, x_shown, z_prior, *, seed: int = 0) -> dict:
    """Views of every snapshot epoch that all ``results`` (mapping beta -> TrainResult) share.

    Returns a dict ``(beta, epoch) -> SnapshotView``. Models with fewer snapshots (a short smoke run)
    simply give fewer epochs.
    """
    _check_results(results)
    epochs = sorted(set.intersection(*(set(r.snapshots) for r in results.values())))
    views = {}
    for beta, result in sorted(results.items()):
        model = result.model(epochs[0])  # one network per beta, its weights swapped per snapshot (saves memory)
        for epoch in epochs:
            model.set_weights(result.snapshots[epoch])
            views[float(beta), epoch] = snapshot_view(model, x_scatter, x_shown, z_prior, seed=seed)
    return views


def view_figure(view: SnapshotView, labels, originals, *, title: str = "") -> plt.Figure:
    """Latent codes (with the prior's radius-2 circle), test digits over their reconstructions, prior samples."""
    originals = check_images(originals, name="originals")
    if len(originals) != len(view.reconstructions):
        raise ValueError(f"originals must hold {len(view.reconstructions)} images (one per reconstruction), "
                         f"got {len(originals)}")
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(10.5, 3.6), width_ratios=[1.4, 1.0, 1.0])
    latent_scatter(view.z, labels, ax=left, title="codes z ~ q(z|x) of test digits", point_size=3)
    left.add_patch(plt.Circle((0, 0), 2.0, fill=False, linestyle="--", color="black", linewidth=1))
    n_cols = -(-len(originals) // 2)  # originals in the top half of the grid, reconstructions below
    pairs = np.concatenate([originals, view.reconstructions]).astype(np.float32)
    image_grid(pairs, n_cols=n_cols, ax=middle, title="digits (top), reconstructions")
    image_grid(view.prior_images.astype(np.float32), n_cols=int(np.ceil(np.sqrt(len(view.prior_images)))),
               ax=right, title="decoded draws z ~ N(0, I)")
    if title:
        fig.suptitle(title)
    return fig


def render_views(views: Mapping, labels, originals, *, dpi: int = VIEW_DPI) -> dict:
    """PNG bytes of :func:`view_figure` for every ``(beta, epoch)`` of ``views``."""
    return {(b, e): figure_png(view_figure(v, labels, originals, title=f"β = {b:g}, after epoch {e}"), dpi=dpi)
            for (b, e), v in views.items()}


def style_digest() -> str:
    """sha256 of every matplotlib rcParam that can change a saved figure (not the backend's), so a
    cached view is rendered again when the book's style, or a reader's, changes."""
    ignored = ("backend", "backend_fallback", "interactive")
    settings = sorted((name, repr(value)) for name, value in matplotlib.rcParams.items() if name not in ignored)
    return hashlib.sha256(repr(settings).encode()).hexdigest()


def explorer_pngs(results, x_scatter, labels, x_shown, z_prior, *, seed: int = 0, dpi: int = VIEW_DPI,
                  use_cache: bool = True, cache_dir=None) -> dict:
    """:func:`render_views` of :func:`explorer_views`, through the on-disk cache (:func:`vaelib._runtime.cache.cached`).

    The key covers every snapshot's weights, the images, labels and prior draws, ``seed``, ``dpi``, the
    rcParams (:func:`style_digest`), the matplotlib and Pillow versions and vaelib's source, so a
    chapter run again reads the PNGs instead of drawing them again. ``use_cache=False`` renders
    without the cache. Returns a dict ``(beta, epoch) -> PNG bytes``.
    """
    _check_results(results)
    seed, dpi = check_seed(seed), check_int("dpi", dpi, minimum=10, maximum=600)
    x_scatter, x_shown = check_images(x_scatter, name="x_scatter"), check_images(x_shown, name="x_shown")
    labels = check_labels(labels, len(x_scatter), name="labels")
    z_prior = latent_space.check_codes(z_prior, name="z_prior", dim=2)
    ordered = sorted((float(b), r) for b, r in results.items())
    weights = [w for _, r in ordered for e in sorted(r.snapshots) for w in r.snapshots[e]]
    config = {"models": {f"{b:g}": r.config.as_dict() for b, r in ordered}, "seed": seed, "dpi": dpi,
              "style": style_digest(), "matplotlib": matplotlib.__version__, "pillow": PIL.__version__}
    key = cache.entry_key("explorer_pngs", config, cache.data_digest(x_scatter, labels, x_shown, z_prior, *weights),
                          cache.package_source_digest())

    def render() -> dict:
        return render_views(explorer_views(results, x_scatter, x_shown, z_prior, seed=seed), labels, x_shown, dpi=dpi)

    def encode(pngs: Mapping) -> tuple[dict, dict]:
        views = sorted(pngs)
        arrays = {"pngs": {str(i): np.frombuffer(pngs[v], dtype=np.uint8) for i, v in enumerate(views)}}
        return arrays, {"views": [[float(b), int(e)] for b, e in views]}

    def decode(arrays: Mapping, metadata: Mapping) -> dict:
        return {(float(b), int(e)): arrays["pngs"][str(i)].tobytes() for i, (b, e) in enumerate(metadata["views"])}

    pngs, _ = cache.cached(key, render, encode=encode, decode=decode, use_cache=use_cache, cache_dir=cache_dir,
                           then="rendering again")
    return pngs


class BetaExplorer(widgets.VBox):
    """A β slider and an epoch slider over PNG views rendered beforehand, one per (β, epoch).

    ``static=True``: one :class:`ipywidgets.Stack` of images per epoch inside a Stack over epochs, their
    ``selected_index`` linked to the sliders in the browser (``jslink``): works in static HTML.
    ``static=False``: one image whose bytes are swapped by a Python callback (needs a kernel).
    """

    def __init__(self, pngs: Mapping, *, static: bool = True, beta=None, epoch=None):
        if not isinstance(pngs, Mapping) or not pngs:
            raise TypeError(f"pngs must be a non-empty mapping (beta, epoch) -> PNG bytes, got {type(pngs).__name__}")
        self.betas = sorted({float(b) for b, _ in pngs})
        self.epochs = sorted({int(e) for _, e in pngs})
        missing = [(b, e) for b in self.betas for e in self.epochs if (b, e) not in pngs]
        if missing:
            raise ValueError(f"pngs must hold a view for every (beta, epoch) pair; missing {missing}")
        self.pngs = {(float(b), int(e)): bytes(v) for (b, e), v in pngs.items()}
        self.static = bool(static)
        self.beta_slider = widgets.SelectionSlider(options=[(f"{b:g}", b) for b in self.betas], description="β",
                                                   continuous_update=True)
        self.epoch_slider = widgets.SelectionSlider(options=[(str(e), e) for e in self.epochs], description="epoch")
        self.beta_slider.add_class("vaelib-beta-slider")
        self.epoch_slider.add_class("vaelib-epoch-slider")
        self.view = self._static_view() if self.static else self._live_view()
        for slider in (self.beta_slider, self.epoch_slider):
            slider.observe(self._update, names="index")
        super().__init__([widgets.HBox([self.beta_slider, self.epoch_slider]), self.view])
        self.add_class("vaelib-beta-explorer")
        self.select(self.betas[0] if beta is None else beta, self.epochs[-1] if epoch is None else epoch)

    def _image(self, png: bytes) -> widgets.Image:
        image = widgets.Image(value=png, format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        image.add_class("vaelib-beta-view")
        return image

    def _static_view(self) -> widgets.Stack:
        self.stacks = [widgets.Stack([self._image(self.pngs[b, e]) for b in self.betas], selected_index=0)
                       for e in self.epochs]
        self.links = [widgets.jslink((self.beta_slider, "index"), (stack, "selected_index")) for stack in self.stacks]
        outer = widgets.Stack(self.stacks, selected_index=0)
        self.links.append(widgets.jslink((self.epoch_slider, "index"), (outer, "selected_index")))
        return outer

    def _live_view(self) -> widgets.Image:
        self.links = []
        return self._image(self.pngs[self.betas[0], self.epochs[0]])

    def _update(self, _change=None) -> None:
        # the kernel-side mirror of the jslinks (static) or the swap of the image's bytes (live)
        i, j = self.beta_slider.index, self.epoch_slider.index
        if self.static:
            for stack in self.stacks:
                stack.selected_index = i
            self.view.selected_index = j
        else:
            self.view.value = self.pngs[self.betas[i], self.epochs[j]]

    def select(self, beta, epoch) -> None:
        """Move the sliders to ``beta`` and ``epoch`` (each must be one of the explorer's values)."""
        beta = check_choice("beta", check_real("beta", beta), self.betas)
        epoch = check_choice("epoch", check_int("epoch", epoch, minimum=0), self.epochs)
        self.beta_slider.value, self.epoch_slider.value = beta, epoch
        self._update()

    def __repr__(self) -> str:  # short and stable: the stored notebook's text/plain output
        return f"BetaExplorer(betas={[f'{b:g}' for b in self.betas]}, epochs={self.epochs}, static={self.static})"

    @property
    def displayed(self) -> bytes:
        """The PNG bytes of the image that is shown now."""
        if not self.static:
            return bytes(self.view.value)
        return bytes(self.view.children[self.view.selected_index].children[self.stacks[0].selected_index].value)


def beta_explorer(pngs: Mapping, *, static: bool = True, beta=None, epoch=None) -> BetaExplorer:
    """A :class:`BetaExplorer` over ``pngs`` (from :func:`render_views`)."""
    return BetaExplorer(pngs, static=static, beta=beta, epoch=epoch)
