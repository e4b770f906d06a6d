"""Tests of vaelib.measures.travel (off-centre draws, sigma ellipses, interpolation paths, path measures)
and of the figures in vaelib.plots.travel."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vaelib.measures import figure14, metrics, travel  # noqa: E402
from vaelib.plots import travel as travel_plots  # noqa: E402


class LinearDecoder:
    """A stand-in for a VAE: encode maps an image to (mean of its first/second halves, zeros); decode maps z to
    images whose pixels are a fixed sigmoid of a linear function of z (enough to test shapes and plumbing)."""

    def __init__(self, seed=0):
        self.weights = np.random.default_rng(seed).standard_normal((2, 784)).astype(np.float32)

    def encode(self, x):
        x = np.asarray(x, dtype=np.float32)
        mu = np.stack([x[:, :392].mean(axis=1), x[:, 392:].mean(axis=1)], axis=1)
        return mu, np.zeros_like(mu)

    def decode(self, z):
        return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float32) @ self.weights))


# --- off-centre draws and sigma ellipses ---------------------------------------------------------------

def test_gaussian_draws_have_the_requested_moments_and_are_seeded():
    z = travel.gaussian_draws(200_000, 1.0, 0.5, seed=3)
    assert z.shape == (200_000, 2)
    # s.e. of the mean: 0.5 / sqrt(2e5) = 0.0011, 5 s.e. = 0.0056; of the std: 0.5 / sqrt(4e5) = 0.0008, 5 s.e. = 0.004
    assert np.all(np.abs(z.mean(axis=0) - 1.0) < 0.0056)
    assert np.all(np.abs(z.std(axis=0) - 0.5) < 0.004)
    assert np.array_equal(z, travel.gaussian_draws(200_000, 1.0, 0.5, seed=3))
    assert not np.array_equal(z[:10], travel.gaussian_draws(10, 1.0, 0.5, seed=4))


def test_gaussian_draws_accept_vector_mean_and_std():
    z = travel.gaussian_draws(100_000, [2.0, -1.0], [0.1, 3.0], seed=0)
    # 5 s.e. of each mean: 5 * std / sqrt(1e5)
    assert abs(z[:, 0].mean() - 2.0) < 5 * 0.1 / np.sqrt(1e5) and abs(z[:, 1].mean() + 1.0) < 5 * 3.0 / np.sqrt(1e5)


def test_sigma_region_mass_matches_closed_form_and_monte_carlo():
    for k in (0.5, 1.0, 2.0, 3.0):
        assert travel.sigma_region_mass(k, 2) == pytest.approx(1 - np.exp(-k**2 / 2), abs=1e-12)
    assert travel.sigma_region_mass(1.0, 1) == pytest.approx(0.682689492, abs=1e-9)  # the 1-D "68%"
    z = travel.gaussian_draws(100_000, 1.0, 0.5, seed=1)
    for k in (1.0, 2.0):
        p = travel.sigma_region_mass(k)
        # binomial s.e. sqrt(p(1-p)/1e5) <= 0.0016; 5 s.e.
        assert abs(travel.fraction_within(z, 1.0, 0.5, k) - p) < 5 * figure14.fraction_se(p, 100_000)


def test_sigma_ellipse_geometry():
    points = travel.sigma_ellipse([1.0, -2.0], [0.5, 2.0], 2.0, n_points=101)
    assert points.shape == (101, 2)
    assert np.array_equal(points[0], points[-1])                      # closed polygon
    # every point is exactly 2 standard deviations from the centre (float precision)
    assert np.allclose(travel.standardised_radius(points, [1.0, -2.0], [0.5, 2.0]), 2.0, atol=1e-12)
    assert np.allclose(points.mean(axis=0)[:1], 1.0, atol=0.05)       # centred (up to the repeated point)
    assert points[:, 0].max() == pytest.approx(1.0 + 2 * 0.5) and points[:, 1].max() == pytest.approx(-2.0 + 2 * 2.0, abs=1e-3)


def test_standardised_radius_and_fraction_within():
    points = np.array([[1.0, 1.0], [1.5, 1.0], [2.0, 1.0], [1.0, 2.5]])
    assert np.allclose(travel.standardised_radius(points, 1.0, 0.5), [0.0, 1.0, 2.0, 3.0])
    assert travel.fraction_within(points, 1.0, 0.5, 2.0) == 0.75
    assert travel.fraction_within(points, 1.0, 0.5, 0.5) == 0.25


# --- paths --------------------------------------------------------------------------------------------

def test_interpolation_endpoints_equal_the_inputs_and_midpoint_is_the_average():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(size=784), rng.uniform(size=784)
    path = travel.interpolate(a, b, 11)
    assert path.shape == (11, 784)
    assert np.array_equal(path[0], a) and np.array_equal(path[-1], b)
    assert np.allclose(path[5], 0.5 * (a + b), atol=1e-15)
    assert np.all((path >= 0) & (path <= 1))                          # convex combinations of images stay images
    steps = np.diff(path, axis=0)
    assert np.allclose(steps, steps[0], atol=1e-12)                   # equal steps: a straight line at constant speed


def test_interpolation_of_batches():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((7, 2)), rng.standard_normal((7, 2))
    paths = travel.interpolate(a, b, 5)
    assert paths.shape == (7, 5, 2)
    assert np.array_equal(paths[:, 0], a) and np.array_equal(paths[:, -1], b)
    for i in range(7):
        assert np.allclose(paths[i], travel.interpolate(a[i], b[i], 5), atol=0)


def test_decode_keeps_leading_shape_and_latent_interpolation_connects_the_codes():
    model = LinearDecoder()
    z = np.random.default_rng(2).standard_normal((3, 4, 2))
    images = travel.decode(model, z, batch_size=5)                    # batches that split the points unevenly
    assert images.shape == (3, 4, 784) and images.dtype == np.float32
    assert np.allclose(images.reshape(12, 784), model.decode(z.reshape(12, 2)), atol=1e-6)
    x = np.random.default_rng(3).uniform(size=(6, 784)).astype(np.float32)
    z_path, decoded = travel.latent_interpolation(model, x[:3], x[3:], 9)
    mu_start, _ = model.encode(x[:3])
    mu_end, _ = model.encode(x[3:])
    assert z_path.shape == (3, 9, 2) and decoded.shape == (3, 9, 784)
    assert np.allclose(z_path[:, 0], mu_start, atol=1e-7) and np.allclose(z_path[:, -1], mu_end, atol=1e-7)
    assert np.allclose(decoded[:, 0], model.decode(mu_start), atol=1e-6)


def test_sample_pairs_have_different_labels_and_are_seeded():
    labels = np.repeat(np.arange(10), 20)
    pairs = figure14.sample_pairs(labels, 500, seed=0)
    assert pairs.shape == (500, 2)
    assert np.all(labels[pairs[:, 0]] != labels[pairs[:, 1]])
    assert np.array_equal(pairs, figure14.sample_pairs(labels, 500, seed=0))
    assert len(np.unique(labels[pairs[:, 0]])) == 10


def _probs_along(path_classes, confident=0.9):
    """Probabilities (n_steps, 10) whose top class along the path is path_classes[i] with the given confidence."""
    probs = np.full((len(path_classes), 10), (1 - confident) / 9)
    probs[np.arange(len(path_classes)), path_classes] = confident
    return probs


def test_path_class_summary_finds_borders_blends_and_third_digits():
    direct = _probs_along([3, 3, 3, 5, 5])
    blend = np.full(10, 0.02)
    blend[[3, 5]] = 0.42
    direct[2] = blend                                                  # an even blend of 3 and 5 in the middle
    via_seven = _probs_along([3, 7, 7, 7, 5])
    summary = figure14.path_class_summary(np.stack([direct, via_seven]), np.array([3, 3]), np.array([5, 5]))
    assert list(summary["direct"]) == [True, False]
    assert summary["border_step"][0] == 2 and summary["border_min"][0] == pytest.approx(0.42)
    assert list(summary["blend"]) == [True, False]
    assert np.allclose(summary["third_fraction"], [0.0, 0.6])


def test_midpoint_ratio():
    values = np.array([[2.0, 5.0, 6.0, 5.0, 4.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    assert np.allclose(figure14.midpoint_ratio(values), [2.0, 1.0])


def test_path_label_agreement_matches_knn_accuracy():
    rng = np.random.default_rng(5)
    codes = rng.standard_normal((400, 2))
    labels = (codes[:, 0] > 0).astype(np.int64) + 2 * (codes[:, 1] > 0)  # four quadrants: digits 0-3
    z_paths = travel.interpolate(rng.standard_normal((6, 2)), rng.standard_normal((6, 2)), 7)
    truth = (z_paths[..., 0] > 0).astype(np.int64) + 2 * (z_paths[..., 1] > 0)
    agreement = figure14.path_label_agreement(z_paths, truth, codes, labels, k=5)
    assert agreement.shape == (6,) and np.all(agreement > 0.7)          # the quadrant decides the digit
    predicted = rng.integers(0, 4, size=(6, 7))
    mean = figure14.path_label_agreement(z_paths, predicted, codes, labels, k=5).mean()
    expected = metrics.knn_accuracy(codes, labels, z_paths.reshape(-1, 2), predicted.reshape(-1), k=5)
    assert mean == pytest.approx(expected, abs=1e-12)                    # equal-length paths: same average


def test_class_entropy_se_against_repeated_sampling():
    rng = np.random.default_rng(6)
    p = np.array([0.5, 0.3, 0.2] + [0.0] * 7)
    n = 2000

    def probs_of(labels):
        probs = np.full((len(labels), 10), 0.01)
        probs[np.arange(len(labels)), labels] = 0.91
        return probs

    from vaelib.measures import judge
    entropies = [judge.class_entropy(probs_of(rng.choice(10, size=n, p=p))) for _ in range(300)]
    se = figure14.class_entropy_se(probs_of(rng.choice(10, size=n, p=p)))
    # the delta-method s.e. agrees with the spread of 300 replicates to within 20% (the s.e. of a standard
    # deviation from 300 replicates is 4%; 20% leaves room for the plug-in bias of the formula)
    assert se == pytest.approx(np.std(entropies, ddof=1), rel=0.2)


# --- figures ------------------------------------------------------------------------------------------

def test_figures_are_drawn():
    rng = np.random.default_rng(8)
    codes, labels = rng.standard_normal((300, 2)), rng.integers(0, 10, 300)
    fig = travel_plots.draws_on_codes(codes, labels, travel.gaussian_draws(50), title="t", show_window=2.0)
    ax = fig.axes[0]
    assert ax.get_title() == "t" and len(ax.lines) == 2                    # the 1- and 2-sigma ellipses
    assert np.allclose(ax.lines[1].get_xydata(), travel.sigma_ellipse(1.0, 0.5, 2.0))
    plt.close(fig)
    fig = travel_plots.draws_on_codes(codes, labels, travel.gaussian_draws(50), window=2.0, legend=False)
    assert fig.axes[0].get_xlim() == pytest.approx((-1.0, 3.0))
    plt.close(fig)
    t = np.linspace(0, 1, 5)
    images = travel.interpolate(np.zeros(784), np.ones(784), 5).astype(np.float32)
    fig = travel_plots.interpolation_strips({"pixels": images, "again": images}, t, title="strip")
    assert len(fig.axes) == 2
    plt.close(fig)
    fig = travel_plots.path_profiles(t, {"y": {"a": rng.uniform(size=(4, 5)), "b": rng.uniform(size=(4, 5))}})
    assert len(fig.axes[0].lines) == 2
    plt.close(fig)


# --- bad inputs ---------------------------------------------------------------------------------------

def test_bad_draw_arguments():
    with pytest.raises(ValueError, match="std must be > 0"):
        travel.gaussian_draws(10, 1.0, 0.0)
    with pytest.raises(ValueError, match="mean must be a real number or a vector of 2"):
        travel.gaussian_draws(10, [1.0, 2.0, 3.0], 0.5)
    with pytest.raises(TypeError, match="n must be an integer"):
        travel.gaussian_draws(10.5)
    with pytest.raises(ValueError, match="n_sigma must be >"):
        travel.sigma_ellipse(1.0, 0.5, 0.0)
    with pytest.raises(ValueError, match="std must be > 0 in every dimension"):
        travel.standardised_radius(np.zeros((3, 2)), 1.0, [0.5, -1.0])


def test_bad_path_arguments():
    with pytest.raises(ValueError, match="same shape"):
        travel.interpolate(np.zeros(3), np.zeros(4), 5)
    with pytest.raises(ValueError, match="n_steps must be >= 2"):
        travel.interpolate(np.zeros(3), np.zeros(3), 1)
    with pytest.raises(ValueError, match="NaN or infinite"):
        travel.interpolate(np.array([0.0, np.nan]), np.zeros(2), 3)
    with pytest.raises(TypeError, match="decode method"):
        travel.decode(object(), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="two different digits"):
        figure14.sample_pairs(np.zeros(10, dtype=int), 3)
    with pytest.raises(ValueError, match="odd number of steps"):
        figure14.midpoint_ratio(np.ones((2, 4)))
    with pytest.raises(ValueError, match="must differ in every pair"):
        figure14.path_class_summary(np.full((1, 3, 10), 0.1), np.array([2]), np.array([2]))
    with pytest.raises(ValueError, match="predicted must have shape"):
        figure14.path_label_agreement(np.zeros((2, 3, 2)), np.zeros((2, 4), dtype=int), np.zeros((5, 2)), np.zeros(5, int), k=1)


def test_bad_strip_arguments():
    with pytest.raises(ValueError, match="fractions has"):
        travel_plots.interpolation_strips({"a": np.zeros((3, 784), np.float32)}, np.linspace(0, 1, 4))


def test_standard_normal_mass_matches_monte_carlo():
    z = np.random.default_rng(9).standard_normal((200_000, 2))
    for mean, std, k in ((1.0, 0.5, 2.0), (1.0, 0.5, 1.0), (0.0, 1.0, 2.0), ([2.0, -1.0], 0.3, 3.0)):
        exact = travel.standard_normal_mass(mean, std, k)
        # binomial s.e. of a fraction from 2e5 draws, 5 s.e.
        assert abs(travel.fraction_within(z, mean, std, k) - exact) < 5 * figure14.fraction_se(exact, 200_000) + 1e-12
    assert travel.standard_normal_mass(0.0, 1.0, 2.0) == pytest.approx(1 - np.exp(-2.0), abs=1e-12)


def test_bad_standard_normal_mass_arguments():
    with pytest.raises(TypeError, match="std must be one real number"):
        travel.standard_normal_mass(1.0, [0.5, 0.5], 2.0)


def _tiny_classifier():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(784,))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(inputs))


def test_measure_figure14_shapes_and_claims():
    rng = np.random.default_rng(10)
    x_test = rng.uniform(size=(60, 784)).astype(np.float32)
    y_test = np.arange(60) % 10
    x_train = rng.uniform(size=(40, 784)).astype(np.float32)
    models = {0.0: LinearDecoder(0), 5.0: LinearDecoder(1)}
    m = figure14.measure_figure14(models, _tiny_classifier(), x_test, y_test, x_train, n_draws=30, n_pairs=12,
                                n_steps=5, n_reference=20, k=3)
    assert m["draws"].shape == (30, 2) and np.array_equal(m["draws"], travel.gaussian_draws(30, seed=0))
    for beta in (0.0, 5.0):
        assert m["codes"][beta].shape == (60, 2) and m["decoded"][beta].shape == (30, 784)
        assert m["draw_probs"][beta].shape == (30, 10) and 0 <= m["seen"][beta]["recognised"] <= 1
        assert m["where"][beta]["digits"].sum() == round(m["where"][beta]["codes_in_2sigma"] * 60)
    assert set(m["along"]) == {"pixel space", 0.0, 5.0} and m["pairs"].shape == (12, 2)
    assert m["along"][5.0]["distance"].shape == (12, 5) and m["along"][5.0]["agreement"].shape == (12,)
    assert "agreement" not in m["along"]["pixel space"]
    from vaelib import claims

    judged = claims.figure14_claims(**m["claim_inputs"])
    assert len(judged) == 7 and all(c.verdict in claims.VERDICTS for c in judged)


def test_bad_measure_figure14_arguments():
    with pytest.raises(ValueError, match="beta = 0 and beta = 5"):
        figure14.measure_figure14({1.0: LinearDecoder()}, _tiny_classifier(), np.zeros((5, 784), np.float32),
                                np.arange(5), np.zeros((5, 784), np.float32))
    with pytest.raises(ValueError, match="n_steps must be odd"):
        figure14.measure_figure14({0.0: LinearDecoder(), 5.0: LinearDecoder()}, _tiny_classifier(),
                                np.zeros((5, 784), np.float32), np.arange(5), np.zeros((5, 784), np.float32), n_steps=4)
