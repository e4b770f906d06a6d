"""Tests of vaelib.measures.latent_space: prior-closeness measures, nearest-code distances, decoding spread, density grid."""

import numpy as np
import pytest
from scipy import stats

from vaelib.measures import latent_space


def test_moments_and_kl_of_prior_samples_are_near_zero():
    z = np.random.default_rng(0).standard_normal((200_000, 2))
    mean, cov = latent_space.code_moments(z)
    # standard error of a mean of 200,000 unit-variance draws is 0.0022: 5 s.e. = 0.011
    assert np.all(np.abs(mean) < 0.011)
    # s.e. of a variance estimate is sqrt(2/n) = 0.0032 and of a covariance 1/sqrt(n) = 0.0022: 5 s.e.
    assert np.allclose(cov, np.eye(2), atol=0.016)
    # the moment-matched KL is second order in those errors: |KL| < 5e-4 for errors of 0.016
    assert 0.0 <= latent_space.moment_matched_kl(mean, cov) < 5e-4


def test_moment_matched_kl_matches_closed_form_for_a_diagonal_gaussian():
    mean, var = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    expected = 0.5 * np.sum(var + mean**2 - 1.0 - np.log(var))  # eq. (10)
    assert latent_space.moment_matched_kl(mean, np.diag(var)) == pytest.approx(expected, rel=1e-12)


def test_moment_matched_kl_grows_with_correlation():
    cov = np.array([[1.0, 0.9], [0.9, 1.0]])
    assert latent_space.moment_matched_kl(np.zeros(2), cov) == pytest.approx(-0.5 * np.log(1 - 0.81), rel=1e-12)


def test_fraction_in_prior_region_matches_level_under_the_prior():
    z = np.random.default_rng(1).standard_normal((100_000, 2))
    fraction = latent_space.fraction_in_prior_region(z, 0.95)
    # binomial s.e. sqrt(0.95 * 0.05 / 1e5) = 0.00069: 5 s.e. = 0.0035
    assert abs(fraction - 0.95) < 0.0035
    assert latent_space.fraction_in_prior_region(10.0 * z, 0.95) < 0.1  # spread 10x: chi2 quantile 5.99 / 100 of the mass
    assert latent_space.fraction_in_prior_region(0.1 * z, 0.95) == 1.0


def test_nearest_code_distances_against_brute_force():
    rng = np.random.default_rng(2)
    codes, points = rng.standard_normal((300, 2)), 3 * rng.standard_normal((50, 2))
    brute = np.sqrt(((points[:, None, :] - codes[None, :, :]) ** 2).sum(-1)).min(axis=1)
    assert np.allclose(latent_space.nearest_code_distances(points, codes), brute, rtol=1e-12)


def test_typical_spacing_and_far_fraction():
    codes = np.stack(np.meshgrid(np.arange(10.0), np.arange(10.0)), -1).reshape(-1, 2)  # unit grid
    assert latent_space.typical_spacing(codes, 0.99) == pytest.approx(1.0)
    points = np.array([[4.5, 4.5], [50.0, 50.0]])  # 0.707 from a code; far outside
    assert latent_space.fraction_far_from_codes(points, codes, 1.0) == 0.5


def test_label_mismatch_zero_on_the_codes_and_one_for_a_missing_class():
    codes = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    labels = np.array([0, 1, 2, 3])
    assert latent_space.nearest_code_label_mismatch(codes, codes, labels) == 0.0
    # all points next to the code of digit 0: label frequencies (1, 0, 0, 0) vs (1/4, ...): TV = 3/4
    assert latent_space.nearest_code_label_mismatch(np.full((7, 2), 0.5), codes, labels) == pytest.approx(0.75)


def test_bad_labels_for_label_mismatch():
    with pytest.raises(ValueError, match="one per code"):
        latent_space.nearest_code_label_mismatch(np.zeros((2, 2)), np.zeros((3, 2)), np.array([0, 1]))
    with pytest.raises(ValueError, match="integers"):
        latent_space.nearest_code_label_mismatch(np.zeros((2, 2)), np.zeros((2, 2)), np.array([0.5, 1.0]))


