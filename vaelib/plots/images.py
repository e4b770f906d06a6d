"""Figures of MNIST digits: a grid of images and originals above their reconstructions.

Images are float arrays in [0, 1] of shape ``(n, 784)`` or ``(n, 28, 28)``; they are tiled
into one picture per row of the figure (fast, and the digits line up exactly), drawn dark on
white by default. Every function returns the Matplotlib figure it drew.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from vaelib._runtime.validation import check_images, check_int

__all__ = ["tile_images", "image_grid", "reconstruction_comparison"]

SIDE = 28


def tile_images(images, n_cols: int, *, padding: int = 2, fill: float = 0.0) -> np.ndarray:
    """Arrange images in rows of ``n_cols`` as one 2-D array, ``padding`` pixels of ``fill`` apart.

    The last row is completed with ``fill`` when ``n_cols`` does not divide the number of
    images. Returns an array of shape ``(rows * (28 + padding) - padding, n_cols * (28 + padding) - padding)``.
    """
    images = check_images(images).reshape(-1, SIDE, SIDE)
    n_cols = check_int("n_cols", n_cols, minimum=1)
    padding = check_int("padding", padding, minimum=0)
    n_cols = min(n_cols, len(images))
    n_rows = -(-len(images) // n_cols)
    step = SIDE + padding
    canvas = np.full((n_rows * step - padding, n_cols * step - padding), fill, dtype=np.float32)
    for k, image in enumerate(images):
        row, col = divmod(k, n_cols)
        canvas[row * step:row * step + SIDE, col * step:col * step + SIDE] = image
    return canvas


def _draw(ax, canvas: np.ndarray, cmap: str) -> None:
    ax.imshow(canvas, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def image_grid(images, n_cols: int = 10, title: str | None = None, *, labels=None, cmap: str = "gray_r",
               ax=None, scale: float = 0.6):
    """Draw images in a grid of ``n_cols`` columns, optionally with a caption above each.

    Parameters
    ----------
    images : float array in [0, 1], shape (n, 784) or (n, 28, 28)
    n_cols : images per row
    title : figure title
    labels : optional sequence of n captions (e.g. digit classes or values), one per image
    cmap : Matplotlib colour map ("gray_r": dark digits on white)
    ax : draw into this Axes instead of a new figure
    scale : inches per image when a new figure is made
    """
    images = check_images(images)
    n_cols = min(check_int("n_cols", n_cols, minimum=1), len(images))
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(images):
            raise ValueError(f"labels must have one entry per image ({len(images)}), got {len(labels)}")
    n_rows = -(-len(images) // n_cols)
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(2.0, scale * n_cols), max(1.0, scale * n_rows * (1.25 if labels else 1.0))
                                        + (0.4 if title else 0.0)))
    elif not isinstance(ax, plt.Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    else:
        fig = ax.figure
    padding = 8 if labels is not None else 2
    _draw(ax, tile_images(images, n_cols, padding=padding), cmap)
    if labels is not None:
        step = SIDE + padding
        for k, label in enumerate(labels):
            row, col = divmod(k, n_cols)
            ax.text(col * step + SIDE / 2, row * step - 0.5, str(label), ha="center", va="bottom", fontsize=8)
        ax.set_ylim(n_rows * step - padding - 0.5, -padding)
    if title:
        ax.set_title(title)
    return fig


def reconstruction_comparison(originals, reconstructions, *, title: str | None = None,
                              original_label: str = "original", cmap: str = "gray_r", scale: float = 0.6):
    """Originals in the top row, each model's reconstructions of them in the rows below.

    Parameters
    ----------
    originals : float array in [0, 1], shape (n, 784) or (n, 28, 28)
    reconstructions : an array of the same shape, or a mapping from a row label (e.g. the model's
        name) to such an array; rows are drawn in the mapping's order
    title : figure title
    original_label : label of the top row
    """
    originals = check_images(originals, name="originals")
    if not isinstance(reconstructions, Mapping):
        reconstructions = {"reconstruction": reconstructions}
    if not reconstructions:
        raise ValueError("reconstructions must hold at least one array of reconstructed images")
    rows = {original_label: originals}
    for label, images in reconstructions.items():
        images = check_images(images, name=f"reconstructions[{label!r}]")
        if images.shape != originals.shape:
            raise ValueError(f"reconstructions[{label!r}] has shape {images.shape}, originals have {originals.shape}")
        rows[str(label)] = images
    n = len(originals)
    fig, axes = plt.subplots(len(rows), 1, figsize=(max(2.5, scale * n + 1.2), scale * len(rows) + (0.4 if title else 0.1)),
                             squeeze=False)
    for ax, (label, images) in zip(axes[:, 0], rows.items()):
        _draw(ax, tile_images(images, n), cmap)
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    return fig
