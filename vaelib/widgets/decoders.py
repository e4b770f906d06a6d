"""Widgets that decode in the reader's browser: a latent navigator and a reconstruction sampler.

The decoder's weights travel in the widget state (:class:`DecoderWeights`, rounded to float16 to
keep each page within its 2 MB: see :data:`FLOAT16_TOLERANCE`) and one ES module,
``vaelib/widgets/static/decoder_widget.js``, decodes with them: in the static HTML book with no kernel
and, with the same code, in JupyterLab. Each widget keeps what it shows as NumPy arrays (``decoded``,
``draws``...), so tests compare it with the model.
"""


from __future__ import annotations

import hashlib
import weakref
import zlib
from collections.abc import Mapping
from pathlib import Path

import anywidget
import ipywidgets as widgets
import keras
import numpy as np
import traitlets

from vaelib._runtime.validation import check_choice, check_images, check_int, check_labels, check_real, check_seed
from vaelib.measures import latent_space
from vaelib.models.networks import check_vae, encode_mean

# --- decoding in the reader's browser ---------------------------------------------------------------
#
# The navigator and the sampler decode in the page, in JavaScript (vaelib/widgets/static/decoder_widget.js),
# from the decoder's weights stored in the widget state, so they work in the static HTML book with no
# kernel and, through the same code, in JupyterLab. They are anywidget widgets (a maintained framework:
# the front end is one ES module handed to the page in the `_esm` trait, with no build step and no
# bundle of our own to version). In the static page the ipywidgets HTML manager loads a custom widget's
# module with RequireJS from a CDN; the book serves anywidget's own AMD front end (the `nbextension/index.js`
# of the pinned anywidget wheel, sha512-checked by _ext/offline_assets.py) and maps the module name
# "anywidget" to that local copy (_ext/static/widgets_offline.js), so nothing is fetched from outside the
# site. anywidget's npm package cannot serve here: it is an ES module, which RequireJS cannot load.

DECODER_JS = Path(__file__).resolve().parent / "static" / "decoder_widget.js"
WIDGET_CSS = """
.vaelib-decoder-widget { background: white; color: black; padding: 4px; font-size: 14px; }
.vaelib-decoder-widget canvas { image-rendering: pixelated; }
.vaelib-navigator-row, .vaelib-sampler-row { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; }
.vaelib-plane { width: 340px; height: 340px; cursor: crosshair; touch-action: none; border: 1px solid #888; }
.vaelib-plane:focus { outline: 2px solid #1f77b4; }
.vaelib-digit { width: 168px; height: 168px; border: 1px solid #888; }
.vaelib-spread { margin: 0; } .vaelib-spread-map { width: 140px; height: 140px; }
.vaelib-spread figcaption, .vaelib-navigator-hint { font-size: 12px; color: #444; }
.vaelib-navigator-bar, .vaelib-sampler-bar { margin-bottom: 6px; display: flex; gap: 12px; align-items: center; }
.vaelib-digit-legend { font-size: 12px; margin-top: 4px; }
.vaelib-digit-legend i { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 9px; }
.vaelib-widget-error { color: #b00; }
"""


# The weights a page holds, rounded to float16. Stored losslessly (float32, byte-shuffled, zlib: 0.79 MB a
# decoder, within 1 % of the entropy of its bytes, as lzma does) they are 1.06 MB a decoder once in
# base64, and a page with two models grew by 2.16 MB, over its 2 MB; the mantissa bytes of trained
# weights are incompressible, so no lossless coding gets under it. In float16 a decoder takes 0.41 MB
# (0.54 MB in base64). Accuracy: the page's pixels equal Keras's run with the same float16-rounded
# weights (rounded_decoder) within 1e-5, and Keras's float32 model within FLOAT16_TOLERANCE over the
# whole plane each navigator shows: measured 2026-12-07 over 20,000 random z per model of the book,
# largest |difference| 9.2e-3 for the autoencoder (plane half-width 87.5), 5.4e-3 for beta = 0 (56),
# 1.7e-3 for beta = 1 and 4.7e-4 for beta = 5 (3.0); at most 3 of the 255 grey levels a digit is
# drawn with, which a reader does not see. The difference grows with |z| (the logits' round-off does),
# so the tolerance leaves a factor of 2 for planes wider than the book's: tests/test_decoder_widget.py
# checks it on 100 random z per model over planes set from the test digits' mean codes (up to 98).
FLOAT16_TOLERANCE = 2e-2
_FLOAT16_MAX = float(np.finfo(np.float16).max)


