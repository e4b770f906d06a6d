"""MNIST: loaded and verified once, then seen everywhere as pixels in [0, 1].

    dataset  the verified record: expected shapes and sha256, :class:`MnistDataset` and its errors
    mnist    where it comes from: a given file, Keras' cache or download, or a small offline fallback
    images   pixels in [0, 1] (the one representation models and measures see), the chapters'
             :class:`UnitMnist` and the images' digest for cache keys
"""

from vaelib.data.dataset import (  # noqa: F401
    MNIST_DTYPE, MNIST_KEYS, MNIST_SHA256, MNIST_SHAPES, MnistDataset, MnistFallbackWarning, MnistFileError,
    verify_arrays,
)
from vaelib.data.images import UnitMnist, images_digest, to_unit_interval, unit_images, unit_mnist  # noqa: F401
from vaelib.data.mnist import clear_cache, keras_mnist_path, load_mnist, load_mnist_dataset  # noqa: F401
