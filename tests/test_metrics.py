"""Tests of vaelib.measures.metrics: closed forms against sampling, kNN against brute force, bad inputs."""

import numpy as np
import pytest

from vaelib.maths.gaussian import gaussian_kl_numpy
from vaelib.measures import metrics
from vaelib.models.networks import encode_mean


def test_moment_kl_is_zero_for_the_prior_and_matches_closed_form():
    rng = np.random.default_rng(0)
    n = 200_000
    z = rng.standard_normal((n, 2))
    # For n draws of N(0, I) the moment KL is ~ chi^2-like with mean (d + d(d+1)/2) / (2n) ~ 1e-5; 1e-3 is > 50x that.
    assert metrics.moment_kl_to_standard_normal(z) < 1e-3
    mean, scale = np.array([1.0, -0.5]), np.array([2.0, 0.5])
    shifted = mean + scale * z
    exact = gaussian_kl_numpy(mean, 2 * np.log(scale))  # diagonal case of eq. (10)
    # Sample moments have relative errors ~ sqrt(2/n) ~ 3e-3; a 2 % tolerance is several times that.
    assert metrics.moment_kl_to_standard_normal(shifted) == pytest.approx(exact, rel=0.02)


def test_moment_kl_sees_correlation():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((100_000, 2))
    rho = 0.8
    correlated = np.column_stack([z[:, 0], rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1]])
    exact = -0.5 * np.log(1 - rho**2)  # unit variances, zero mean: only the log-det term remains
    assert metrics.moment_kl_to_standard_normal(correlated) == pytest.approx(exact, rel=0.03)


def test_isotropy_round_and_stretched():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((50_000, 2))
    # eigenvalue ratio of a sample covariance of 50k isotropic draws: 1 - O(sqrt(1/n)) ~ 1 - 0.01
    assert metrics.covariance_isotropy(z) > 0.95
    assert metrics.covariance_isotropy(z * np.array([3.0, 1.0])) == pytest.approx(1 / 9, rel=0.05)
    rotation = np.array([[np.cos(0.7), -np.sin(0.7)], [np.sin(0.7), np.cos(0.7)]])
    assert metrics.covariance_isotropy((z * np.array([3.0, 1.0])) @ rotation.T) == pytest.approx(1 / 9, rel=0.05)


def test_active_dimensions_counts_varying_means():
    rng = np.random.default_rng(3)
    mu = np.column_stack([rng.normal(0, 1.0, 1000), rng.normal(0, 0.01, 1000), rng.normal(0, 0.5, 1000)])
    variances, n_active = metrics.active_dimensions(mu)
    assert n_active == 2
    assert variances[1] < 1e-3 and variances[0] > 0.5


def test_knn_accuracy_matches_brute_force_and_separated_clusters():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 10, 600)
    centres = rng.normal(0, 5, (10, 2))
    codes = centres[labels] + rng.normal(0, 2.0, (600, 2))
    train, test = codes[:500], codes[500:]
    k = 7
    distances = ((test[:, None, :] - train[None, :, :]) ** 2).sum(-1)
    nearest = np.argsort(distances, axis=1)[:, :k]
    votes = np.array([np.bincount(labels[:500][row], minlength=10).argmax() for row in nearest])
    brute = np.mean(votes == labels[500:])
    assert metrics.knn_accuracy(train, labels[:500], test, labels[500:], k=k) == pytest.approx(brute)
    far = centres * 100
    separated = far[labels] + rng.normal(0, 0.1, (600, 2))
    assert metrics.knn_accuracy(separated[:500], labels[:500], separated[500:], labels[500:], k=k) == 1.0


def test_squared_error_and_nearest_neighbour():
    rng = np.random.default_rng(5)
    reference = rng.uniform(0, 1, (300, 784)).astype(np.float32)
    images = np.clip(reference[[3, 150, 299]] + 0.01, 0, 1)
    expected = metrics.squared_error(images, reference[[3, 150, 299]])
    got = metrics.nearest_neighbour_distance(images, reference, chunk_size=64)
    # float64 arithmetic on float32 inputs: agreement to ~1e-9 relative; 1e-6 leaves margin
    assert got == pytest.approx(expected, rel=1e-6)
    brute = ((images[:, None, :].astype(np.float64) - reference[None].astype(np.float64)) ** 2).sum(-1).min(1)
    assert got == pytest.approx(brute, rel=1e-6)


