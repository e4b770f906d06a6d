"""vaelib.glue: the numbers a chapter glues for its prose."""

import numpy as np
import pytest

from vaelib import glue


def test_rounded_by_decimals_and_significant_digits():
    assert glue.rounded(2853.7499999999995, significant=6) == glue.rounded(2853.749999999999, significant=6) == 2853.75
    assert glue.rounded(np.float64(0.84546608559), significant=6) == 0.845466
    assert glue.rounded(1.23456e-9, significant=3) == 1.23e-9  # tiny numbers keep their digits
    assert glue.rounded(-3.2978984, decimals=6) == -3.297898
    assert glue.rounded(np.array(2.5e-5), decimals=9) == 2.5e-5  # a 0-d array is a number
    # as the chapters rounded before: NumPy's rounding of the value in its own precision
    value = np.float32(0.1234567)
    assert glue.rounded(value, decimals=4) == float(np.round(value, 4))


def test_integers_stay_integers():
    for value in (3, np.int64(3), np.uint8(3)):
        result = glue.rounded(value, decimals=2)
        assert result == 3 and type(result) is int
    assert type(glue.rounded(3.0, decimals=2)) is float


def test_bad_rounding_and_values_are_refused():
    with pytest.raises(ValueError, match="exactly one of decimals and significant, got decimals=None, significant=None"):
        glue.rounded(1.0)
    with pytest.raises(ValueError, match="exactly one of decimals and significant, got decimals=2, significant=3"):
        glue.rounded(1.0, decimals=2, significant=3)
    with pytest.raises(ValueError, match="significant"):
        glue.rounded(1.0, significant=0)
    with pytest.raises(ValueError, match="decimals"):
        glue.recorder("x_", decimals=-1)  # checked when the chapter makes its recorder
    for bad in ("1.5", True, None, np.zeros(2)):
        with pytest.raises(TypeError, match="value must be a real number"):
            glue.rounded(bad, decimals=2)


def test_recorder_glues_prefixed_rounded_numbers(monkeypatch):
    glued = []
    monkeypatch.setattr("myst_nb.glue", lambda key, value, display: glued.append((key, value, display)))
    record = glue.recorder("dyn_", decimals=4)
    record("kl", 1.234567)
    record("rate", 1.8112345e-5, 9)  # a finer rounding for one number
    record("n", np.int64(7))
    assert glued == [("dyn_kl", 1.2346, False), ("dyn_rate", 1.8112e-05, False), ("dyn_n", 7, False)]
