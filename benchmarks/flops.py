"""Exact floating-point operation counts of a training step's dense layers (used by run_all.py's
training and scaling parts, benchmarks/suite/training.py and scaling.py).

Kept free of TensorFlow imports so that the counting rule can be tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from vaelib._runtime.validation import check_int


@dataclass(frozen=True)
class DenseShape:
    """One dense layer: ``n_in`` inputs, ``n_out`` outputs; ``input_gradient`` is False when the
    layer's input is the data (nothing upstream needs its gradient)."""

    name: str
    n_in: int
    n_out: int
    input_gradient: bool = True


def dense_training_flops(layers) -> int:
    """Floating-point operations per training sample in the matrix products of dense layers.

    A dense layer ``y = x W + b`` with ``W`` of shape ``(n_in, n_out)`` costs, per sample,
    ``n_in * n_out`` multiply-adds, counted as 2 operations each:

    - forward ``x W``: ``2 n_in n_out``;
    - backward, weight gradient ``x^T dy``: ``2 n_in n_out``;
    - backward, input gradient ``dy W^T``: ``2 n_in n_out``, except for a layer whose input is
      the data (``input_gradient=False``: the first encoder layer), for which it is not computed.

    So ``sum over layers of (4 + 2 [input_gradient]) n_in n_out``. Bias additions, activations,
    the loss, the sampling step and the optimizer's update are elementwise (O(n_out) or
    O(number of weights) per step, not per sample times n_in) and are not counted: the figure is
    the work that a matrix-multiply peak can be compared with.

    Parameters
    ----------
    layers : iterable of DenseShape (or (n_in, n_out, input_gradient) tuples)

    Returns
    -------
    int : operations per sample for one forward + backward pass.
    """
    total = 0
    for layer in layers:
        if not isinstance(layer, DenseShape):
            n_in, n_out, input_gradient = layer
            layer = DenseShape("", n_in, n_out, input_gradient)
        n_in = check_int("n_in", layer.n_in, minimum=1)
        n_out = check_int("n_out", layer.n_out, minimum=1)
        if not isinstance(layer.input_gradient, bool):
            raise TypeError(f"input_gradient must be True or False, got {layer.input_gradient!r}")
        total += (6 if layer.input_gradient else 4) * n_in * n_out
    return total


def model_dense_shapes(model) -> list[DenseShape]:
    """The dense layers of a built vaelib model (``model.encoder`` and ``model.decoder``, Keras
    functional models), in order; a layer whose input is the encoder's input (the images) gets
    ``input_gradient=False``. Any other trainable layer raises, so nothing is silently uncounted."""
    import keras

    shapes = []
    for part in (model.encoder, model.decoder):
        data = part.inputs[0] if part is model.encoder else None
        for layer in part.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            if not isinstance(layer, keras.layers.Dense):
                if layer.trainable_weights:
                    raise TypeError(f"layer {layer.name} ({type(layer).__name__}) has weights but is not Dense")
                continue
            n_in, n_out = (int(d) for d in layer.kernel.shape)
            shapes.append(DenseShape(f"{part.name}/{layer.name}", n_in, n_out, layer.input is not data))
    counted = sum(s.n_in * s.n_out + s.n_out for s in shapes)
    total = sum(_size(w.shape) for w in model.trainable_weights)
    if counted != total:
        raise ValueError(f"the dense layers hold {counted} weights but the model has {total}: some layer is "
                         "not counted")
    return shapes


def _size(shape) -> int:
    size = 1
    for d in shape:
        size *= int(d)
    return size
