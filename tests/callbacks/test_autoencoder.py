"""Autoencoder TensorBoard views from a real short VAE run with a 2-D latent space."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.base_plugin import TBContext
from tensorboard.plugins.projector import projector_plugin

from cnnlab.pipeline import train
from tests.conftest import compose_config

IMAGE_SIZE = 8
# 8x8 digits, 2 epochs of 4 batches; the whole 270-image test split goes to the projector
TINY_VAE_2D = [
    "experiment=digits_vae",
    f"data.image_size={IMAGE_SIZE}",
    "model.encoder.latent_dim=2",
    "trainer.max_epochs=2",
    "trainer.limit_train_batches=4",
    "trainer.limit_val_batches=2",
    "callbacks.progress_bar.refresh_rate=0",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("vae2d") / "run"
    directory.mkdir()
    train(compose_config(TINY_VAE_2D, directory))
    return directory


def test_reconstructions_samples_and_2d_latent_plots_reach_tensorboard(run: Path) -> None:
    events = EventAccumulator(str(run), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    per_epoch = {"val/reconstructions", "val/samples"}
    assert per_epoch | {"test/latent_scatter", "test/latent_manifold"} <= set(tags["images"])
    for tag in per_epoch:  # each of the 2 epochs and the final validation; not the sanity check
        assert len(events.Images(tag)) == 3
    assert {"val/mse", "val/psnr", "val/ssim", "val/kl", "val/elbo", "test/mse"} <= set(
        tags["scalars"]
    )
    samples = events.Images("val/samples")[-1]
    assert (samples.width, samples.height) == (8 * (IMAGE_SIZE + 2) + 2,) * 2  # 64 samples, 8x8
    manifold = events.Images("test/latent_manifold")[-1]
    assert manifold.width == 15 * (IMAGE_SIZE + 1) + 1  # 15x15 decoded grid, 1px padding


def test_projector_files_load_in_tensorboards_projector_plugin(run: Path) -> None:
    plugin = projector_plugin.ProjectorPlugin(TBContext(logdir=str(run), data_provider=None))
    configs, config_files = plugin._read_latest_config_files([(".", str(run))])
    (embedding,) = configs["."].embeddings

    def path(relative: str) -> Path:
        return Path(projector_plugin._rel_to_abs_asset_path(relative, config_files["."]))

    latents = projector_plugin._read_tensor_tsv_file(str(path(embedding.tensor_path)))
    labels = path(embedding.metadata_path).read_text().splitlines()
    n = len(latents)
    assert latents.shape == (n, 2) and n == 270  # the digits test split (15% of 1,797)
    assert len(labels) == n and set(labels) <= {str(digit) for digit in range(10)}
    assert len(set(labels)) == 10
    sprite = Image.open(path(embedding.sprite.image_path))
    assert list(embedding.sprite.single_image_dim) == [IMAGE_SIZE, IMAGE_SIZE]
    assert sprite.size == (math.ceil(math.sqrt(n)) * IMAGE_SIZE,) * 2