def test_squared_error_in_blocks_equals_one_pass_and_one_image_broadcasts():
    rng = np.random.default_rng(6)
    x = rng.uniform(0, 1, (50, 784)).astype(np.float32)
    x_hat = rng.uniform(0, 1, (50, 784)).astype(np.float32)
    one_pass = np.sum((x.astype(np.float64) - x_hat.astype(np.float64)) ** 2, axis=1)
    np.testing.assert_array_equal(metrics.squared_error(x, x_hat, block_rows=7), one_pass)
    np.testing.assert_array_equal(metrics.squared_error(x, x_hat), one_pass)
    # one image against every row: the same numbers as repeating it
    mean_image = x.mean(axis=0, keepdims=True, dtype=np.float64)
    np.testing.assert_array_equal(metrics.squared_error(x, mean_image, block_rows=7),
                                  metrics.squared_error(x, np.repeat(mean_image, len(x), axis=0)))
    with pytest.raises(ValueError, match="block_rows must be >= 1, got 0"):
        metrics.squared_error(x, x_hat, block_rows=0)


class _LinearVAE:
    """A stand-in VAE: mu = first two pixels, fixed log-variance, decoder puts z back in place."""

    def __init__(self, log_var):
        self.log_var = log_var

    def encode(self, x):
        mu = x[:, :2]
        return mu, np.full_like(mu, self.log_var)

    def decode(self, z):
        out = np.zeros((len(z), 784), dtype=np.float32)
        out[:, :2] = np.clip(z, 0, 1)
        return out


def test_reconstruction_errors_at_mean_and_sampled():
    rng = np.random.default_rng(6)
    x = np.zeros((2000, 784), dtype=np.float32)
    x[:, :2] = 0.5
    x[:, 2] = rng.uniform(0, 1, 2000)
    at_mean, sampled = metrics.reconstruction_errors(_LinearVAE(np.log(0.01)), x, n_draws=4, seed=0, batch_size=500)
    np.testing.assert_allclose(at_mean, x[:, 2].astype(np.float64) ** 2, rtol=1e-6)
    # the extra error of a draw is the noise variance 0.01 per coordinate (clipping at 0.5 +- 5 sd never binds):
    # expected 2 * 0.01 = 0.02 on average; the mean over 8000 draws has se ~ 0.02 * sqrt(2/8000)/... < 5e-4
    assert np.mean(sampled - at_mean) == pytest.approx(0.02, abs=2e-3)


def test_kl_per_image_matches_gaussian():
    mu = np.array([[0.0, 0.0], [1.0, 2.0]])
    log_var = np.array([[0.0, 0.0], [0.5, -1.0]])
    np.testing.assert_allclose(metrics.kl_per_image(mu, log_var), gaussian_kl_numpy(mu, log_var))
    assert metrics.kl_per_image(mu, log_var)[0] == 0.0