def test_decoding_spread_zero_for_identical_and_positive_otherwise():
    same = np.tile(np.linspace(0, 1, 784), (5, 1))
    # identical rows: std is 0 up to float64 rounding of the mean (~1e-16 for values <= 1)
    assert all(v < 1e-15 for v in latent_space.decoding_spread(same).values())
    rng = np.random.default_rng(3)
    noisy = same + 0.01 * rng.standard_normal(same.shape)
    spread = latent_space.decoding_spread(noisy)
    # the mean of 784 sample stds (4 d.o.f. each) of sd 0.01 is within 10% of 0.01 (c4 bias 6%, s.e. ~1%)
    assert 0.009 * 0.9 < spread["mean_pixel_std"] < 0.0101
    assert spread["max_pixel_range"] > spread["max_pixel_std"]


def test_density_grid_integrates_to_one_and_peaks_at_mu():
    mu, log_var = np.array([0.5, -1.0]), np.log(np.array([0.04, 0.25]))
    z1, z2 = np.linspace(-3, 3, 601), np.linspace(-5, 3, 801)
    density = latent_space.gaussian_density_grid(mu, log_var, z1, z2)
    assert density.shape == (801, 601)
    # Riemann sum on a grid 0.01 apart covering > 6 sd each way: error ~1e-9 (smooth integrand)
    assert density.sum() * 0.01 * 0.01 == pytest.approx(1.0, abs=1e-6)
    row, col = np.unravel_index(density.argmax(), density.shape)
    assert (z1[col], z2[row]) == pytest.approx((0.5, -1.0), abs=1e-9)
    expected = stats.multivariate_normal(mu, np.diag(np.exp(log_var))).pdf([z1[10], z2[20]])
    assert density[20, 10] == pytest.approx(expected, rel=1e-10)


