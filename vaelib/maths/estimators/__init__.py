"""Monte Carlo estimators of the gradient of E_q[f(z)] for a diagonal Gaussian q (report §2.2-2.4).

The quantity is ``grad_phi E_{q_phi}[f(z)]`` with ``q_phi = N(mu, diag(sigma^2))``. Two unbiased
estimators are implemented, each from ``L`` draws ``eps ~ N(0, I)`` and ``z = mu + sigma * eps``:

* the **score-function** (REINFORCE, likelihood-ratio) estimator of the report's unnumbered display
  in §2.2, ``f(z) grad_phi log q_phi(z)``, with an optional constant or leave-one-out baseline;
* the **reparameterization** (pathwise) estimator of eq. (7), ``grad_phi f(mu + sigma * eps)``.

A third, ``"naive"``, is the *wrong* interchange of gradient and expectation behind eq. (5): it
differentiates the integrand with ``z`` held fixed and drops the score term, so it is biased.

Parameterization
----------------
``phi = (mu, log sigma)`` by default (``parameterization="log_sigma"``): it is unconstrained, like
the ``log_var`` a VAE encoder outputs (``log sigma = log_var / 2``). ``parameterization="sigma"``
gives gradients with respect to ``(mu, sigma)`` instead; the two differ only in the second
component, by the chain rule ``d/d log sigma = sigma d/d sigma``.

Shapes
------
``mu`` and ``sigma`` are vectors of shape ``(D,)`` (scalars are promoted to ``(1,)``). A gradient is
an array of shape ``(2, D)``: row 0 is the ``mu`` part, row 1 the ``log sigma`` (or ``sigma``) part.
Per-sample contributions have shape ``(..., L, 2, D)``. Everything is NumPy float64.

ELBO integrands
---------------
With ``elbo=True`` the integrand is ``f(z) - log q_phi(z)``, which itself depends on ``phi``: with
``f = log p(x, z)`` (see :func:`gaussian_log_joint`) this is the ELBO of eq. (8), and the three
estimators are those of eqs. (5) and (9).

Modules
-------
    integrands  the test functions f with closed-form Gaussian expectations, and argument checks
    gradients   exact gradients, per-sample contributions and L-sample estimates
    variance    the estimators' variance: exact (quadrature) and over independent replicates
"""

from vaelib.maths.estimators.gradients import (  # noqa: F401
    GradientEstimate, estimate_gradient, exact_expectation, exact_gradient, gradient_terms, naive_terms,
    reparameterization_gradient, reparameterization_terms, score_function_gradient, score_function_terms,
)
from vaelib.maths.estimators.integrands import (  # noqa: F401
    LOG_2PI, METHODS, PARAMETERIZATIONS, TestFunction, exp_function, gaussian_entropy, gaussian_log_joint,
    get_test_function, quartic_function, sine_function, square_function,
)
from vaelib.maths.estimators.variance import (  # noqa: F401
    VarianceCurve, VarianceEstimate, estimator_variance, fit_loglog_slope, single_sample_moments,
    single_sample_variance, variance_standard_error, variance_vs_samples, variance_vs_sigma,
)