def test_bad_codes_are_refused():
    with pytest.raises(ValueError, match="shape"):
        metrics.moment_kl_to_standard_normal(np.zeros(10))
    with pytest.raises(ValueError, match="NaN"):
        metrics.covariance_isotropy(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(TypeError, match="numeric"):
        metrics.active_dimensions(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.moment_kl_to_standard_normal(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="singular"):
        metrics.moment_kl_to_standard_normal(np.column_stack([np.arange(5.0), np.arange(5.0)]))


def test_invalid_knn_arguments():
    codes = np.zeros((20, 2))
    labels = np.zeros(20, dtype=int)
    with pytest.raises(ValueError, match="k must be <= 20"):
        metrics.knn_accuracy(codes, labels, codes, labels, k=21)
    with pytest.raises(TypeError, match="k must be an integer"):
        metrics.knn_accuracy(codes, labels, codes, labels, k=2.5)
    with pytest.raises(ValueError, match="same dimension"):
        metrics.knn_accuracy(codes, labels, np.zeros((20, 3)), labels)
    with pytest.raises(ValueError, match="shape"):
        metrics.knn_accuracy(codes, labels[:5], codes, labels)


def test_invalid_images_and_threshold():
    with pytest.raises(ValueError, match=r"x_hat must have the shape of x, \(2, 784\), or be one image \(1, 784\), "
                                         r"got \(3, 784\)"):
        metrics.squared_error(np.zeros((2, 784), np.float32), np.zeros((3, 784), np.float32))
    with pytest.raises(TypeError, match="uint8|floats"):
        metrics.nearest_neighbour_distance(np.zeros((2, 784), np.uint8), np.zeros((3, 784), np.float32))
    with pytest.raises(ValueError, match="threshold must be >= 0"):
        metrics.active_dimensions(np.zeros((5, 2)), threshold=-1.0)
    with pytest.raises(ValueError, match="n_draws must be >= 1"):
        metrics.reconstruction_errors(_LinearVAE(0.0), np.zeros((2, 784), np.float32), n_draws=0)
    with pytest.raises(TypeError, match="encode"):
        encode_mean(object(), np.zeros((2, 784), np.float32))


def test_summarise_vae_shapes_and_consistency():
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, (50, 784)).astype(np.float32)
    z_prior = rng.standard_normal((6, 2))
    out = metrics.summarise_vae(_LinearVAE(np.log(0.04)), x, x[:20], show=np.arange(4), z_prior=z_prior, n_draws=2)
    assert out["z"].shape == (50, 2) and out["z_reference"].shape == (20, 2)
    assert out["reconstructions"].shape == (4, 784) and out["prior_images"].shape == (6, 784)
    np.testing.assert_allclose(out["kl"], gaussian_kl_numpy(out["mu"], out["log_var"]))
    assert np.all(out["error_sampled"] >= 0) and np.all(np.isfinite(out["error_at_mean"]))
    with pytest.raises(ValueError, match="show must index"):
        metrics.summarise_vae(_LinearVAE(0.0), x, x, show=np.array([50]), z_prior=z_prior)
    with pytest.raises(ValueError, match="z_prior must have 2 columns"):
        metrics.summarise_vae(_LinearVAE(0.0), x, x, show=np.arange(3), z_prior=np.zeros((4, 3)))


def test_nearest_neighbour_distance_in_blocks_matches_brute_force():
    # more images than one block of rows (512) and several reference blocks: the blocked computation must agree
    # with the direct one to float64 round-off (squared distances of order 100, so 1e-8 absolute is ample)
    rng = np.random.default_rng(5)
    images, reference = rng.uniform(size=(1100, 784)), rng.uniform(size=(70, 784)).astype(np.float32)
    direct = ((images[:, None, :] - reference[None, :, :].astype(np.float64)) ** 2).sum(-1).min(axis=1)
    np.testing.assert_allclose(metrics.nearest_neighbour_distance(images, reference, chunk_size=32), direct, atol=1e-8)


def test_nearest_neighbour_distance_reads_uint8_reference_as_its_floats():
    from vaelib.data import to_unit_interval

    rng = np.random.default_rng(6)
    images = rng.uniform(size=(40, 784))
    pixels = rng.integers(0, 256, size=(90, 784), dtype=np.uint8)
    np.testing.assert_array_equal(metrics.nearest_neighbour_distance(images, pixels, chunk_size=32),
                                  metrics.nearest_neighbour_distance(images, to_unit_interval(pixels), chunk_size=32))
    with pytest.raises(TypeError, match="reference must be uint8 pixels 0-255 or floats"):
        metrics.nearest_neighbour_distance(images, pixels.astype(np.int32))


def test_relative_gap_and_its_standard_error_in_closed_form():
    train, test = np.array([1.0, 2.0, 3.0, 6.0]), np.array([2.0, 4.0, 3.0, 7.0, 4.0])
    gap, se = metrics.relative_gap(train, test)
    r, t = train.mean(), test.mean()
    assert gap == pytest.approx(t / r - 1, rel=1e-14)
    se_r, se_t = train.std(ddof=1) / np.sqrt(4), test.std(ddof=1) / np.sqrt(5)
    assert se == pytest.approx(t / r * np.sqrt((se_t / t) ** 2 + (se_r / r) ** 2), rel=1e-12)
    # a model against one that never errs differently on train and test (constant errors): the
    # difference's standard error is the first model's own
    diff, se_diff = metrics.relative_gap_difference(train, test, np.full(4, 2.0), np.full(5, 2.0))
    assert (diff, se_diff) == (pytest.approx(gap, rel=1e-14), pytest.approx(se, rel=1e-12))


def test_gap_difference_standard_error_against_monte_carlo():
    # two models whose errors share each image's difficulty h (paired), on independent train and test sets
    rng = np.random.default_rng(8)

    def sample(n, scale):
        h = rng.gamma(4.0, 8.0, n)
        return h * scale * rng.uniform(0.8, 1.2, n), h * 1.3 * scale * rng.uniform(0.8, 1.2, n)

    differences, ses, unpaired = [], [], []
    for _ in range(400):
        a_train, b_train = sample(500, 1.0)
        a_test, b_test = sample(500, 1.05)
        d, se = metrics.relative_gap_difference(a_train, a_test, b_train, b_test)
        differences.append(d)
        ses.append(se)
        unpaired.append(np.hypot(metrics.relative_gap(a_train, a_test)[1], metrics.relative_gap(b_train, b_test)[1]))
    # both models have the same true gap (5%): the differences centre on 0 (5 s.e. of their mean)
    assert abs(np.mean(differences)) < 5 * np.std(differences) / np.sqrt(400)
    # the delta method's s.e. matches the spread of the differences: 400 replicates give the spread to
    # about 1 / sqrt(2 * 400) = 3.5%; 15% is more than 4 times that
    assert np.mean(ses) == pytest.approx(np.std(differences, ddof=1), rel=0.15)
    # pairing the images matters: treating the two gaps as independent overstates the s.e. several times
    assert np.mean(unpaired) > 3 * np.mean(ses)


def test_errors_at_code_for_both_kinds_of_model(small_images):
    from vaelib.models.training import TrainConfig

    x = small_images[1]
    vae = TrainConfig(hidden_units=(16,), epochs=1).build_model()
    ae = TrainConfig(model="ae", hidden_units=(16,), epochs=1).build_model()
    at_code = metrics.errors_at_code(vae, x, batch_size=50)
    np.testing.assert_array_equal(at_code, metrics.reconstruction_errors(vae, x, batch_size=50)[0])
    expected = metrics.squared_error(x, np.asarray(ae.decode(ae.encode(x))))
    np.testing.assert_allclose(metrics.errors_at_code(ae, x), expected, rtol=1e-6)
    with pytest.raises(TypeError, match="model must be a vaelib Autoencoder or VAE, got _LinearVAE"):
        metrics.errors_at_code(_LinearVAE(0.0), x)


def test_bad_gap_inputs():
    good = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"train_errors must be a 1-D array of at least 2 per-image errors, got shape \(1,\)"):
        metrics.relative_gap([1.0], good)
    with pytest.raises(ValueError, match=r"test_errors must hold finite, non-negative errors"):
        metrics.relative_gap(good, [1.0, -2.0])
    with pytest.raises(ValueError, match="train_errors must have a positive mean"):
        metrics.relative_gap(np.zeros(3), good)
    with pytest.raises(ValueError, match="the two models must be measured on the same images"):
        metrics.relative_gap_difference(good, good, good[:2], good)
    with pytest.raises(ValueError, match=r"test_b must be a 1-D array"):
        metrics.relative_gap_difference(good, good, good, np.ones((3, 2)))


def test_mean_image_error_is_the_error_of_the_mean_training_image():
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (50, 784), dtype=np.uint8)
    x_test = rng.random((7, 784)).astype(np.float32)
    expected = np.mean(np.sum((x_test.astype(np.float64) - pixels.mean(axis=0) / 255.0) ** 2, axis=1))
    # images are float32 (check_images), so the mean image is rounded to float32: relative error ~1e-7
    assert metrics.mean_image_error(pixels, x_test) == pytest.approx(expected, rel=1e-6)
    assert metrics.mean_image_error(pixels / np.float32(255), x_test) == pytest.approx(expected, rel=1e-6)
    assert metrics.mean_image_error(pixels, x_test[:1]) != pytest.approx(expected, rel=1e-3)
    with pytest.raises(ValueError, match="x_train"):
        metrics.mean_image_error(np.zeros((0, 784), np.uint8), x_test)
