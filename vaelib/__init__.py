"""vaelib: the library behind the executable book on the ELBO, VAEs and beta-VAEs.

Data flows one way; each module imports only the ones listed before it::

    checks          argument validation shared by every public function
    data            load and verify MNIST (with a small offline fallback)
    gaussian        closed-form Gaussian KL (eq. 10), log-densities, reparameterization
    models          dense encoder/decoder builders, Autoencoder, VAE (beta, likelihood)
    cache           atomic, hash-verified on-disk store for trained models
    train           seeded training with per-epoch history and weight snapshots
    plots           one function per kind of figure, reused by every chapter

Submodules are imported lazily so that ``import vaelib`` stays cheap.
"""

__version__ = "0.1.0"