def rounded_weights(arrays) -> list[np.ndarray]:
    """The arrays rounded to the nearest float16 (ties to even), returned as float32: the weights the page
    decodes with. Raises ValueError for a value float16 cannot hold (beyond +-65504, or not finite)."""
    arrays = [np.asarray(a, dtype=np.float32) for a in arrays]
    for a in arrays:
        if a.size and not (np.all(np.isfinite(a)) and np.max(np.abs(a)) <= _FLOAT16_MAX):
            raise ValueError(f"weights must be finite and within +-{_FLOAT16_MAX:g} to be stored as float16, "
                             f"got an array with largest |value| {np.max(np.abs(a)):g}")
    return [a.astype(np.float16).astype(np.float32) for a in arrays]


def pack_floats(arrays) -> bytes:
    """The arrays rounded to float16 (:func:`rounded_weights`) as one zlib stream of their little-endian
    bytes, byte-shuffled (the low byte of every value, then the high byte, which holds the sign and
    exponent and compresses well): 0.43 of the float32 bytes for trained weights, which a page holds as
    base64. The browser reverses it (``unpackFloats`` in decoder_widget.js)."""
    halves = [a.astype("<f2").reshape(-1) for a in rounded_weights(arrays)]
    raw = np.concatenate(halves or [np.zeros(0, "<f2")]).view(np.uint8)
    return zlib.compress(raw.reshape(-1, 2).T.tobytes(), 9)


def unpack_floats(packed: bytes) -> np.ndarray:
    """The float16 values :func:`pack_floats` packed, as float32 (one flat array)."""
    planes = np.frombuffer(zlib.decompress(packed), dtype=np.uint8)
    if len(planes) % 2:
        raise ValueError(f"packed floats must hold a multiple of 2 bytes (float16), got {len(planes)}")
    return planes.reshape(2, -1).T.copy().view("<f2").reshape(-1).astype(np.float32)


def _decoder_arrays(model) -> list[np.ndarray]:
    decoder = getattr(model, "decoder", None)
    if decoder is None or not hasattr(model, "decode"):
        raise TypeError(f"model must be a vaelib Autoencoder or VAE (with a decoder), got {type(model).__name__}")
    weights = [np.asarray(w, dtype=np.float32) for w in decoder.get_weights()]
    shapes = [w.shape for w in weights]
    dense = (len(weights) >= 4 and len(weights) % 2 == 0
             and all(len(k) == 2 and b == (k[1],) for k, b in zip(shapes[::2], shapes[1::2]))
             and all(a[1] == b[0] for a, b in zip(shapes[::2], shapes[2::2])))
    if not dense or shapes[0][0] != 2:
        raise ValueError(f"the browser decodes dense decoders of a 2-D code only; this decoder's weights have shapes {shapes}")
    return weights


def decode_dense(weights, z) -> np.ndarray:
    """The decoder's pixel means for codes ``z`` (n, 2) as the page computes them from ``weights`` (the
    page's are :func:`rounded_weights`): float64 sums, ReLU hidden layers, a sigmoid on the last (as
    ``model.decode`` does)."""
    h = latent_space.check_codes(z, name="z", dim=2)
    kernels, biases = weights[::2], weights[1::2]
    for i, (kernel, bias) in enumerate(zip(kernels, biases)):
        h = h @ kernel.astype(np.float64) + bias.astype(np.float64)
        h = np.maximum(h, 0.0) if i < len(kernels) - 1 else 1.0 / (1.0 + np.exp(-h))
    return h


