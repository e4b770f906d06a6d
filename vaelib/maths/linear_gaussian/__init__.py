"""A tractable latent-variable model: everything the ELBO chapters need in closed form.

The model is linear-Gaussian (probabilistic PCA / factor analysis with isotropic noise)::

    p(z)   = N(0, I_k)
    p(x|z) = N(W z + b, s^2 I_d)

The joint p(x, z) is Gaussian, so the evidence p(x) = N(b, W W^T + s^2 I) and the posterior
p(z|x) are Gaussian too. In a real VAE the decoder mean is a neural network and neither has a
closed form (report section 2.1); here both do, so every identity of section 2.2 (eqs. 1-3) and
the beta-objective of section 2.7 (eq. 12) can be checked to float precision.

The variational distribution is always a Gaussian q = N(mean, cov), where ``cov`` is either a
1-D array of variances (a diagonal q, as a VAE encoder outputs) or a full ``(k, k)`` covariance.
All functions are pure NumPy float64; "closed form" functions are exact, the ``*_monte_carlo``
functions return an estimate together with its standard error.

    model     the model, its evidence and exact posterior; Gaussian densities, entropies and KLs
    elbo      the ELBO of eqs. (1)-(3) and the beta-objective of eq. (12), closed form and Monte Carlo
    analysis  the optimal q found numerically, the dataset-level decomposition, slices of the ELBO
"""

from vaelib.maths.linear_gaussian.analysis import (  # noqa: F401
    ELBODecomposition, dataset_elbo, elbo_decomposition, elbo_slice,
)
from vaelib.maths.linear_gaussian.elbo import (  # noqa: F401
    MonteCarloEstimate, NumericalFit, beta_objective, beta_objective_monte_carlo, beta_optimal_q,
    beta_optimal_value, elbo, elbo_monte_carlo, expected_log_likelihood, fit_q_numerically, kl_to_posterior,
)
from vaelib.maths.linear_gaussian.model import (  # noqa: F401
    LOG_2PI, LinearGaussianModel, gaussian_entropy, kl_gaussians, kl_to_prior, mvn_log_density,
)
