"""vaelib: the library behind the executable book on the ELBO, VAEs and beta-VAEs.

Importing vaelib first pins the CPU features that decide its numbers (:mod:`vaelib.host`), so a
seed gives the same bits on every x86-64 host.

Data flows one way; each module imports only the ones listed before it::

    host             pins what the CPU would decide about the numbers; imported first
    checks           argument validation shared by every public function
    memory           hand freed C-heap memory back to the system after training and measuring
    data             load and verify MNIST (with a small offline fallback)
    gaussian         closed-form Gaussian KL (eq. 10), log-densities, reparameterization
    linear_gaussian  an exactly tractable latent-variable model (chapters 01, 03, 05)
    estimators       score-function and reparameterization gradient estimators (chapter 02)
    models           dense encoder/decoder builders, Autoencoder, VAE (beta, likelihood)
    cache            atomic, hash-verified on-disk store for trained models
    train            seeded training with per-epoch history and weight snapshots
    aevb             Algorithm 1's pieces and the eq. (11) estimator (chapter 04)
    experiments      MNIST in [0, 1] and the book's training settings, shared by the chapters
    plots            one function per kind of figure (a package, one module per topic)
    probe            the determinism probe: a few seconds of training, a digest of the bits

    claims           the report's claims: rules, thresholds, verdicts over seeds, chapter 12's table
                     (a package; its __init__ says which module holds which section)

The other modules (measures, widgets, ...) open with a sentence saying what they hold.
"""

from vaelib import host as _host

_host.pin()

__version__ = "0.1.0"
