"""vaelib: the library behind the executable book on the ELBO, VAEs and beta-VAEs.

Data flows one way; each module imports only the ones listed before it::

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
    experiments      MNIST in [0, 1] and the report's settings, shared by the chapters
    plots            one function per kind of figure (a package, one module per topic)

Submodules are imported lazily so that ``import vaelib`` stays cheap.
"""

__version__ = "0.1.0"