def test_bad_codes_shape_and_values():
    with pytest.raises(ValueError, match="shape"):
        latent_space.code_moments(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        latent_space.fraction_in_prior_region(np.array([[0.0, np.nan]]))
    with pytest.raises(TypeError, match="numeric"):
        latent_space.code_moments(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="at least 2 rows"):
        latent_space.code_moments(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="2 columns"):
        latent_space.nearest_code_distances(np.zeros((3, 3)), np.zeros((4, 2)))


def test_invalid_level_radius_quantile():
    z = np.zeros((3, 2))
    with pytest.raises(ValueError, match="level must be < 1"):
        latent_space.fraction_in_prior_region(z, 1.0)
    with pytest.raises(ValueError, match="level must be >"):
        latent_space.fraction_in_prior_region(z, 0.0)
    with pytest.raises(TypeError, match="level must be a real number"):
        latent_space.fraction_in_prior_region(z, "0.95")
    with pytest.raises(ValueError, match="radius must be >= 0"):
        latent_space.fraction_far_from_codes(z, z, -1.0)
    with pytest.raises(ValueError, match="quantile must be <= 1"):
        latent_space.typical_spacing(z, 1.5)


def test_invalid_moments_and_density_arguments():
    with pytest.raises(ValueError, match="positive definite"):
        latent_space.moment_matched_kl(np.zeros(2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="symmetric"):
        latent_space.moment_matched_kl(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="shape"):
        latent_space.moment_matched_kl(np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="2 values"):
        latent_space.gaussian_density_grid(np.zeros(3), np.zeros(3), [0, 1], [0, 1])
    with pytest.raises(ValueError, match="strictly increasing"):
        latent_space.gaussian_density_grid(np.zeros(2), np.zeros(2), [1, 0], [0, 1])


def test_prior_extent_is_the_normal_percentiles_on_both_axes():
    (a1, b1), (a2, b2) = latent_space.prior_extent()
    assert (a1, b1) == (a2, b2) and a1 == pytest.approx(-2.3263478740, abs=1e-9) and b1 == -a1
    assert stats.norm.cdf(latent_space.prior_extent(2.5, 97.5)[0][1]) == pytest.approx(0.975, abs=1e-12)


def test_percentile_extent_of_codes_on_two_scales():
    rng = np.random.default_rng(0)
    codes = np.column_stack([rng.uniform(-10.0, 30.0, 100_001), rng.uniform(0.0, 1.0, 100_001)])
    (a1, b1), (a2, b2) = latent_space.percentile_extent(codes, 1.0, 99.0)
    # the 1st and 99th percentiles of U(-10, 30) are -9.6 and 29.6; of 100,001 draws, within 0.05 (about 5 s.e.)
    assert a1 == pytest.approx(-9.6, abs=0.05) and b1 == pytest.approx(29.6, abs=0.05)
    assert a2 == pytest.approx(0.01, abs=0.002) and b2 == pytest.approx(0.99, abs=0.002)
    assert latent_space.percentile_extent(codes, 0.0, 100.0) == ((codes[:, 0].min(), codes[:, 0].max()),
                                                          (codes[:, 1].min(), codes[:, 1].max()))


def test_latent_grid_reads_like_an_image():
    z1, z2, points = latent_space.latent_grid(((-1.0, 3.0), (0.0, 2.0)), 5)
    np.testing.assert_allclose(z1, [-1.0, 0.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(z2, [2.0, 1.5, 1.0, 0.5, 0.0])  # top row first
    assert points.shape == (25, 2)
    np.testing.assert_allclose(points[0], [-1.0, 2.0])  # top left
    np.testing.assert_allclose(points[4], [3.0, 2.0])  # top right
    np.testing.assert_allclose(points[-1], [3.0, 0.0])  # bottom right
    assert latent_space.check_extent(2) == ((-2.0, 2.0), (-2.0, 2.0)) == latent_space.check_extent((-2, 2))


@pytest.mark.parametrize("extent, error, match", [
    (0.0, ValueError, r"extent must be > 0.0, got 0.0"),
    (-2, ValueError, r"extent must be > 0.0, got -2.0"),
    ((1.0, 1.0), ValueError, r"low < high on each axis, got \[\[1.0, 1.0\], \[1.0, 1.0\]\]"),
    (((0, 1), (3, 2)), ValueError, r"low < high on each axis, got \[\[0.0, 1.0\], \[3.0, 2.0\]\]"),
    ((0.0, np.inf), ValueError, r"finite intervals"),
    ((1, 2, 3), ValueError, r"got \(1, 2, 3\) \(shape \(3,\)\)"),
    ("wide", TypeError, r"extent must be a number, a \(low, high\) pair or one such pair per axis, got 'wide'"),
    (True, TypeError, r"got True"),
])
def test_bad_extents_are_refused_naming_the_value(extent, error, match):
    with pytest.raises(error, match=match):
        latent_space.latent_grid(extent, 4)


def test_bad_grid_sizes_and_percentiles():
    with pytest.raises(ValueError, match="n must be >= 2, got 1"):
        latent_space.latent_grid(2.0, 1)
    with pytest.raises(ValueError, match=r"low must be below high \(percentiles\), got low=99.0, high=1.0"):
        latent_space.percentile_extent(np.zeros((10, 2)) + np.arange(10)[:, None], 99, 1)
    with pytest.raises(ValueError, match="high must be <= 100.0, got 101.0"):
        latent_space.prior_extent(1, 101)
    with pytest.raises(ValueError, match=r"strictly between 0 and 100 \(the prior is unbounded\), got 0.0, 99.0"):
        latent_space.prior_extent(0, 99)
    with pytest.raises(ValueError, match=r"codes must have 2 columns, got shape \(10, 3\)"):
        latent_space.percentile_extent(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="extent must hold finite intervals with low < high"):
        latent_space.percentile_extent(np.zeros((10, 2)))  # all codes at one point: an empty rectangle


def test_prior_region_draws_are_the_prior_restricted_to_its_region():
    level = 0.95
    z = latent_space.prior_region_draws(100_000, 2, rng=np.random.default_rng(3), level=level)
    squared = np.sum(z**2, axis=1)
    assert z.shape == (100_000, 2) and squared.max() <= stats.chi2.ppf(level, df=2) * (1 + 1e-12)
    # |z|^2 given the region is chi2 conditioned on <= its 0.95 quantile: its CDF there is chi2.cdf / 0.95
    conditional = stats.chi2.cdf(squared, df=2) / level
    assert stats.kstest(conditional, "uniform").pvalue > 1e-3
    # the direction is uniform: the mean of the unit vectors is 0 within 5 s.e. (1 / sqrt(2n) per axis)
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    assert np.all(np.abs(unit.mean(axis=0)) < 5 / np.sqrt(2 * len(z)))
    # one seed, the same draws; in 5 dimensions too
    again = latent_space.prior_region_draws(100_000, 2, rng=np.random.default_rng(3), level=level)
    np.testing.assert_array_equal(z, again)
    z5 = latent_space.prior_region_draws(2000, 5, rng=0, level=0.5)
    assert np.all(np.sum(z5**2, axis=1) <= stats.chi2.ppf(0.5, df=5) * (1 + 1e-12))


def test_prior_spacing_is_the_poisson_quantile_of_the_prior_density():
    points = np.array([[0.0, 0.0], [2.0, 1.0]])
    r = latent_space.prior_spacing(points, 10_000, quantile=0.99)
    density = np.exp(-0.5 * np.sum(points**2, axis=1)) / (2 * np.pi)
    # exp(-n p pi r^2) = 0.01 in 2-D
    np.testing.assert_allclose(np.exp(-10_000 * density * np.pi * r**2), 0.01, rtol=1e-12)
    assert r[0] == pytest.approx(0.0303, abs=1e-4)  # the centre: r = sqrt(2 ln 100 / n)
    # in 3-D the ball's volume is 4/3 pi r^3
    r3 = latent_space.prior_spacing(np.zeros((1, 3)), 1000, quantile=0.5)
    assert np.exp(-1000 * (2 * np.pi) ** -1.5 * 4 / 3 * np.pi * r3[0] ** 3) == pytest.approx(0.5, rel=1e-12)


def test_a_prior_cloud_covers_its_region_and_other_clouds_less():
    # the figures quoted in vaelib.claims.rules (COVERAGE_QUANTILE): 10,000 codes, 5,000 points of the region
    rng = np.random.default_rng(6)
    n = 10_000
    points = latent_space.prior_region_draws(5000, 2, rng=rng)
    radius = latent_space.prior_spacing(points, n)
    assert radius.min() == pytest.approx(0.03, abs=0.001) and radius.max() == pytest.approx(0.14, abs=0.01)
    z = rng.standard_normal((n, 2))
    clouds = {"prior": (z, 0.99), "twice as wide": (2 * z, 0.85), "a third": (z / 3, 0.44),
              "split by a lane of 1": (z + np.where(z[:, :1] > 0, 0.5, -0.5) * np.array([1.0, 0.0]), 0.61)}
    for name, (cloud, expected) in clouds.items():
        covered = latent_space.covered_by_codes(points, cloud, radius)
        assert covered.dtype == bool and covered.shape == (5000,)
        # binomial s.e. over 5,000 points is at most 0.007; the codes' own randomness adds about as much
        assert covered.mean() == pytest.approx(expected, abs=0.025), name
    # one radius for every point works too; covered and far are complements
    far = latent_space.fraction_far_from_codes(points, 2 * z, 0.1)
    assert round(far * len(points)) + latent_space.covered_by_codes(points, 2 * z, 0.1).sum() == len(points)


def test_bad_coverage_arguments():
    with pytest.raises(ValueError, match="level must be < 1"):
        latent_space.prior_region_draws(10, 2, rng=0, level=1.0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        latent_space.prior_region_draws(0, 2, rng=0)
    with pytest.raises(TypeError, match="rng must be a numpy Generator"):
        latent_space.prior_region_draws(10, 2, rng="seed")
    with pytest.raises(ValueError, match="n_codes must be >= 1"):
        latent_space.prior_spacing(np.zeros((3, 2)), 0)
    with pytest.raises(ValueError, match="quantile must be < 1"):
        latent_space.prior_spacing(np.zeros((3, 2)), 10, quantile=1.0)
    with pytest.raises(ValueError, match=r"radius must be one distance or one per point \(3 values\)"):
        latent_space.covered_by_codes(np.zeros((3, 2)), np.zeros((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="radius must be >= 0"):
        latent_space.covered_by_codes(np.zeros((3, 2)), np.zeros((3, 2)), -0.5)
    with pytest.raises(ValueError, match="points must have 2 columns"):
        latent_space.covered_by_codes(np.zeros((3, 3)), np.zeros((3, 2)), 0.5)
