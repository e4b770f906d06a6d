"""Tests for vaelib.maths.estimators: unbiasedness against closed forms, variance laws, bad inputs.

Monte Carlo tolerances are 5 standard errors: for an unbiased mean of many iid terms the chance of
a larger deviation is ~6e-7 per component (central limit theorem). Every test uses a fixed seed, so
a pass is reproducible; the 5-s.e. margin is what makes it meaningful rather than tuned to the seed.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vaelib.maths import estimators as est  # noqa: E402
from vaelib.plots.estimators import (  # noqa: E402
    plot_gradient_histogram, plot_variance_vs_samples, plot_variance_vs_sigma,
)

TESTS = [est.square_function(), est.sine_function(), est.exp_function(0.7), est.quartic_function()]
IDS = [t.name for t in TESTS]
MU = np.array([0.8, -0.4])
SIGMA = np.array([0.6, 0.3])


# ------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("test", TESTS, ids=IDS)
def test_closed_form_expectation_matches_quadrature(test):
    # Gauss-Hermite with 80 nodes per axis on a 2-D tensor grid: exact to float precision for these
    # smooth integrands; tolerance 1e-10 relative.
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()
    e1, e2 = np.meshgrid(nodes, nodes, indexing="ij")
    z = MU + SIGMA * np.stack([e1, e2], axis=-1)
    quad = np.einsum("i,j,ij->", weights, weights, test.f(z))
    assert quad == pytest.approx(est.exact_expectation(test, MU, SIGMA), rel=1e-10)


@pytest.mark.parametrize("test", TESTS + [est.gaussian_log_joint([1.0, -0.5], 0.7)],
                         ids=IDS + ["log_joint"])
@pytest.mark.parametrize("parameterization", est.PARAMETERIZATIONS)
@pytest.mark.parametrize("elbo", [False, True])
def test_exact_gradient_matches_finite_differences(test, parameterization, elbo):
    # Central differences with step 1e-6: truncation ~1e-12 * f''', rounding ~1e-16 * |E| / 1e-6;
    # 1e-6 absolute tolerance covers both.
    h = 1e-6
    grad = est.exact_gradient(test, MU, SIGMA, parameterization=parameterization, elbo=elbo)
    for j in range(2):
        e = np.eye(2)[j] * h
        d_mu = (est.exact_expectation(test, MU + e, SIGMA, elbo=elbo)
                - est.exact_expectation(test, MU - e, SIGMA, elbo=elbo)) / (2 * h)
        if parameterization == "log_sigma":
            up, down = SIGMA * np.exp(e), SIGMA * np.exp(-e)
        else:
            up, down = SIGMA + e, SIGMA - e
        d_scale = (est.exact_expectation(test, MU, up, elbo=elbo)
                   - est.exact_expectation(test, MU, down, elbo=elbo)) / (2 * h)
        assert grad[0, j] == pytest.approx(d_mu, abs=1e-6)
        assert grad[1, j] == pytest.approx(d_scale, abs=1e-6)


# ------------------------------------------------------------------ unbiasedness
@pytest.mark.parametrize("test", TESTS, ids=IDS)
@pytest.mark.parametrize("method", ["score", "reparameterization"])
@pytest.mark.parametrize("parameterization", est.PARAMETERIZATIONS)
def test_estimators_unbiased(test, method, parameterization):
    exact = est.exact_gradient(test, MU, SIGMA, parameterization=parameterization)
    g = est.estimate_gradient(method, test, MU, SIGMA, 200_000, np.random.default_rng(1),
                              parameterization=parameterization)
    assert g.mean.shape == g.standard_error.shape == (2, 2)
    assert g.samples.shape == (200_000, 2, 2)
    assert np.all(np.abs(g.mean - exact) < 5 * g.standard_error)  # 5 s.e.


@pytest.mark.parametrize("baseline", ["constant", "loo"])
def test_score_baseline_unbiased_and_reduces_variance(baseline):
    # A baseline helps when f(mu) dominates f's fluctuations over q (narrow q, f far from 0); it is
    # not guaranteed to help in general, so the test picks such a case.
    test, mu, sigma = est.square_function(), np.array([1.0, 2.0]), np.array([0.3, 0.2])
    b = est.exact_expectation(test, mu, sigma) if baseline == "constant" else "loo"
    exact = est.exact_gradient(test, mu, sigma)
    rng = np.random.default_rng(2)
    with_b = est.estimator_variance("score", test, mu, sigma, 8, 20_000, rng, baseline=b)
    without = est.estimator_variance("score", test, mu, sigma, 8, 20_000, rng)
    # The mean of 20,000 replicate estimates is within 5 standard errors of the truth.
    assert np.all(np.abs(with_b.mean - exact) < 5 * with_b.mean_se)
    # ...and the baseline lowers the variance of every component by more than 5 combined s.e.
    assert np.all(without.variance - with_b.variance > 5 * np.hypot(without.variance_se, with_b.variance_se))


def test_elbo_score_form_is_exact_and_naive_interchange_is_biased():
    # The report's eq. (5) right-hand side (score function on the ELBO integrand) is unbiased; the
    # naive interchange has mean zero and misses the gradient by far more than 5 s.e.
    log_joint = est.gaussian_log_joint([1.0, -0.5], 0.5)
    mu, sigma = np.zeros(2), np.full(2, 0.2)
    exact = est.exact_gradient(log_joint, mu, sigma, elbo=True)
    rng = np.random.default_rng(3)
    for method in ("score", "reparameterization"):
        g = est.estimate_gradient(method, log_joint, mu, sigma, 100_000, rng, elbo=True)
        assert np.all(np.abs(g.mean - exact) < 5 * g.standard_error), method
    naive = est.estimate_gradient("naive", log_joint, mu, sigma, 100_000, rng, elbo=True)
    assert np.all(np.abs(naive.mean - exact) > 20 * naive.standard_error)
    assert np.all(np.abs(naive.mean) < 5 * naive.standard_error)  # it estimates zero


def test_naive_terms_vanish_for_phi_free_integrand():
    eps = np.random.default_rng(4).standard_normal((10, 2))
    assert np.array_equal(est.naive_terms(est.square_function(), MU, SIGMA, eps), np.zeros((10, 2, 2)))


def test_parameterizations_related_by_chain_rule():
    eps = np.random.default_rng(5).standard_normal((7, 2))
    for method in ("score", "reparameterization"):
        a = est.gradient_terms(method, est.sine_function(), MU, SIGMA, eps, parameterization="log_sigma")
        b = est.gradient_terms(method, est.sine_function(), MU, SIGMA, eps, parameterization="sigma")
        np.testing.assert_allclose(a[:, 0], b[:, 0], rtol=1e-15)
        np.testing.assert_allclose(a[:, 1], SIGMA * b[:, 1], rtol=1e-14)  # d/dlog sigma = sigma d/dsigma


def test_scalar_inputs_promoted_and_sigma_broadcast():
    g = est.reparameterization_gradient(est.square_function(), 1.0, 0.5, 10, 0)
    assert g.mean.shape == (2, 1)
    g = est.reparameterization_gradient(est.square_function(), [1.0, 2.0, 3.0], 0.5, 10, 0)
    assert g.mean.shape == (2, 3)


# ------------------------------------------------------------------ variance laws
@pytest.mark.parametrize("test", TESTS, ids=IDS)
@pytest.mark.parametrize("method", ["score", "reparameterization"])
def test_replicate_variance_matches_quadrature(test, method):
    _, m2, m4 = est.single_sample_moments(method, test, 0.5, 0.4)
    r = est.estimator_variance(method, test, 0.5, 0.4, 1, 50_000, np.random.default_rng(6))
    se = est.variance_standard_error(m2, m4, 1, 50_000)
    light = m4 / m2**2 <= 20  # 5 exact s.e. is a sound rule only for light-tailed terms (kurtosis <= 20)
    assert np.all(np.abs(r.variance - m2)[light] < 5 * se[light])
    # heavy-tailed components: the sample variance must still be within a factor 2 of the truth
    assert np.all(np.abs(np.log(r.variance / m2)) < np.log(2))


def test_variance_standard_error_matches_spread_of_sample_variances():
    # 2000 independent experiments, each the sample variance of R = 200 four-sample score estimates:
    # their standard deviation must match the formula. The spread of 2000 draws is known to ~2-4%
    # (heavier tails widen it), so 15% is a loose but failing-when-wrong tolerance (a missing 1/L^3
    # or the plug-in m2^2 term would be off by far more).
    test, mu, s, L, R = est.sine_function(), 1.0, 0.3, 4, 200
    _, m2, m4 = est.single_sample_moments("score", test, mu, s)
    eps = np.random.default_rng(11).standard_normal((2000, R, L, 1))
    means = est.score_function_terms(test, mu, s, eps).mean(axis=2)  # (2000, R, 2, 1)
    spread = means.var(axis=1, ddof=1).std(axis=0, ddof=1)
    np.testing.assert_allclose(spread, est.variance_standard_error(m2, m4, L, R), rtol=0.15)


def test_square_single_sample_variances_closed_form():
    # f = z^2, phi = (mu, sigma): pathwise terms 2z and 2z*eps have variances 4 sigma^2 and
    # 4 mu^2 + 8 sigma^2 exactly; quadrature must reproduce them to float precision.
    mu, s = 0.7, 0.3
    v = est.single_sample_variance("reparameterization", est.square_function(), mu, s, parameterization="sigma")
    np.testing.assert_allclose(v[:, 0], [4 * s**2, 4 * mu**2 + 8 * s**2], rtol=1e-10)


def test_variance_scales_as_one_over_L():
    # Normal-theory 5 s.e. checks on a replicate variance are sound only for light-tailed terms, so
    # components whose single-term kurtosis exceeds 20 (e.g. the score function's log-sigma part,
    # f(z)(eps^2 - 1)) are skipped; the mu components always qualify here.
    for method in ("score", "reparameterization"):
        curve = est.variance_vs_samples(method, est.sine_function(), 1.0, 0.3, [1, 4, 16, 64], 8000,
                                        np.random.default_rng(7))
        assert curve.variance.shape == (4, 2, 1) and curve.exact_variance.shape == (4, 2, 1)
        checked = 0
        for k in range(2):
            if curve.exact_kurtosis[0, k, 0] > 20:
                continue
            checked += 1
            se = curve.exact_variance_se[:, k, 0]
            assert np.all(np.abs(curve.variance[:, k, 0] - curve.exact_variance[:, k, 0]) < 5 * se)
            slope, slope_se = est.fit_loglog_slope(curve.grid, curve.variance[:, k, 0], se)
            assert abs(slope + 1) < 5 * slope_se, (method, k, slope, slope_se)
        assert checked >= 1


@pytest.mark.parametrize("test", TESTS, ids=IDS)
def test_score_variance_blows_up_as_sigma_shrinks_and_pathwise_does_not(test):
    mu = np.array([1.0])
    f_mu = float(test.f(mu))
    for s in (1e-2, 1e-3):
        score = est.single_sample_variance("score", test, mu, s)[0, 0]
        path = est.single_sample_variance("reparameterization", test, mu, s)[0, 0]
        # sigma^2 Var_score -> f(mu)^2 (relative correction O(sigma^2), well under 5% at sigma <= 0.01)
        assert s**2 * score == pytest.approx(f_mu**2, rel=0.05)
        # pathwise variance ~ sigma^2 f''(mu)^2 -> 0
        assert path < 100 * s**2 * (1 + abs(f_mu)) ** 2
    # Exact log-log slope between sigma = 1e-3 and 1e-2 is -2 up to the O(sigma^2) correction.
    v = [est.single_sample_variance("score", test, mu, s)[0, 0] for s in (1e-3, 1e-2)]
    assert math.log(v[1] / v[0]) / math.log(10) == pytest.approx(-2, abs=0.02)
    # The replicate estimates reproduce the exact curve's slope on [0.01, 0.1] within 5 s.e. (there the
    # slope is flatter than -2 for some f, e.g. about -1.75 for z^4, because of that correction).
    curve = est.variance_vs_sigma("score", test, mu, [0.01, 0.03, 0.1], 1, 4000, np.random.default_rng(8))
    slope, slope_se = est.fit_loglog_slope(curve.grid, curve.variance[:, 0, 0], curve.exact_variance_se[:, 0, 0])
    # same weights, so both fits estimate the same (weighted) slope of a curve that is not a pure power law
    exact_slope, _ = est.fit_loglog_slope(curve.grid, curve.exact_variance[:, 0, 0], curve.exact_variance_se[:, 0, 0])
    assert abs(slope - exact_slope) < 5 * slope_se


def test_fit_loglog_slope_recovers_power_law():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    slope, se = est.fit_loglog_slope(x, 3.0 * x**-1.5, 0.01 * x**-1.5)
    assert slope == pytest.approx(-1.5, abs=1e-12)
    assert se > 0


def test_elbo_gradient_vanishes_at_the_exact_posterior():
    # For p(z) = N(0,1), p(x|z) = N(z, s^2) the posterior is N(x/(1+s^2), s^2/(1+s^2)): the exact ELBO
    # gradient vanishes there. The integrand log p(x,z) - log q(z) is then the constant log p(x), so
    # its path derivative is zero and the reparameterized terms reduce to the score part -grad log q
    # (the naive terms): mean zero, but not zero variance.
    x, s = np.array([1.3]), 0.5
    post_mu, post_sd = x / (1 + s**2), np.sqrt(s**2 / (1 + s**2))
    lj = est.gaussian_log_joint(x, s)
    np.testing.assert_allclose(est.exact_gradient(lj, post_mu, post_sd, elbo=True), 0.0, atol=1e-12)
    eps = np.random.default_rng(9).standard_normal((100, 1))
    np.testing.assert_allclose(est.reparameterization_terms(lj, post_mu, post_sd, eps, elbo=True),
                               est.naive_terms(lj, post_mu, post_sd, eps, elbo=True), atol=1e-12)


# ------------------------------------------------------------------ plots
def test_plots_return_figures():
    rng = np.random.default_rng(10)
    curves_l = [est.variance_vs_samples(m, t, 1.0, 0.3, [1, 4], 50, rng)
                for t in TESTS[:2] for m in ("score", "reparameterization")]
    curves_s = [est.variance_vs_sigma("score", TESTS[0], 1.0, [0.1, 0.3], 1, 50, rng, baseline=b)
                for b in (None, "exact")]
    figs = [plot_variance_vs_samples(curves_l), plot_variance_vs_sigma(curves_s, component="scale"),
            plot_gradient_histogram({"score function": rng.normal(size=100), "reparameterization": rng.normal(size=100)},
                                    exact=0.0)]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figs)
    assert len(figs[0].axes) == 2
    plt.close("all")


def test_bad_plot_inputs():
    curve = est.variance_vs_samples("score", TESTS[0], 1.0, 0.3, [1, 4], 20, 0)
    with pytest.raises(ValueError, match="curves must all be measured over 'sigma'"):
        plot_variance_vs_sigma([curve])
    with pytest.raises(ValueError, match="component must be one of"):
        plot_variance_vs_samples([curve], component="nu")
    with pytest.raises(TypeError, match="curves must be a non-empty sequence"):
        plot_variance_vs_samples([])
    with pytest.raises(ValueError, match=r"samples\['a'\] must hold at least 2 finite values"):
        plot_gradient_histogram({"a": [1.0, np.nan]})
    plt.close("all")


# ------------------------------------------------------------------ bad inputs
def test_bad_sigma_nonpositive():
    with pytest.raises(ValueError, match=r"sigma must be > 0"):
        est.score_function_gradient(TESTS[0], 0.0, [0.5, 0.0], 10, 0)
    with pytest.raises(ValueError, match=r"sigma must be > 0"):
        est.exact_gradient(TESTS[0], 0.0, -1.0)


def test_bad_mu_not_finite():
    with pytest.raises(ValueError, match="mu must be finite"):
        est.reparameterization_gradient(TESTS[0], [0.0, np.inf], 1.0, 10, 0)


def test_bad_mu_type():
    with pytest.raises(TypeError, match="mu must be a real number or array of reals"):
        est.reparameterization_gradient(TESTS[0], "1.0", 1.0, 10, 0)


def test_bad_shape_mismatch():
    with pytest.raises(ValueError, match="mu and sigma must have the same shape"):
        est.exact_gradient(TESTS[0], [0.0, 1.0], [1.0, 1.0, 1.0])


def test_bad_n_samples():
    with pytest.raises(ValueError, match="n_samples must be >= 1, got 0"):
        est.score_function_gradient(TESTS[0], 0.0, 1.0, 0, 0)
    with pytest.raises(TypeError, match="n_samples must be an integer"):
        est.score_function_gradient(TESTS[0], 0.0, 1.0, 2.5, 0)


def test_bad_loo_with_one_sample():
    with pytest.raises(ValueError, match="n_samples must be >= 2"):
        est.score_function_gradient(TESTS[0], 0.0, 1.0, 1, 0, baseline="loo")
    with pytest.raises(ValueError, match="baseline='loo' needs at least 2 samples"):
        est.score_function_terms(TESTS[0], 0.0, 1.0, np.zeros((1, 1)), baseline="loo")


def test_invalid_method():
    with pytest.raises(ValueError, match="method must be one of 'score', 'reparameterization', 'naive'"):
        est.estimate_gradient("reinforce", TESTS[0], 0.0, 1.0, 10, 0)


def test_invalid_parameterization():
    with pytest.raises(ValueError, match="parameterization must be one of 'log_sigma', 'sigma'"):
        est.exact_gradient(TESTS[0], 0.0, 1.0, parameterization="log_var")


def test_invalid_baseline():
    with pytest.raises(ValueError, match="baseline must be one of 'loo'"):
        est.score_function_gradient(TESTS[0], 0.0, 1.0, 10, 0, baseline="mean")
    with pytest.raises(ValueError, match="baseline must be finite"):
        est.score_function_gradient(TESTS[0], 0.0, 1.0, 10, 0, baseline=math.nan)
    with pytest.raises(ValueError, match="baseline applies to the score-function estimator only"):
        est.reparameterization_gradient(TESTS[0], 0.0, 1.0, 10, 0, baseline=1.0)


def test_invalid_test_function():
    with pytest.raises(TypeError, match="test must be a vaelib.maths.estimators.TestFunction"):
        est.score_function_gradient(np.sin, 0.0, 1.0, 10, 0)
    with pytest.raises(ValueError, match="name must be one of"):
        est.get_test_function("cubic")
    with pytest.raises(ValueError, match="has no closed-form expectation"):
        est.exact_expectation(est.TestFunction("bare", np.sin, np.cos), 0.0, 1.0)


def test_bad_rng():
    with pytest.raises(TypeError, match="rng must be a numpy Generator"):
        est.score_function_gradient(TESTS[0], 0.0, 1.0, 10, "seed")


def test_bad_eps_shape():
    with pytest.raises(ValueError, match=r"eps must have shape \(\.\.\., L, 2\)"):
        est.reparameterization_terms(TESTS[0], MU, SIGMA, np.zeros((5, 3)))


def test_bad_single_sample_variance_dimension():
    with pytest.raises(ValueError, match="need a one-dimensional q"):
        est.single_sample_variance("score", TESTS[0], MU, SIGMA)


def test_invalid_n_replicates():
    with pytest.raises(ValueError, match="n_replicates must be >= 4"):
        est.estimator_variance("score", TESTS[0], 0.0, 1.0, 1, 2, 0)


def test_bad_sample_sizes_and_sigmas():
    with pytest.raises(ValueError, match="sample_sizes entry must be >= 1"):
        est.variance_vs_samples("score", TESTS[0], 0.0, 1.0, [0, 4], 10, 0)
    with pytest.raises(ValueError, match="sigmas entry must be > 0.0"):
        est.variance_vs_sigma("score", TESTS[0], 0.0, [0.1, -0.1], 1, 10, 0)
    with pytest.raises(TypeError, match="sigmas must be a non-empty sequence"):
        est.variance_vs_sigma("score", TESTS[0], 0.0, 0.1, 1, 10, 0)


def test_bad_log_joint_inputs():
    with pytest.raises(ValueError, match="noise_scale must be > 0"):
        est.gaussian_log_joint([1.0], 0.0)
    with pytest.raises(ValueError, match="mu must have the shape of x"):
        est.exact_gradient(est.gaussian_log_joint([1.0, 2.0]), [0.0, 0.0, 0.0], 1.0, elbo=True)


def test_bad_fit_inputs():
    with pytest.raises(ValueError, match="y must be > 0"):
        est.fit_loglog_slope([1.0, 2.0], [1.0, 0.0], [0.1, 0.1])
