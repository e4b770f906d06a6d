"""Calling a model on many images: one helper, one block size.

A model called eagerly on n images keeps memory in proportion to the largest n it has seen
(an encoder on 16,384 images: 0.27 GB for good; on 2,048: 0.02 GB; benchmarks/LEVERS.md), so
the measures call models through :func:`in_blocks`, at most :data:`EAGER_ROWS` rows at a time.
"""

from __future__ import annotations

import numpy as np

from vaelib._runtime.validation import check_int

# Rows per eager model call in :func:`in_blocks`: small enough that what a call keeps stays small,
# large enough that the per-call overhead does not matter.
EAGER_ROWS = 2048


def in_blocks(function, inputs, *, rows: int = EAGER_ROWS):
    """``function(inputs)`` computed ``rows`` input rows at a time and stacked as NumPy arrays.

    ``function`` maps an array of n rows to an array of n rows, or to a tuple of such arrays (a
    VAE's ``encode``); the result has the same structure: the block calls' outputs stacked, bit for
    bit. Against one call over all rows, a float32 network may differ in the last bits, as the CPU
    can pick another matrix-multiply kernel for another row count (tests/test_memory.py).
    """
    rows = check_int("rows", rows, minimum=1)
    if len(inputs) == 0:
        raise ValueError("inputs must have at least one row")
    blocks = [function(inputs[start:start + rows]) for start in range(0, len(inputs), rows)]
    if isinstance(blocks[0], (tuple, list)):
        return tuple(np.concatenate([np.asarray(block[i]) for block in blocks]) for i in range(len(blocks[0])))
    return np.concatenate([np.asarray(block) for block in blocks])
