"""The training step's random draws: Philox, stateless, seeded from a Keras SeedGenerator.

Every draw of the reparameterization (eq. 7's epsilon) and of dynamic binarization goes
through these two functions. Each call takes the generator's next seed (so successive steps
draw afresh and a run is reproducible from the model's seed) and asks TensorFlow for the
Philox algorithm explicitly. Inside the XLA-compiled training step this matters for speed:
with the default algorithm choice, ``keras.random.uniform`` of one batch of 128 x 784 pixels
took 24 ms on this 2-core CPU against 1 ms with Philox, and ``keras.random.normal`` of 128 x 2
codes 0.33 ms against 0.23 ms (benchmarks/LEVERS.md).

XLA and TensorFlow's own kernels implement Philox with different output layouts, so the same
seed gives other numbers inside and outside an XLA-compiled function; chapter 04 reproduces
the trainer's epsilon by drawing inside XLA (:func:`vaelib.models.aevb.standard_normal`).
"""

from __future__ import annotations

import keras
import tensorflow as tf

ALGORITHM = "philox"


def _next_seed(seed_generator) -> tf.Tensor:
    """The generator's next seed as the int32 pair that stateless ops (and XLA) expect."""
    if not isinstance(seed_generator, keras.random.SeedGenerator):
        raise TypeError(f"seed_generator must be a keras.random.SeedGenerator, got {type(seed_generator).__name__}")
    seed = seed_generator.next()
    return tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)


def standard_normal(shape, seed_generator, dtype="float32") -> tf.Tensor:
    """epsilon ~ N(0, I) of ``shape`` (eq. 7), from the generator's next seed."""
    return tf.random.stateless_normal(shape, seed=_next_seed(seed_generator), dtype=dtype, alg=ALGORITHM)


def uniform(shape, seed_generator, minval=0.0, maxval=1.0, dtype="float32") -> tf.Tensor:
    """u ~ U(minval, maxval) of ``shape``, from the generator's next seed."""
    return tf.random.stateless_uniform(shape, seed=_next_seed(seed_generator), minval=tf.cast(minval, dtype),
                                       maxval=tf.cast(maxval, dtype), dtype=dtype, alg=ALGORITHM)
