"""Travelling in a 2-D latent space: off-centre Gaussian draws, sigma ellipses and interpolation paths.

Pure NumPy/SciPy functions (plus a batched decoder call) for the chapter "Latent travel", which
checks the report's reading of its figure 14: decode draws from the off-centre distribution
N(m, s^2 I) (the report uses m = 1, s = 0.5) and decode points on straight lines between two
encoded test digits. The measures here describe *where* those points fall (inside which sigma
ellipse, how far along a path) and *what* a classifier makes of the decoded images along a path
(which digit wins at the border between the two endpoints' digits, whether a third digit appears
on the way). Every public argument is validated and a bad one raises naming it.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import spatial, stats

from vaelib import evaluate, latent, metrics
from vaelib.checks import check_images, check_int, check_labels, check_real, check_seed
from vaelib.latent import check_codes
from vaelib.memory import in_blocks, releases_free_memory

__all__ = [
    "gaussian_draws",
    "sigma_region_mass",
    "sigma_ellipse",
    "standard_normal_mass",
    "standardised_radius",
    "fraction_within",
    "interpolate",
    "decode",
    "latent_interpolation",
    "sample_pairs",
    "path_class_summary",
    "midpoint_ratio",
    "path_label_agreement",
    "class_entropy_se",
    "fraction_se",
    "measure_figure14",
]

BLEND_MIN_PROBABILITY = 0.25  # a border image "blends" A and B if min(p_A, p_B) > 0.25 (odds of at most 3 to 1)


def _location(mean, std, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``mean`` and ``std`` (scalars or length-``dim`` vectors) as float64 vectors of length ``dim``."""
    out = []
    for name, value, positive in (("mean", mean, False), ("std", std, True)):
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            vector = np.full(dim, check_real(name, value, minimum=0.0, inclusive_minimum=False) if positive
                             else check_real(name, value))
        else:
            vector = np.asarray(value)
            if vector.dtype == object or not np.issubdtype(vector.dtype, np.number) or vector.dtype == np.bool_:
                raise TypeError(f"{name} must be a real number or a vector of {dim} real numbers, got {value!r}")
            vector = vector.astype(np.float64).reshape(-1)
            if vector.shape != (dim,):
                raise ValueError(f"{name} must be a real number or a vector of {dim} numbers, got shape {np.shape(value)}")
            if not np.all(np.isfinite(vector)):
                raise ValueError(f"{name} must be finite, got {value!r}")
            if positive and np.any(vector <= 0):
                raise ValueError(f"{name} must be > 0 in every dimension, got {value!r}")
        out.append(vector)
    return out[0], out[1]


def gaussian_draws(n: int, mean=1.0, std=0.5, *, dim: int = 2, seed: int = 0) -> np.ndarray:
    """``n`` draws from N(mean, diag(std^2)) in ``dim`` dimensions, shape (n, dim), float64.

    The report's figure 14 decodes draws from N(1, 0.5^2 I): ``mean=1.0, std=0.5`` (the defaults).
    Seeded with ``np.random.default_rng(seed)``: the same seed gives the same draws.
    """
    n = check_int("n", n, minimum=1)
    dim = check_int("dim", dim, minimum=1)
    seed = check_seed(seed)
    mean, std = _location(mean, std, dim)
    return mean + std * np.random.default_rng(seed).standard_normal((n, dim))


def sigma_region_mass(n_sigma: float, dim: int = 2) -> float:
    """Probability mass of a Gaussian inside its ``n_sigma`` ellipse: P(chi^2_dim <= n_sigma^2).

    In 2-D this is 1 - exp(-n_sigma^2 / 2): 0.393 for 1 sigma, 0.865 for 2 sigma (not the
    0.683 and 0.954 of one dimension).
    """
    n_sigma = check_real("n_sigma", n_sigma, minimum=0.0)
    dim = check_int("dim", dim, minimum=1)
    return float(stats.chi2.cdf(n_sigma**2, df=dim))


