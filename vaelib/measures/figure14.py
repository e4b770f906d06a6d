"""The report's figure 14 measured: what a digit classifier makes of the decoded images along paths
between two encoded test digits, and of draws from the off-centre distribution N(m, s^2 I)."""

from __future__ import annotations

import math

import numpy as np
from scipy import spatial

from vaelib._runtime.memory import releases_free_memory
from vaelib._runtime.validation import check_images, check_int, check_labels, check_real, check_seed
from vaelib.measures import judge, latent_space, metrics
from vaelib.measures.latent_space import check_codes
from vaelib.measures.travel import (
    decode, gaussian_draws, interpolate, latent_interpolation, standard_normal_mass, standardised_radius,
)
from vaelib.models.networks import encode_mean

BLEND_MIN_PROBABILITY = 0.25  # a border image "blends" A and B if min(p_A, p_B) > 0.25 (odds of at most 3 to 1)


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
    probs = judge.check_probabilities(probs.reshape(n * n_steps, -1)).reshape(n, n_steps, -1)
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
    of the ``k`` nearest codes (ties to the smallest digit, as in :func:`vaelib.measures.metrics.knn_accuracy`,
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
    """Delta-method standard error, in bits, of :func:`vaelib.measures.judge.class_entropy` over n images.

    For class frequencies p_k from n images, Var(H) ~= (sum_k p_k log2(p_k)^2 - H^2) / n.
    """
    frequencies = judge.class_histogram(probs)
    n = len(judge.check_probabilities(probs))
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
    classifier : a :class:`vaelib.measures.judge.Classifier` (or keras model) giving class probabilities
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

    test_probs = judge.predict_proba(classifier, x_test)
    draws = gaussian_draws(n_draws, mean, std, seed=seed)
    z_prior = np.random.default_rng(seed + 1).standard_normal((n_draws, 2))  # an independent stream
    n_recon = min(1000, len(x_test))
    out = {"draws": draws, "prior_mass": standard_normal_mass(mean, std, 2.0),
           "test_recognised": judge.confident_fraction(test_probs, threshold),
           "codes": {}, "sigmas": {}, "decoded": {}, "draw_probs": {}, "where": {}, "seen": {}}
    for beta, model in models.items():
        mu, log_var = encode_mean(model, x_test)
        decoded = decode(model, draws)
        probs = judge.predict_proba(classifier, decoded)
        recon_probs = judge.predict_proba(classifier, decode(model, mu[:n_recon]))
        prior_probs = judge.predict_proba(classifier, decode(model, z_prior))
        inside = standardised_radius(mu, mean, std) <= 2.0
        spacing = latent_space.typical_spacing(mu, 0.99)
        out["codes"][beta], out["sigmas"][beta] = mu, np.exp(0.5 * log_var)
        out["decoded"][beta], out["draw_probs"][beta] = decoded, probs
        out["where"][beta] = {"codes_in_2sigma": float(inside.mean()), "digits": np.bincount(y_test[inside], minlength=10),
                              "spacing": spacing, "far": latent_space.fraction_far_from_codes(draws, mu, spacing)}
        out["seen"][beta] = {"recognised": judge.confident_fraction(probs, threshold),
                             "confidence": judge.mean_confidence(probs), "entropy": judge.class_entropy(probs),
                             "entropy_se": class_entropy_se(probs), "histogram": judge.class_histogram(probs),
                             "recon_recognised": judge.confident_fraction(recon_probs, threshold),
                             "prior_entropy": judge.class_entropy(prior_probs)}

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
        probs = judge.predict_proba(classifier, flat).reshape(len(pairs), n_steps, -1)
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