def rounded_decoder(model):
    """A Keras copy of ``model``'s decoder holding the weights the page decodes with (:func:`rounded_weights`):
    sigmoid of its output is what the page shows, within 1e-5 (for checks; ``model`` is not changed)."""
    copy = keras.models.clone_model(model.decoder)
    copy.set_weights(rounded_weights(_decoder_arrays(model)))
    return copy


class DecoderWeights(widgets.Widget):
    """A decoder's weights in the widget state (no view of its own); the widgets of a page that decode
    with the same model refer to one of these, so the page holds the weights once.

    ``weights``: :func:`pack_floats` of the kernels and biases in Keras's order (rounded to float16);
    ``shapes``: their shapes; ``arrays``: the rounded weights, as float32, that the page decodes with.
    """

    weights = traitlets.Bytes().tag(sync=True)
    shapes = traitlets.List(traitlets.List(traitlets.Int())).tag(sync=True)
    encoding = traitlets.Unicode("float16 little-endian, byte-shuffled, zlib").tag(sync=True)

    def __init__(self, arrays, **kwargs):
        arrays = rounded_weights(arrays)
        super().__init__(weights=pack_floats(arrays), shapes=[list(a.shape) for a in arrays], **kwargs)
        self.arrays = arrays

    def decode(self, z) -> np.ndarray:
        """:func:`decode_dense` with these (float16-rounded) weights: the pixels the page shows."""
        return decode_dense(self.arrays, z)

    def __repr__(self) -> str:
        return f"DecoderWeights(shapes={self.shapes})"


_SHARED: "weakref.WeakValueDictionary[str, DecoderWeights]" = weakref.WeakValueDictionary()


def decoder_weights(model) -> DecoderWeights:
    """The :class:`DecoderWeights` of ``model``'s decoder; one per distinct set of weights while it is alive."""
    arrays = _decoder_arrays(model)
    digest = hashlib.sha256(b"".join(a.tobytes() for a in arrays) + repr([a.shape for a in arrays]).encode()).hexdigest()
    holder = _SHARED.get(digest)
    if holder is None or holder.comm is None:  # none yet, or closed
        holder = _SHARED[digest] = DecoderWeights(arrays)
    return holder


class _BrowserDecoding(anywidget.AnyWidget):
    _esm = DECODER_JS.read_text(encoding="utf-8")
    _css = WIDGET_CSS
    kind = traitlets.Unicode().tag(sync=True)


def _range(codes) -> float:
    # a half-width holding 99.5 % of the codes' coordinates, rounded up to 0.5, at least 3
    return max(3.0, float(np.ceil(2 * np.quantile(np.abs(codes), 0.995))) / 2)


def _as_choices(models, codes) -> tuple[dict, dict]:
    if isinstance(models, Mapping) != isinstance(codes, Mapping):
        raise TypeError("models and z_test must both be mappings (label -> model / codes) or both single objects")
    if not isinstance(models, Mapping):
        models, codes = {"model": models}, {"model": codes}
    if not models or list(models) != list(codes):
        raise ValueError(f"models and z_test must have the same labels, got {list(models)} and {list(codes)}")
    return dict(models), {k: latent_space.check_codes(v, name=f"z_test[{k!r}]", dim=2) for k, v in codes.items()}


