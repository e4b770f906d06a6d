"""vaelib.claims.alternatives: the robustness rule, the summary table, the hidden-beta comparison and the checks
on what is passed in. The measurements at scale run in chapter 13 (nbval at the defaults, papermill at smoke scale)."""

import numpy as np
import pytest

from vaelib.claims import Check, across_seeds, alternatives, judged
from vaelib.models.training import TrainConfig, TrainResult


def _claim(key, value, threshold=0.0):
    return judged(key, f"claim {key}", "§4", "12_claims", f"{value:g}", "value above threshold",
                  [Check("value", value, "above", threshold)], {})


def _combined(values_by_key):
    """Claims combined over three seeds, each claim measured as the given value on every seed."""
    per_seed = [[_claim(k, v) for k, v in values_by_key.items()] for _ in range(3)]
    return across_seeds(per_seed, [0, 1, 2])


@pytest.fixture
def book():
    return _combined({"a": 1.0, "b": 1.0, "c": -1.0, "d": 1.0})


def test_robust_depends_and_untested(book):
    judge = _combined({"a": 2.0, "b": -1.0, "c": -1.0, "d": 1.0})  # c and d on identical numbers: not tested
    classic = _combined({"a": 3.0})
    rows = {r["key"]: r for r in alternatives.dependence(book, {"judge": judge, "classic": classic})}
    assert rows["a"]["outcome"] == "robust" and rows["a"]["verdicts"] == {"judge": "reproduced", "classic": "reproduced"}
    assert rows["b"]["outcome"] == "depends on the setting" and rows["b"]["verdicts"] == {"judge": "not reproduced"}
    assert rows["c"]["outcome"] == rows["d"]["outcome"] == "untested"
    assert rows["c"]["verdicts"] == {}
    assert [r["number"] for r in rows.values()] == [1, 2, 3, 4]


def test_a_setting_agreeing_on_other_numbers_keeps_a_verdict_robust(book):
    rows = alternatives.dependence(book, {"literal": _combined({"c": -2.0})})
    assert rows[2]["outcome"] == "robust" and rows[2]["book"] == "not reproduced"


def test_dependence_refuses_unknown_settings_and_claims(book):
    with pytest.raises(ValueError, match="named among"):
        alternatives.dependence(book, {"optimiser": book})
    with pytest.raises(ValueError, match="lacks|has claims the book's table lacks: \\['z'\\]"):
        alternatives.dependence(book, {"judge": _combined({"z": 1.0})})


def test_dependence_table_marks_every_cell(book):
    judge = _combined({"a": 2.0, "b": -1.0, "c": -1.0, "d": 1.0})
    rows = alternatives.dependence(book, {"judge": judge})
    table = alternatives.dependence_table(rows, ["judge"], equal_to_book=["identity"]).splitlines()
    assert table[0] == "| # | claim of the report | the book | weaker judge | mean, β/784 | outcome |"
    assert table[2] == "| 1 | claim a | ✓ | ✓ | = | **robust: reproduced** |"
    assert table[3] == "| 2 | claim b | ✓ | ✗ | = | depends on the setting |"
    assert table[4] == "| 3 | claim c | ✗ | · | = | untested |"
    assert len(table) == 2 + len(rows)
    with pytest.raises(ValueError, match="settings must be among"):
        alternatives.dependence_table(rows, ["book"])


def _run(reduction, seed, reconstruction, kl):
    config = TrainConfig(beta=1.0, pixel_reduction=reduction, seed=seed, epochs=3)
    history = {"test_reconstruction": list(reconstruction), "test_kl": list(kl)}
    return TrainResult(config, history, {3: [np.zeros(1, np.float32)]}, 1.0, from_cache=True)


def test_identity_rows_compare_with_the_spread_of_a_seed_change():
    book = [_run("sum", 0, [40.0, 31.0, 30.0], [3.0, 4.5, 5.0]), _run("sum", 1, [41.0, 31.0, 30.5], [2.8, 4.4, 5.2]),
            _run("sum", 2, [40.5, 31.0, 29.8], [2.9, 4.5, 5.1])]
    within = _run("mean", 0, np.array([40.4, 31.0, 30.1]) / 784, [2.95, 4.5, 5.05])
    found = alternatives.identity_rows(book, within)
    assert found["holds"] and found["seed"] == 0
    assert [r["measure"] for r in found["rows"]] == ["test reconstruction term, epoch 1", "test reconstruction term, epoch 3",
                                                     "test KL, epoch 1", "test KL, epoch 3"]
    first = found["rows"][0]
    assert first["identity"] == pytest.approx(40.4) and first["difference"] == pytest.approx(0.4)
    assert first["seed_sd"] == pytest.approx(0.5) and first["bound"] == pytest.approx(3 * 2 ** 0.5 * 0.5)
    # the KL after the last epoch: book seeds 5.0, 5.2, 5.1 (s.d. 0.1, bound 0.424); 5.5 is 0.5 away
    outside = _run("mean", 0, np.array([40.4, 31.0, 30.1]) / 784, [2.95, 4.5, 5.5])
    found = alternatives.identity_rows(book, outside)
    assert not found["holds"] and [r["holds"] for r in found["rows"]] == [True, True, True, False]
    assert found["rows"][3]["bound"] == pytest.approx(3 * 2 ** 0.5 * 0.1)


def test_identity_rows_refuse_mismatched_runs():
    book = [_run("sum", 0, [1.0], [1.0]), _run("sum", 1, [1.0], [1.0])]
    with pytest.raises(ValueError, match="pixel-averaged"):
        alternatives.identity_rows(book, _run("sum", 0, [1.0], [1.0]))
    with pytest.raises(ValueError, match="share the seed"):
        alternatives.identity_rows(book, _run("mean", 1, [1.0], [1.0]))
    with pytest.raises(ValueError, match="at least two"):
        alternatives.identity_rows(book[:1], _run("mean", 0, [1.0], [1.0]))


@pytest.mark.parametrize("measure", [alternatives.measure_literal, alternatives.hidden_beta_identity])
def test_bad_arguments_fail_before_any_work(measure, forbid):
    forbid(alternatives, "trained")
    with pytest.raises(TypeError, match="UnitMnist"):
        measure(np.zeros((4, 784)))


def test_bad_seeds_fail_before_any_work(forbid):
    forbid(alternatives, "trained")
    data = object.__new__(alternatives.UnitMnist)
    with pytest.raises(ValueError, match="at least 3 distinct seeds"):
        alternatives.measure_classic(None, data, model_seeds=[0, 0, 1])
    with pytest.raises(ValueError, match="epochs"):
        alternatives.measure_literal(data, epochs=1)


def test_settings_are_the_named_alternatives():
    assert TrainConfig(**alternatives.LITERAL).pixel_reduction == "mean"
    classic = TrainConfig(**alternatives.CLASSIC)
    assert (classic.hidden_units, classic.batch_size) == ((256,), 100)
    assert set(alternatives.SETTING_NAMES) == {"book", "judge", "identity", "literal", "classic"}
