"""The book's training settings (the report's, with what it leaves unstated filled in) and :func:`trained`.

Chapters ask for a trained model by what they vary (beta, model kind, epochs, training-set
size); everything else is the book's setting (:func:`report_config`), so two chapters asking for the same model get
the same cache entry and it trains once.
"""

from __future__ import annotations

from vaelib._runtime.memory import releases_free_memory
from vaelib._runtime.validation import check_int
from vaelib.data import UnitMnist, unit_mnist
from vaelib.models import progress
from vaelib.models.training import TrainConfig, TrainResult, missing_from_cache, train

REPORT_EPOCHS = 20
REPORT_SNAPSHOT_EPOCHS = (1, 5, 10, 20)
REPORT_BETAS = (0.0, 1.0, 5.0, 50.0)


def report_config(beta: float | None = None, *, model: str = "vae", epochs: int = REPORT_EPOCHS,
                  **overrides) -> TrainConfig:
    """The book's reading of the report's setting: the 2-D latent space, squared error and 20 epochs it
    states, with the sum over pixels, dense layers of 256 and 128 units, batch 128 and Adam, which it
    does not; snapshots at epochs 1, 5, 10 and 20;
    ``beta`` defaults to 1 for a VAE and is refused for an autoencoder (:class:`vaelib.models.training.TrainConfig`)."""
    epochs = check_int("epochs", epochs, minimum=1)
    snapshots = tuple(e for e in REPORT_SNAPSHOT_EPOCHS if e <= epochs)
    return TrainConfig(model=model, beta=beta, epochs=epochs, snapshot_epochs=snapshots, **overrides)


@releases_free_memory
def trained(config: TrainConfig, *, n_train: int | None = None, data: UnitMnist | None = None) -> TrainResult:
    """Train ``config`` on the first ``n_train`` training images (default: all) through the cache.

    The model trains on the uint8 pixels (:attr:`UnitMnist.pixels_train`); the step scales them to
    the same floats as ``x_train`` holds, and the cache key is the same for either form.
    """
    data = unit_mnist() if data is None else data
    x_train = data.pixels_train
    if n_train is not None:
        n_train = check_int("n_train", n_train, minimum=config.batch_size, maximum=len(x_train))
        x_train = x_train[:n_train]
    return train(config, x_train, data.pixels_test)


def announce_training(configs, *, n_train: int | None = None, data: UnitMnist | None = None) -> None:
    """Before a cell trains ``configs``: in a live kernel, say how many are not yet cached and how long
    they should take (:mod:`vaelib.models.progress`); elsewhere nothing, not even the cache lookup."""
    if not progress.enabled():
        return
    data = unit_mnist() if data is None else data
    x_train = data.pixels_train if n_train is None else data.pixels_train[:n_train]
    progress.announce(missing_from_cache(list(configs), x_train, data.pixels_test), len(x_train))
