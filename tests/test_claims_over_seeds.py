"""vaelib.claims.over_seeds: the cache key, the stored records, the checks on what is passed in, the
table's order (and the rows chapter 12's prose names), and one measurement of every claim on tiny models.

The measurement at scale runs in chapter 12 (nbval at the defaults, papermill at smoke scale, where
the small models give new keys, so it is measured every time the library changes).
"""

import json

import keras
import numpy as np
import pytest
from synthetic import digit_blobs

from vaelib._runtime import cache

from vaelib import claims
from vaelib.claims import over_seeds
from vaelib.data import to_unit_interval
from vaelib.models.training import TrainConfig, TrainResult


def _result(beta=None, *, model="vae", latent="gaussian", seed=0, fill=0.0):
    config = TrainConfig(model=model, beta=beta, latent=latent, seed=seed, epochs=2, snapshot_epochs=(1,))
    snapshots = {e: [np.full((3, 2), fill + e, np.float32), np.zeros(2, np.float32)] for e in (1, 2)}
    return TrainResult(config, {"loss": [2.0, 1.0]}, snapshots, 1.0, from_cache=True)


@pytest.fixture
def inputs(small_images):
    runs = {b: _result(b) for b in (0.0, 1.0, 5.0, 50.0, 200.0, 500.0)}
    family_runs = {"gaussian": [_result(seed=s) for s in range(3)], "laplace": _result(latent="laplace"),
                   "uniform": _result(latent="uniform")}
    classifier = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    x_train, x_test = small_images
    rng = np.random.default_rng(0)
    return dict(runs=runs, autoencoder=_result(model="ae"), classifier=classifier, family_runs=family_runs,
                x_train=x_train, y_train=rng.integers(0, 10, len(x_train)), x_test=x_test,
                y_test=rng.integers(0, 10, len(x_test)))


def _key(inputs, seed=0):
    return over_seeds.claim_table_key(*inputs.values(), seed)


def test_key_changes_with_weights_data_and_seed(inputs):
    key = _key(inputs)
    assert key == _key(inputs)
    assert key != _key(inputs, seed=1)
    changed = dict(inputs, runs={**inputs["runs"], 5.0: _result(5.0, fill=0.5)})
    assert _key(changed) != key
    changed = dict(inputs, family_runs=dict(inputs["family_runs"], uniform=_result(latent="uniform", fill=0.5)))
    assert _key(changed) != key
    changed = dict(inputs, x_test=np.clip(inputs["x_test"] + np.float32(1e-3), 0, 1))
    assert _key(changed) != key
    pixels = np.round(inputs["x_train"] * 255).astype(np.uint8)
    assert _key(dict(inputs, x_train=pixels)) == _key(dict(inputs, x_train=to_unit_interval(pixels)))
    classifier = inputs["classifier"]
    classifier.set_weights([w + 1 for w in classifier.get_weights()])
    assert _key(inputs) != key


def test_cached_records_are_returned_without_measuring(inputs, tmp_path):
    stored = [claims.Claim("k", "a claim", "§4.1", "06_ae_vs_vae", "1.0", "a rule", "reproduced", {"d": 1.5})]
    records = json.loads(json.dumps(over_seeds.claim_records(stored)))
    cache.write_entry(tmp_path, _key(inputs), {}, {"claims": records, "seconds": 3.0})
    # the synthetic models could not be measured: a hit must not try
    table = over_seeds.measure_claim_table(*inputs.values(), seed=0, cache_dir=tmp_path)
    assert table.from_cache and table.seconds == 3.0 and table.claims == stored


def test_records_round_trip_numpy_values():
    claim = claims.Claim("k", "a claim", "§4.2", "07_beta_effects", "2 of 3", "a rule", "inconclusive",
                         {"by_beta": {0.0: np.float32(0.25), 5.0: np.int64(3)}, "holds": np.bool_(True),
                          "series": np.array([1.0, 2.5]), "missing": None})
    record = over_seeds.claim_records([claim])[0]
    back = over_seeds.claims_from_records(json.loads(json.dumps([record])))[0]
    assert back.values == {"by_beta": {"0.0": 0.25, "5.0": 3}, "holds": True, "series": [1.0, 2.5], "missing": None}
    assert (back.key, back.verdict, back.measured) == (claim.key, claim.verdict, claim.measured)
    judged = claims.judged("k", "c", "s", "ch", "m", "r", [claims.Check("x", np.float64(0.5), "above", 0.1, se=0.01,
                                                                         n_se=3.0), claims.Check("y", float("nan"), "below", 1.0)])
    (again,) = over_seeds.claims_from_records(json.loads(json.dumps(over_seeds.claim_records([judged]))))
    assert again.checks[0] == judged.checks[0] and again.checks[1].what == "y" and again.verdict == "inconclusive"
    with pytest.raises(TypeError, match="cannot be stored"):
        over_seeds.claim_records([claims.Claim("k", "c", "s", "ch", "m", "r", "reproduced", {"bad": object()})])


def test_bad_inputs_are_refused(inputs):
    runs = dict(inputs["runs"])
    del runs[200.0]
    with pytest.raises(ValueError, match="every beta"):
        over_seeds.measure_claim_table(**dict(inputs, runs=runs))
    with pytest.raises(ValueError, match="'gaussian'"):
        over_seeds.measure_claim_table(**dict(inputs, family_runs={**inputs["family_runs"], "gaussian": []}))
    with pytest.raises(TypeError, match="TrainResult"):
        over_seeds.measure_claim_table(**dict(inputs, autoencoder="not a result"))
    with pytest.raises(TypeError, match="use_cache"):
        over_seeds.measure_claim_table(**inputs, use_cache="yes")


