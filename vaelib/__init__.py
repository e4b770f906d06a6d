"""vaelib: the library behind the executable book on the ELBO, VAEs and beta-VAEs.

What is where (each layer imports only the layers above it)::

    _runtime/   host pin, argument validation, the cache, batched model calls, memory release:
                what keeps the numbers reproducible and the kernels small (chapters never import it)
    data/       MNIST, loaded and verified once, then seen everywhere as pixels in [0, 1]
    maths/      pure mathematics: Gaussian KLs and latent families, the linear-Gaussian model,
                gradient estimators
    models/     the VAE and the autoencoder, their training (seeded, cached, with live progress),
                the report's settings, Algorithm 1
    measures/   what is measured on trained models: codes, classifier scores, travel, bounds
    claims/     the report's claims: rules and thresholds stated first, verdicts over seeds
    plots/      one function per kind of figure
    widgets/    the beta explorer and the decoders that run in the reader's browser

    parameters  a chapter's parameters: unknown names refused, values checked
    glue        the numbers the prose quotes, rounded and glued
    probe       the determinism probe (``python -m vaelib.probe``)

Importing vaelib first pins the CPU features that decide its numbers (:mod:`vaelib._runtime.host`), so
a seed gives the same bits on every x86-64 host; in a notebook kernel it also frees the memory of
the figures each cell drew (:func:`vaelib._runtime.memory.release_after_figure_cells`).
"""

from vaelib._runtime import host as _host
from vaelib._runtime import memory as _memory

_host.pin()
_memory.release_after_figure_cells()

__version__ = "0.1.0"
