"""Numbers for the book's prose, glued through myst-nb and quoted as ``{glue:text}`key:fmt```.

A glued number is stored in the notebook as its ``repr``, and ``pytest --nbval`` compares that
text with a fresh run. Sums of many floats can differ in the last bits between CPUs (NumPy and
the matrix kernels pick code by instruction set: 2853.7499999999995 on one AMD EPYC,
2853.749999999999 on another), so a chapter glues a number rounded well below what the prose
shows and far above float rounding. Integers are glued as integers.
"""

from __future__ import annotations

import numbers

import numpy as np

from vaelib._runtime.validation import check_int


def rounded(value, *, decimals: int | None = None, significant: int | None = None):
    """``value`` as an int if it is integral, else a float rounded to ``decimals`` places or
    ``significant`` digits (exactly one of the two)."""
    if (decimals is None) == (significant is None):
        raise ValueError(f"give exactly one of decimals and significant, got decimals={decimals!r}, "
                         f"significant={significant!r}")
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"value must be a real number, got {value!r} of type {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if decimals is not None:
        return float(np.round(value, check_int("decimals", decimals, minimum=0)))
    return float(f"{float(value):.{check_int('significant', significant, minimum=1)}g}")


def recorder(prefix: str = "", *, decimals: int | None = None, significant: int | None = None):
    """A chapter's ``record(key, value, decimals=None)``: glue ``prefix + key`` as :func:`rounded`
    ``value``, not displayed where it is computed. ``decimals`` given to ``record`` overrides the
    chapter's default rounding for that one number."""
    default = {"decimals": decimals, "significant": significant}
    rounded(0.0, **default)  # the defaults are checked now, not at the first number

    def record(key: str, value, decimals: int | None = None) -> None:
        from myst_nb import glue

        rounding = default if decimals is None else {"decimals": decimals}
        glue(f"{prefix}{key}", rounded(value, **rounding), display=False)

    return record