def sigma_ellipse(mean=1.0, std=0.5, n_sigma: float = 1.0, *, n_points: int = 200) -> np.ndarray:
    """Points (n_points, 2) on the ``n_sigma`` contour of N(mean, diag(std^2)) in 2-D.

    The contour is the ellipse (z - mean)_j / std_j = n_sigma (cos t, sin t); the first point
    repeats as the last, so the polygon closes when drawn.
    """
    mean, std = _location(mean, std, 2)
    n_sigma = check_real("n_sigma", n_sigma, minimum=0.0, inclusive_minimum=False)
    n_points = check_int("n_points", n_points, minimum=4)
    angle = np.linspace(0.0, 2.0 * math.pi, n_points)
    unit = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    unit[-1] = unit[0]  # close the polygon exactly
    return mean + n_sigma * std * unit


def standard_normal_mass(mean=1.0, std=0.5, n_sigma: float = 2.0, *, dim: int = 2) -> float:
    """Mass that the prior N(0, I) puts inside the ``n_sigma`` ball of an isotropic N(mean, std^2 I).

    The ball is |z - mean| <= n_sigma * std; for z ~ N(0, I), |z - mean|^2 is a noncentral chi^2
    variable with ``dim`` degrees of freedom and noncentrality |mean|^2, so the mass is its CDF at
    (n_sigma * std)^2. ``std`` must be a scalar (the ball is round only for an isotropic Gaussian).
    """
    dim = check_int("dim", dim, minimum=1)
    if not isinstance(std, numbers.Real) or isinstance(std, bool):
        raise TypeError(f"std must be one real number (an isotropic Gaussian), got {std!r}")
    mean, std_vector = _location(mean, std, dim)
    n_sigma = check_real("n_sigma", n_sigma, minimum=0.0)
    radius_sq = (n_sigma * std_vector[0]) ** 2
    centre_sq = float(mean @ mean)
    if centre_sq == 0.0:
        return float(stats.chi2.cdf(radius_sq, df=dim))
    return float(stats.ncx2.cdf(radius_sq, df=dim, nc=centre_sq))


def standardised_radius(points, mean=1.0, std=0.5) -> np.ndarray:
    """Distance of each of ``points`` (n, d) from ``mean`` in units of ``std`` (the Mahalanobis
    distance for N(mean, diag(std^2))), shape (n,). A point is inside the k-sigma ellipse iff <= k."""
    points = check_codes(points, name="points")
    mean, std = _location(mean, std, points.shape[1])
    return np.sqrt(np.sum(((points - mean) / std) ** 2, axis=1))


def fraction_within(points, mean=1.0, std=0.5, n_sigma: float = 2.0) -> float:
    """Fraction of ``points`` (n, d) inside the ``n_sigma`` ellipse of N(mean, diag(std^2))."""
    n_sigma = check_real("n_sigma", n_sigma, minimum=0.0)
    return float(np.mean(standardised_radius(points, mean, std) <= n_sigma))


def interpolate(start, end, n_steps: int) -> np.ndarray:
    """Points on the straight line from ``start`` to ``end``: (1 - t) start + t end, t = 0, ..., 1.

    ``start`` and ``end`` are vectors (d,) -> result (n_steps, d), or batches (n, d) -> result
    (n, n_steps, d). The same function interpolates latent codes and images (pixel space). The
    first and last points equal ``start`` and ``end`` exactly.
    """
    n_steps = check_int("n_steps", n_steps, minimum=2)
    arrays = []
    for name, value in (("start", start), ("end", end)):
        array = np.asarray(value)
        if array.dtype == object or not np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_:
            raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}")
        if array.ndim not in (1, 2) or array.size == 0:
            raise ValueError(f"{name} must have shape (d,) or (n, d), got {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite values")
        arrays.append(array.astype(np.float64))
    start, end = arrays
    if start.shape != end.shape:
        raise ValueError(f"start and end must have the same shape, got {start.shape} and {end.shape}")
    t = np.linspace(0.0, 1.0, n_steps)
    t = t[:, None] if start.ndim == 1 else t[None, :, None]
    a, b = (start, end) if start.ndim == 1 else (start[:, None, :], end[:, None, :])
    path = (1.0 - t) * a + t * b
    # (1 - 1) * a + 1 * b is b exactly and (1 - 0) * a + 0 * b is a exactly in floating point
    return path


