"""Trained runs that the prediction and export tests share: one short run per task kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnlab.pipeline import train
from tests.conftest import TINY, compose_config

QUIET = "callbacks.progress_bar.refresh_rate=0"


def best_checkpoint(directory: Path, overrides: list[str]) -> Path:
    """Train a run in `directory` (library call, real Lightning); its best checkpoint."""
    directory.mkdir(parents=True)
    train(compose_config([*overrides, QUIET], directory))
    return directory / "checkpoints" / "best.ckpt"


@pytest.fixture(scope="session")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default classifier (cnn on 8x8 digits), TINY: two short epochs."""
    return best_checkpoint(tmp_path_factory.mktemp("classifier") / "run", TINY)


@pytest.fixture(scope="session")
def unet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The canvas_unet recipe on 32x32 canvases, one short epoch."""
    overrides = [
        "experiment=canvas_unet",
        "data.num_images=300",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=8",
        "trainer.limit_val_batches=2",
    ]
    return best_checkpoint(tmp_path_factory.mktemp("unet") / "run", overrides)


@pytest.fixture(scope="session")
def autoencoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The digits_ae recipe on 16x16 digits, 3 short epochs of its 30."""
    overrides = [
        "experiment=digits_ae",
        "trainer.max_epochs=3",
        "trainer.limit_train_batches=8",
        "trainer.limit_val_batches=2",
    ]
    return best_checkpoint(tmp_path_factory.mktemp("autoencoder") / "run", overrides)
