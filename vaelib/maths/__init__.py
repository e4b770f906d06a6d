"""Pure mathematics, checked against closed forms: no trained model in sight.

    gaussian         diagonal Gaussians: the KL to the prior (eq. 10), log-density, reparameterization
    latent_families  Gaussian, Laplace and uniform latents: their KLs to the prior and their draws
    linear_gaussian  a latent-variable model with everything in closed form (chapters 01, 03, 05, 14)
    estimators       score-function and reparameterization gradient estimators (chapter 02)
"""
