"""What is measured on trained models: the numbers the report's claims are judged on.

    latent_space       codes against the prior, prior draws against the codes
    metrics            moments of the codes, kNN separation, reconstruction errors, distances
    judge              the digit classifier that judges generated digits (eq. 13)
    dynamics           the shares of the loss terms over the epochs
    travel             draws, ellipses and interpolation paths in a 2-D latent space
    figure14           the paths of the report's figure 14, as the classifier sees them
    family_comparison  VAEs with Gaussian, Laplace and uniform latents side by side (chapter 11)
    iwae               the importance-weighted bound on log p(x)
    tightness          chapter 14: binarized MNIST and the bounds' gaps
"""