@pytest.mark.parametrize("seeds, error, match", [
    ([0, 1], ValueError, r"at least 3 distinct seeds, got \[0, 1\]"),
    ([0, 1, 1], ValueError, "distinct"),
    ("012", TypeError, "model_seeds must be a sequence of seeds"),
    ([0, 1, -2], ValueError, "seed"),
])
def test_bad_model_seeds_are_refused(seeds, error, match):
    with pytest.raises(error, match=match):
        over_seeds.check_model_seeds(seeds)
    assert over_seeds.check_model_seeds((4, 2, 9)) == [4, 2, 9]


def test_one_epoch_is_refused_before_any_training():
    with pytest.raises(ValueError, match="epochs must be >= 2, got 1"):
        over_seeds.measure_claims_over_seeds(None, None, epochs=1)


def test_the_table_order_places_the_untested_statements_in_the_reports_order():
    order = over_seeds.CHAPTER_06_ONWARDS
    assert len(set(order)) == len(order)
    # §4.1: sampling hinders overfitting, said of figure 3, after the repeated encodings and before prior draws
    assert order[order.index("repeat") + 1] == "overfit" and order.index("overfit") < order.index("far")
    # §4.2, figure 5: "a rounder structure and more efficient allocation of space"
    assert order[order.index("epoch1-shape") + 1] == "space"


@pytest.fixture(scope="module")
def blob_digits():
    """2,000 training images of a blob whose position encodes the digit, as uint8 pixels, and 1,000 test images
    in [0, 1] (as the chapters pass them)."""
    images, labels = digit_blobs(3000, seed=11, jitter=1.0, width=2.5)
    pixels = np.round(255 * images).astype(np.uint8)
    return pixels[:2000], labels[:2000], to_unit_interval(pixels[2000:]), labels[2000:]


def test_every_claim_is_measured_on_tiny_models_in_the_tables_order(blob_digits, cache_dir):
    from vaelib.measures import judge
    from vaelib.models.training import train

    x_train, y_train, x_test, y_test = blob_digits

    def trained(**settings):
        config = TrainConfig(hidden_units=(16,), epochs=2, snapshot_epochs=(1,), batch_size=64, **settings)
        return train(config, x_train, x_test)

    runs = {b: trained(beta=b) for b in (0.0, 1.0, 5.0, 50.0, 200.0, 500.0)}
    family_runs = {"gaussian": [trained(seed=s) for s in range(3)], "laplace": trained(latent="laplace"),
                   "uniform": trained(latent="uniform")}
    classifier = judge.train_classifier(x_train, y_train, x_test, y_test, epochs=1, batch_size=64,
                                        architecture="mlp")
    table = over_seeds.measure_claim_table(runs, trained(model="ae"), classifier, family_runs, x_train, y_train,
                                           x_test, y_test, seed=0, use_cache=False)
    keys, order = [c.key for c in table.claims], over_seeds.CHAPTER_06_ONWARDS
    for key in ("closer", "repeat", "overfit", "far", "epoch1-shape", "space", "epoch1-recon"):
        assert keys.index(key) == order.index(key)
    assert keys[-2:] == ["laplace", "uniform"] and all(c.verdict in claims.VERDICTS for c in table.claims)
    found = {c.key: c for c in table.claims}
    overfit, space = found["overfit"], found["space"]
    assert [k.what for k in overfit.checks] == ["relative gap g of the autoencoder", "relative gap g, AE minus VAE"]
    assert overfit.chapter == space.chapter == "12_claims"
    # the coverage after the first and the last epoch, for β = 0, 1 and 5: two steps each
    assert list(space.values["coverage"]) == ["1", "2"] and len(space.checks) == 4  # keys stored as text
    assert all(0.0 <= c <= 1.0 for by_beta in space.values["coverage"].values() for c in by_beta.values())


def test_the_rows_chapter_12_names_are_the_claims_it_describes():
    from pathlib import Path

    notebook = json.loads((Path(__file__).resolve().parents[1] / "book" / "12_claims.ipynb").read_text())
    prose = " ".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")
    prose = " ".join(prose.split())
    row = {key: i + 1 for i, key in enumerate(over_seeds.CHAPTER_06_ONWARDS)}
    said = {f"rows {row['overfit']} and {row['space']}, which only this chapter measures": ("overfit", "space"),
            f"rows {row['beta0-nn']} and {row['beta0-least']}:": ("beta0-nn", "beta0-least"),
            f"Row {row['beta0-least-epoch1']} is the same statement about figure 5": ("beta0-least-epoch1",),
            f"rows {row['share-0']}–{row['share-50']}, one per β": ("share-0", "share-1", "share-5", "share-50"),
            f"row {row['share-0']}'s four statements": ("share-0",)}
    for phrase, keys in said.items():
        assert phrase in prose, f"chapter 12 should say {phrase!r} (the rows of {keys} in CHAPTER_06_ONWARDS)"
    assert [row[k] for k in ("share-0", "share-1", "share-5", "share-50")] == list(range(row["share-0"], row["share-0"] + 4))