class LatentNavigator(_BrowserDecoding):
    """The latent plane of one or more models; the reader picks z on it and sees the decoder's image of z.

    The plane shows the prior N(0, I)'s density (grey), its radius-2 circle (dashed) and the codes of test
    digits coloured by label; dragging on it (or the arrow keys) moves z, and the page decodes each point
    with the weights stored in the widget (no kernel). With several models a menu switches among them.
    ``limit``: the plane's half-width; None gives each model its own, enough for 99.5 % of its codes (at
    least 3). From Python: :meth:`move_to`, :meth:`select`, the ``z`` and ``selected`` traits.
    """

    choices = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.Unicode().tag(sync=True)
    z = traitlets.List(traitlets.Float(), minlen=2, maxlen=2, default_value=[0.0, 0.0]).tag(sync=True)
    limits = traitlets.List(traitlets.Float()).tag(sync=True)
    step = traitlets.Float(0.05).tag(sync=True)
    decoders = traitlets.List(traitlets.Instance(DecoderWeights)).tag(sync=True, **widgets.widget_serialization)
    codes = traitlets.List(traitlets.Bytes()).tag(sync=True)
    labels = traitlets.Bytes().tag(sync=True)

    def __init__(self, models, z_test, labels, *, limit: float | None = None, z=(0.0, 0.0), step: float = 0.05,
                 n_points: int = 2000):
        self.models, codes = _as_choices(models, z_test)
        n_points = check_int("n_points", n_points, minimum=1)
        n = min(len(c) for c in codes.values())
        label_array = check_labels(labels, len(next(iter(codes.values()))))
        if any(len(c) != len(label_array) for c in codes.values()):
            raise ValueError(f"every model's z_test must hold one code per label ({len(label_array)}), got "
                             f"{ {k: len(c) for k, c in codes.items()} }")
        if limit is not None:
            limit = check_real("limit", limit, minimum=0.0, inclusive_minimum=False)
        step = check_real("step", step, minimum=0.0, inclusive_minimum=False)
        self.code_arrays = {k: c[:n_points] for k, c in codes.items()}
        self.point_labels = label_array[:min(n, n_points)]
        holders = [decoder_weights(m) for m in self.models.values()]
        super().__init__(kind="navigator", choices=list(self.models), selected=next(iter(self.models)),
                         limits=[limit if limit is not None else _range(c) for c in codes.values()], step=step,
                         decoders=holders, codes=[c.astype("<f4").tobytes() for c in self.code_arrays.values()],
                         labels=self.point_labels.astype(np.uint8).tobytes())
        self.observe(self._clip, names="selected")
        self.move_to(*z)

    def __repr__(self) -> str:  # short and stable: the stored notebook's text/plain output
        return f"LatentNavigator(models={list(self.models)})"

    @property
    def limits_by_model(self) -> dict:
        return dict(zip(self.choices, self.limits))

    @property
    def limit(self) -> float:
        """Half-width of the plane of the model shown."""
        return self.limits[self.choices.index(self.selected)]

    @property
    def point(self) -> np.ndarray:
        """The latent point z = (z1, z2) chosen, shape (2,)."""
        return np.array(self.z, dtype=np.float64)

    @property
    def decoded(self) -> np.ndarray:
        """The pixel means the page shows for ``point`` (784,), decoded as the page decodes them."""
        return self.decoders[self.choices.index(self.selected)].decode(self.point[None, :])[0]

    @traitlets.validate("z")
    def _valid_z(self, proposal):
        z, limit = proposal["value"], self.limit if self.choices else None
        if not all(np.isfinite(v) for v in z) or (limit is not None and max(abs(v) for v in z) > limit):
            raise traitlets.TraitError(f"z must be two finite numbers within [-{limit:g}, {limit:g}] (the plane of "
                                       f"{self.selected!r}), got {list(z)}")
        return z

    @traitlets.validate("selected")
    def _valid_selected(self, proposal):
        if self.choices and proposal["value"] not in self.choices:
            raise traitlets.TraitError(f"selected must be one of {self.choices}, got {proposal['value']!r}")
        return proposal["value"]

    def _clip(self, _change=None) -> None:
        # a narrower model's plane: the point moves to its edge (the page does the same)
        limit = self.limit
        self.z = [float(np.clip(v, -limit, limit)) for v in self.z]

    def move_to(self, z1, z2) -> None:
        """Move z to (z1, z2), each within [-limit, limit] of the model shown."""
        z1 = check_real("z1", z1, minimum=-self.limit, maximum=self.limit)
        z2 = check_real("z2", z2, minimum=-self.limit, maximum=self.limit)
        self.z = [z1, z2]

    def select(self, label) -> None:
        """Show the model named ``label``."""
        self.selected = check_choice("model", label, self.choices)


