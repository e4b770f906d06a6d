"""The models and how they are trained.

    networks         dense encoders and decoders, the autoencoder and the beta-VAE (eq. 12)
    training         TrainConfig and train(): seeded, cached training with per-epoch history
    progress         what a live kernel shows while a model trains (never part of a result)
    report_settings  the report's setting as the book reads it, and trained() for the chapters
    aevb             Algorithm 1 step by step, and the ELBO estimator of eq. (11) (chapter 04)
"""
