"""The report's panel of several VAEs at one moment of training (its figures 5-9).

One column per model (e.g. per beta, or per beta and epoch); three rows: the latent codes of
the test digits, reconstructions of a fixed set of test digits, and decodings of the same
draws from the prior N(0, I). Built on :mod:`vaelib.plots.latent` and :mod:`vaelib.plots.images`.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from vaelib._runtime.validation import check_images, check_int, check_real
from vaelib.plots.images import image_grid
from vaelib.plots.latent import DIGIT_COLOURS, latent_scatter

__all__ = ["model_panel"]

ROW_LABELS = ("latent codes of test digits", "reconstructions", "decoded prior draws $z \\sim N(0, I)$")


def _mapping(name: str, value) -> dict:
    if not isinstance(value, Mapping) or not value:
        raise TypeError(f"{name} must be a non-empty mapping from a column title to an array, got {type(value).__name__}")
    return dict(value)


def model_panel(codes, labels, reconstructions, prior_samples, *, originals=None, n_cols_images: int | None = None,
                limit: float | None = None, prior_circle: float | None = 2.0, suptitle: str | None = None,
                column_width: float = 3.0) -> Figure:
    """Latent scatter, reconstructions and prior samples of several models, one column each.

    Parameters
    ----------
    codes : mapping column title -> latent codes (n, 2) of the test digits
    labels : digit labels (n,) of those test digits (the scatter's colours)
    reconstructions : mapping column title -> reconstructions (m, 784) of the same m test digits
    prior_samples : mapping column title -> decodings (p, 784) of the same p prior draws
    originals : optional (m, 784) test digits that were reconstructed, drawn in an extra first column
    n_cols_images : images per row in each image grid (default: the square root of m, rounded up)
    limit : fix every scatter's axes to [-limit, limit] (default: each column its own range)
    prior_circle : radius of a dashed circle drawn on each scatter (2 encloses 86 % of N(0, I)); None for none
    suptitle : figure title
    column_width : inches per column

    The three mappings must have the same keys, in the order of the columns.
    """
    codes = _mapping("codes", codes)
    reconstructions = _mapping("reconstructions", reconstructions)
    prior_samples = _mapping("prior_samples", prior_samples)
    if not (list(codes) == list(reconstructions) == list(prior_samples)):
        raise ValueError("codes, reconstructions and prior_samples must have the same column titles in the same "
                         f"order, got {list(codes)}, {list(reconstructions)} and {list(prior_samples)}")
    recon = {k: check_images(v, name=f"reconstructions[{k!r}]") for k, v in reconstructions.items()}
    prior = {k: check_images(v, name=f"prior_samples[{k!r}]") for k, v in prior_samples.items()}
    n_recon = {len(v) for v in recon.values()}
    if len(n_recon) != 1:
        raise ValueError(f"every column must reconstruct the same number of digits, got {sorted(n_recon)}")
    m = n_recon.pop()
    if originals is not None:
        originals = check_images(originals, name="originals")
        if len(originals) != m:
            raise ValueError(f"originals must hold the {m} reconstructed digits, got {len(originals)}")
    n_cols_images = (int(np.ceil(np.sqrt(m))) if n_cols_images is None
                     else check_int("n_cols_images", n_cols_images, minimum=1))
    if limit is not None:
        limit = check_real("limit", limit, minimum=0.0, inclusive_minimum=False)
    if prior_circle is not None:
        prior_circle = check_real("prior_circle", prior_circle, minimum=0.0, inclusive_minimum=False)

    extra = originals is not None
    n_cols = len(codes) + extra
    fig, axes = plt.subplots(3, n_cols, figsize=(column_width * n_cols + 0.9, 3 * column_width + 0.6), squeeze=False,
                             gridspec_kw={"height_ratios": (1.15, 1.0, 1.0)})
    if extra:
        axes[0, 0].set_visible(False)
        axes[2, 0].set_visible(False)
        image_grid(originals, n_cols_images, "test digits (originals)", ax=axes[1, 0])
    for col, title in enumerate(codes, start=int(extra)):
        ax = axes[0, col]
        latent_scatter(codes[title], labels, ax=ax, title=title, limit=limit, legend=False)
        if prior_circle is not None:
            ax.add_patch(Circle((0.0, 0.0), prior_circle, fill=False, linestyle="--", linewidth=1.0, color="black"))
        image_grid(recon[title], n_cols_images, f"reconstructions, {title}", ax=axes[1, col])
        image_grid(prior[title], n_cols_images, f"prior samples, {title}", ax=axes[2, col])
    mappable = plt.cm.ScalarMappable(cmap=DIGIT_COLOURS, norm=plt.Normalize(-0.5, 9.5))
    fig.colorbar(mappable, ax=axes[0, :].tolist(), ticks=range(10), fraction=0.02, pad=0.01, label="digit")
    if suptitle:
        fig.suptitle(suptitle)
    return fig