def latent_navigator(model, z_test, labels, **options) -> LatentNavigator:
    """Navigate the 2-D latent space of ``model`` (or of a mapping label -> model, with ``z_test`` a mapping too).

    ``z_test`` : codes (n, 2) of test digits, drawn coloured by ``labels``; ``options``: see :class:`LatentNavigator`.
    """
    return LatentNavigator(model, z_test, labels, **options)


# --- the reconstruction sampler -----------------------------------------------------------------

class ReconstructionSampler(_BrowserDecoding):
    """Encode one digit, decode ``n_draws`` draws z ~ q(z|x) (eq. 2); the button draws again.

    The encoder's mean and scale of every image are computed here, once, and stored with the widget with
    the images themselves; the page draws epsilon and decodes (z = mu + sigma * epsilon), so a press of
    *encode again* gives new draws with no kernel. It shows the digit, the decodings and their per-pixel
    standard deviation (the spread). From Python: :meth:`choose` and :meth:`resample` draw with the
    seeded generator; draws made in the page come back in the ``draw_codes`` trait.
    """

    n_images = traitlets.Int().tag(sync=True)
    n_draws = traitlets.Int().tag(sync=True)
    index = traitlets.Int(0).tag(sync=True)
    images = traitlets.Bytes().tag(sync=True)
    mu = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    sigma = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    draw_codes = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    decoder = traitlets.Instance(DecoderWeights).tag(sync=True, **widgets.widget_serialization)

    def __init__(self, model, images, *, n_draws: int = 15, seed: int = 0, index: int = 0):
        check_vae(model, latent="gaussian")
        self.model = model
        images = check_images(images)
        n_draws = check_int("n_draws", n_draws, minimum=2, maximum=200)
        self.rng = np.random.default_rng(check_seed(seed))
        mu, log_var = encode_mean(model, images)
        self.images_array = images
        super().__init__(kind="sampler", n_images=len(images), n_draws=n_draws,
                         images=np.round(255 * images).astype(np.uint8).tobytes(),
                         mu=mu.tolist(), sigma=np.exp(0.5 * log_var).tolist(), decoder=decoder_weights(model))
        self.choose(index)

    def __repr__(self) -> str:
        return f"ReconstructionSampler(n_images={self.n_images}, n_draws={self.n_draws})"

    def resample(self) -> None:
        """Draw ``n_draws`` new codes z ~ q(z|x) of the digit shown (what *encode again* does in the page)."""
        i = self.index
        eps = self.rng.standard_normal((self.n_draws, len(self.mu[i])))
        self.draw_codes = (np.asarray(self.mu[i]) + np.asarray(self.sigma[i]) * eps).tolist()

    def choose(self, index) -> None:
        """Show test digit ``index`` (0 .. number of images - 1) and draw again."""
        self.index = check_int("index", index, minimum=0, maximum=self.n_images - 1)
        self.resample()

    @property
    def draws(self) -> np.ndarray:
        """The codes drawn last (n_draws, 2), here or in the page (the ``draw_codes`` trait)."""
        return np.asarray(self.draw_codes, dtype=np.float64)

    @property
    def decoded(self) -> np.ndarray:
        """The decodings (n_draws, 784) of ``draws``, as the page computes them."""
        return self.decoder.decode(self.draws)

    @property
    def spread(self) -> dict:
        """:func:`vaelib.measures.latent_space.decoding_spread` of the decodings."""
        return latent_space.decoding_spread(self.decoded)

    @property
    def summary(self) -> str:
        """The sentence the page prints under the decodings."""
        s = self.spread
        return (f"mean per-pixel standard deviation across the {self.n_draws} decodings: "
                f"{s['mean_pixel_std']:.4f} (largest {s['max_pixel_std']:.4f})")


def reconstruction_sampler(model, images, **options) -> ReconstructionSampler:
    """A :class:`ReconstructionSampler` over ``images`` (n, 784) for a VAE ``model``."""
    return ReconstructionSampler(model, images, **options)