def decode(model, z, *, batch_size: int = 4096) -> np.ndarray:
    """Decoded pixel means of latent points ``z`` (..., d): float32 images (..., 784) in [0, 1].

    Any leading shape is kept, so a batch of paths (n, n_steps, d) gives (n, n_steps, 784).
    """
    if not hasattr(model, "decode"):
        raise TypeError(f"model must have a decode method (a vaelib VAE or autoencoder), got {type(model).__name__}")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    z = np.asarray(z)
    if z.ndim < 1:
        raise ValueError(f"z must have shape (..., d), got a scalar {z!r}")
    flat = check_codes(z.reshape(-1, z.shape[-1]), name="z")
    images = in_blocks(model.decode, flat.astype(np.float32), rows=batch_size).astype(np.float32)
    return np.clip(images, 0.0, 1.0).reshape(*z.shape[:-1], images.shape[-1])


def latent_interpolation(model, x_start, x_end, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Decode the straight line between the posterior means of two sets of images.

    Parameters
    ----------
    model : a vaelib VAE (``encode`` -> (mu, log_var), ``decode`` -> pixel means)
    x_start, x_end : images (n, 784) in [0, 1]; pair i runs from x_start[i] to x_end[i]
    n_steps : points per path, endpoints included

    Returns
    -------
    z : (n, n_steps, d) latent path, from mu(x_start) to mu(x_end) of q_phi(z|x) (eq. 2)
    images : (n, n_steps, 784) decoded pixel means along it
    """
    mu_start, _ = metrics.encode_mean(model, x_start)
    mu_end, _ = metrics.encode_mean(model, x_end)
    if mu_start.shape != mu_end.shape:
        raise ValueError(f"x_start and x_end must hold the same number of images, got {len(mu_start)} and {len(mu_end)}")
    z = interpolate(mu_start, mu_end, n_steps)
    return z, decode(model, z)


def sample_pairs(labels, n_pairs: int, *, seed: int = 0) -> np.ndarray:
    """``n_pairs`` random pairs of indices (n_pairs, 2) into ``labels`` whose two labels differ.

    Each pair is drawn uniformly among ordered pairs of different digits (rejection sampling with
    ``np.random.default_rng(seed)``); pairs may repeat across rows.
    """
    labels = np.asarray(labels)
    labels = check_labels(labels, len(labels))
    n_pairs = check_int("n_pairs", n_pairs, minimum=1)
    seed = check_seed(seed)
    if len(np.unique(labels)) < 2:
        raise ValueError("labels must contain at least two different digits to form pairs")
    rng = np.random.default_rng(seed)
    pairs = np.empty((0, 2), dtype=np.int64)
    while len(pairs) < n_pairs:
        candidates = rng.integers(0, len(labels), size=(2 * n_pairs, 2))
        candidates = candidates[labels[candidates[:, 0]] != labels[candidates[:, 1]]]
        pairs = np.concatenate([pairs, candidates])
    return pairs[:n_pairs]


def path_class_summary(probs, start_labels, end_labels, *, blend_min: float = BLEND_MIN_PROBABILITY) -> dict[str, np.ndarray]:
    """What a classifier sees along each path from a digit of class A to one of class B.

    Parameters
    ----------
    probs : class probabilities along the paths, shape (n, n_steps, 10)
    start_labels, end_labels : the digits A and B of each path, shape (n,), A != B
    blend_min : the border image counts as a blend of A and B if min(p_A, p_B) there exceeds this

    Returns a dict of arrays of shape (n,):

    ``border_step`` -- the step where p_A and p_B are closest (the border between the digits);
    ``border_min`` -- min(p_A, p_B) at that step: near 0.5 when the border image is an even blend
    of both digits, near 0 when the classifier sees neither or jumps from A to B;
    ``blend`` -- True when ``border_min`` > ``blend_min``;
    ``third_fraction`` -- fraction of the path's points whose top class is neither A nor B;
    ``direct`` -- True when no point of the path is classified as a third digit.
    """
    probs = np.asarray(probs)
    if probs.ndim != 3:
        raise ValueError(f"probs must have shape (n, n_steps, 10), got {probs.shape}")
    n, n_steps, _ = probs.shape
    probs = evaluate.check_probabilities(probs.reshape(n * n_steps, -1)).reshape(n, n_steps, -1)
    a = check_labels(np.asarray(start_labels), n, name="start_labels")
    b = check_labels(np.asarray(end_labels), n, name="end_labels")
    if np.any(a == b):
        raise ValueError("start_labels and end_labels must differ in every pair (a path from a digit to another)")
    blend_min = check_real("blend_min", blend_min, minimum=0.0, maximum=0.5)
    rows = np.arange(n)
    p_a, p_b = probs[rows, :, a], probs[rows, :, b]
    border = np.argmin(np.abs(p_a - p_b), axis=1)
    predicted = probs.argmax(axis=2)
    third = (predicted != a[:, None]) & (predicted != b[:, None])
    border_min = np.minimum(p_a, p_b)[rows, border]
    return {"border_step": border, "border_min": border_min, "blend": border_min > blend_min,
            "third_fraction": third.mean(axis=1), "direct": ~third.any(axis=1)}


def midpoint_ratio(values) -> np.ndarray:
    """How far each path rises above its ends: the value at the middle step / mean of the two endpoints.

    ``values`` (n, n_steps), n_steps odd, is a non-negative measure along each path, e.g. the
    distance of each decoded image to its nearest training image. t = 1/2 is where a pixel-space
    blend of two digits is most unlike either; a path that stays as close to the data as its
    endpoints gives about 1, a path through empty space gives more. Shape (n,).
    """
    values = check_codes(values, name="values")
    n_steps = values.shape[1]
    if n_steps < 3 or n_steps % 2 == 0:
        raise ValueError(f"values must have an odd number of steps >= 3 (a middle point), got shape {values.shape}")
    if np.any(values < 0):
        raise ValueError("values must be non-negative")
    ends = 0.5 * (values[:, 0] + values[:, -1])
    if np.any(ends <= 0):
        raise ValueError("values at the two endpoints of a path must not both be 0 (the ratio would be undefined)")
    return values[:, n_steps // 2] / ends


def path_label_agreement(z_paths, predicted, codes, labels, *, k: int = 15) -> np.ndarray:
    """Per path, how often the digit decoded at a point is the digit of the codes around it.

    Parameters
    ----------
    z_paths : latent points (n, n_steps, d), e.g. from :func:`interpolate`
    predicted : the classifier's digit for the decoded image at each point, shape (n, n_steps)
    codes, labels : encoded test images (m, d) and their true digits (m,)
    k : neighbours in the majority vote

    Returns the fraction (n,) of each path's points whose decoded digit equals the majority label
    of the ``k`` nearest codes (ties to the smallest digit, as in :func:`vaelib.metrics.knn_accuracy`,
    whose value on all points at once is the mean of this array): 1 when every region of the space
    decodes to the digits encoded there, about 0.1 when location and decoded digit are unrelated.
    """
    z_paths = np.asarray(z_paths)
    if z_paths.ndim != 3:
        raise ValueError(f"z_paths must have shape (n, n_steps, d), got {z_paths.shape}")
    n, n_steps, _ = z_paths.shape
    codes = check_codes(codes, name="codes")
    points = check_codes(z_paths.reshape(n * n_steps, -1), name="z_paths", dim=codes.shape[1])
    labels = check_labels(np.asarray(labels), len(codes))
    predicted = np.asarray(predicted)
    if predicted.shape != (n, n_steps):
        raise ValueError(f"predicted must have shape {(n, n_steps)} (one digit per path point), got {predicted.shape}")
    predicted = check_labels(predicted.reshape(-1), n * n_steps, name="predicted")
    k = check_int("k", k, minimum=1, maximum=len(codes))
    _, neighbours = spatial.cKDTree(codes).query(points, k=k)
    votes = labels[np.asarray(neighbours).reshape(len(points), k)]
    counts = np.zeros((len(points), 10), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(len(points)), k), votes.reshape(-1)), 1)
    return (counts.argmax(axis=1) == predicted).reshape(n, n_steps).mean(axis=1)


def class_entropy_se(probs) -> float:
    """Delta-method standard error, in bits, of :func:`vaelib.evaluate.class_entropy` over n images.

    For class frequencies p_k from n images, Var(H) ~= (sum_k p_k log2(p_k)^2 - H^2) / n.
    """
    frequencies = evaluate.class_histogram(probs)
    n = len(evaluate.check_probabilities(probs))
    frequencies = frequencies[frequencies > 0]
    logs = np.log2(frequencies)
    entropy = -np.sum(frequencies * logs)
    return float(math.sqrt(max(0.0, np.sum(frequencies * logs**2) - entropy**2) / n))


def fraction_se(fraction: float, n: int) -> float:
    """Binomial standard error sqrt(p (1 - p) / n) of a fraction ``p`` estimated from ``n`` trials."""
    fraction = check_real("fraction", fraction, minimum=0.0, maximum=1.0)
    n = check_int("n", n, minimum=1)
    return math.sqrt(fraction * (1.0 - fraction) / n)


@releases_free_memory
def measure_figure14(models, classifier, x_test, y_test, x_train, *, seed: int = 0, n_draws: int = 1000,
                     n_pairs: int = 300, n_steps: int = 21, n_reference: int = 5000, k: int = 15,
                     threshold: float = 0.9, mean: float = 1.0, std: float = 0.5) -> dict:
    """Every number the chapter "Latent travel" reports, from the two models of the report's figure 14.

    Parameters
    ----------
    models : mapping beta -> trained VAE; must hold beta = 0 and beta = 5 (the report's pair)
    classifier : a :class:`vaelib.evaluate.Classifier` (or keras model) giving class probabilities
    x_test, y_test : test images (n, 784) in [0, 1] and their digits; x_train : training images, the
        first ``n_reference`` of which are searched for nearest neighbours
    seed : seeds the off-centre draws (``seed``), the prior draws (``seed + 1``) and the random pairs
    n_draws : draws from N(mean, std^2 I) decoded per model; n_pairs, n_steps : random pairs of test
        digits of different classes and points per path (odd); k : neighbours naming a region's digit
    threshold : a decoded image is "recognised" if its top-class probability exceeds this

    Returns
    -------
    dict with ``draws`` (n_draws, 2); ``prior_mass`` (:func:`standard_normal_mass` of the 2-sigma ball);
    ``test_recognised``; per beta (dicts keyed by beta): ``codes`` and ``sigmas`` (posterior means and
    standard deviations of the test digits), ``decoded`` and ``draw_probs`` (the decoded draws and the
    classifier's probabilities), ``where`` (test codes in the 2-sigma ellipse and their digits, the
    fraction of draws far from every code) and ``seen`` (recognised fraction, mean confidence, class
    entropy and its s.e., class histogram; the same decoder's recognised reconstructions and the class
    entropy of its N(0, I) samples); ``pairs`` (n_pairs, 2); ``along``, keyed by "pixel space" and by
    beta, with arrays (n_pairs, n_steps) ``confidence`` and ``distance`` (to the nearest reference image)
    and per pair ``midpoint`` (:func:`midpoint_ratio`), the :func:`path_class_summary` fields and, for the
    latent paths, ``agreement``; and ``claim_inputs``, the arguments of :func:`vaelib.claims.figure14_claims`.
    """
    if not isinstance(models, dict) or not {0.0, 5.0} <= set(models):
        raise ValueError(f"models must be a dict holding the beta = 0 and beta = 5 models, got keys "
                         f"{sorted(models) if isinstance(models, dict) else type(models).__name__}")
    x_test = check_images(x_test, name="x_test")
    y_test = check_labels(np.asarray(y_test), len(x_test), name="y_test")
    x_reference = check_images(x_train, name="x_train")[:check_int("n_reference", n_reference, minimum=1)]
    n_steps = check_int("n_steps", n_steps, minimum=3)
    if n_steps % 2 == 0:
        raise ValueError(f"n_steps must be odd (so that the middle of each path is one of its points), got {n_steps}")
    threshold = check_real("threshold", threshold, minimum=0.0, maximum=1.0)
    n_draws = check_int("n_draws", n_draws, minimum=2)
    seed = check_seed(seed)

    test_probs = evaluate.predict_proba(classifier, x_test)
    draws = gaussian_draws(n_draws, mean, std, seed=seed)
    z_prior = np.random.default_rng(seed + 1).standard_normal((n_draws, 2))  # an independent stream
    n_recon = min(1000, len(x_test))
    out = {"draws": draws, "prior_mass": standard_normal_mass(mean, std, 2.0),
           "test_recognised": evaluate.confident_fraction(test_probs, threshold),
           "codes": {}, "sigmas": {}, "decoded": {}, "draw_probs": {}, "where": {}, "seen": {}}
    for beta, model in models.items():
        mu, log_var = metrics.encode_mean(model, x_test)
        decoded = decode(model, draws)
        probs = evaluate.predict_proba(classifier, decoded)
        recon_probs = evaluate.predict_proba(classifier, decode(model, mu[:n_recon]))
        prior_probs = evaluate.predict_proba(classifier, decode(model, z_prior))
        inside = standardised_radius(mu, mean, std) <= 2.0
        spacing = latent.typical_spacing(mu, 0.99)
        out["codes"][beta], out["sigmas"][beta] = mu, np.exp(0.5 * log_var)
        out["decoded"][beta], out["draw_probs"][beta] = decoded, probs
        out["where"][beta] = {"codes_in_2sigma": float(inside.mean()), "digits": np.bincount(y_test[inside], minlength=10),
                              "spacing": spacing, "far": latent.fraction_far_from_codes(draws, mu, spacing)}
        out["seen"][beta] = {"recognised": evaluate.confident_fraction(probs, threshold),
                             "confidence": evaluate.mean_confidence(probs), "entropy": evaluate.class_entropy(probs),
                             "entropy_se": class_entropy_se(probs), "histogram": evaluate.class_histogram(probs),
                             "recon_recognised": evaluate.confident_fraction(recon_probs, threshold),
                             "prior_entropy": evaluate.class_entropy(prior_probs)}

    pairs = sample_pairs(y_test, n_pairs, seed=seed)
    label_a, label_b = y_test[pairs[:, 0]], y_test[pairs[:, 1]]

    def paths():
        # one kind of path at a time: the images of a kind (n_pairs x n_steps x 784) are built when needed
        yield "pixel space", None, interpolate(x_test[pairs[:, 0]], x_test[pairs[:, 1]], n_steps).astype(np.float32)
        for beta, model in models.items():
            yield beta, *latent_interpolation(model, x_test[pairs[:, 0]], x_test[pairs[:, 1]], n_steps)

    along = {}
    for kind, z_paths, images in paths():
        flat = images.reshape(-1, images.shape[-1])
        probs = evaluate.predict_proba(classifier, flat).reshape(len(pairs), n_steps, -1)
        distance = metrics.nearest_neighbour_distance(flat, x_reference).reshape(len(pairs), n_steps)
        along[kind] = {"confidence": probs.max(axis=2), "distance": distance, "midpoint": midpoint_ratio(distance),
                       **path_class_summary(probs, label_a, label_b)}
        if z_paths is not None:
            along[kind]["agreement"] = path_label_agreement(z_paths, probs.argmax(axis=2), out["codes"][kind], y_test, k=k)
        del images, flat  # freed before the next kind's images are built
    out["pairs"], out["along"] = pairs, along
    latent5 = along[5.0]
    out["claim_inputs"] = {
        "recognised_0": out["seen"][0.0]["recognised"], "recognised_5": out["seen"][5.0]["recognised"],
        "n_draws": n_draws, "entropy_5": out["seen"][5.0]["entropy"], "entropy_5_se": out["seen"][5.0]["entropy_se"],
        "agreement_5": latent5["agreement"], "blended_5": latent5["blend"][latent5["direct"]],
        # paired: the same pairs of digits on both kinds of path
        "midpoint_gap": along["pixel space"]["midpoint"] - latent5["midpoint"],
        "confidence_gap": midpoint_ratio(latent5["confidence"]) - midpoint_ratio(along["pixel space"]["confidence"])}
    return out
