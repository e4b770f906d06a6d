"""vaelib.claims.over_seeds: the cache key, the stored records and the checks on what is passed in.

The measurement itself runs in chapter 12 (nbval at the defaults, papermill at smoke scale, where
the small models give new keys, so it is measured every time the library changes).
"""

import json

import keras
import numpy as np
import pytest

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
    records = json.loads(json.dumps(over_seeds._records(stored)))
    cache.write_entry(tmp_path, _key(inputs), {}, {"claims": records, "seconds": 3.0})
    # the synthetic models could not be measured: a hit must not try
    table = over_seeds.measure_claim_table(*inputs.values(), seed=0, cache_dir=tmp_path)
    assert table.from_cache and table.seconds == 3.0 and table.claims == stored


def test_records_round_trip_numpy_values():
    claim = claims.Claim("k", "a claim", "§4.2", "07_beta_effects", "2 of 3", "a rule", "inconclusive",
                         {"by_beta": {0.0: np.float32(0.25), 5.0: np.int64(3)}, "holds": np.bool_(True),
                          "series": np.array([1.0, 2.5]), "missing": None})
    record = over_seeds._records([claim])[0]
    back = over_seeds._from_records(json.loads(json.dumps([record])))[0]
    assert back.values == {"by_beta": {"0.0": 0.25, "5.0": 3}, "holds": True, "series": [1.0, 2.5], "missing": None}
    assert (back.key, back.verdict, back.measured) == (claim.key, claim.verdict, claim.measured)
    judged = claims.judged("k", "c", "s", "ch", "m", "r", [claims.Check("x", np.float64(0.5), "above", 0.1, se=0.01,
                                                                         n_se=3.0), claims.Check("y", float("nan"), "below", 1.0)])
    (again,) = over_seeds._from_records(json.loads(json.dumps(over_seeds._records([judged]))))
    assert again.checks[0] == judged.checks[0] and again.checks[1].what == "y" and again.verdict == "inconclusive"
    with pytest.raises(TypeError, match="cannot be stored"):
        over_seeds._records([claims.Claim("k", "c", "s", "ch", "m", "r", "reproduced", {"bad": object()})])


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
