"""AutoencoderTask in short real trainings on digits: mean-image baseline, VAE terms, bad setups."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from omegaconf import DictConfig
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cnnlab.errors import ConfigError
from cnnlab.pipeline import build_datamodule, train
from tests.conftest import compose_config
from tests.data.test_torchvision_sets import write_mnist

QUIET = ["callbacks.progress_bar.refresh_rate=0"]
# the VAE recipe cut to seconds: 8x8 images, 2 epochs of 4 batches, KL warm-up over the first
TINY_VAE = [
    "experiment=digits_vae",
    "data.image_size=8",
    "trainer.max_epochs=2",
    "trainer.limit_train_batches=4",
    "trainer.limit_val_batches=2",
    "task.kl_warmup_epochs=1",
    *QUIET,
]


def train_in(directory: Path, overrides: list[str]) -> tuple[DictConfig, dict[str, float]]:
    directory.mkdir(parents=True)
    cfg = compose_config(overrides, directory)
    return cfg, train(cfg)


@pytest.fixture(scope="module")
def ae_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[DictConfig, dict[str, float]]:
    """The digits_ae recipe (16x16 digits), trained for 6 of its 30 epochs."""
    return train_in(
        tmp_path_factory.mktemp("ae") / "run",
        ["experiment=digits_ae", "trainer.max_epochs=6", *QUIET],
    )


def test_reconstruction_mse_is_far_below_the_mean_image_baseline(ae_run) -> None:
    cfg, metrics = ae_run
    datamodule = build_datamodule(cfg.data)
    train_images, test_images = datamodule.splits["train"][0], datamodule.splits["test"][0]
    baseline = (test_images - train_images.mean(dim=0)).pow(2).mean().item()
    ratio = metrics["test/mse"] / baseline
    print(f"test/mse {metrics['test/mse']:.4f}, mean-image MSE {baseline:.4f}, ratio {ratio:.3f}")
    assert ratio < 0.25


def test_metrics_follow_the_naming_contract_and_agree(ae_run) -> None:
    _, metrics = ae_run
    for stage in ("val", "test"):
        for name in ("loss", "mse", "psnr", "ssim"):
            assert f"{stage}/{name}" in metrics
        # PSNR over the whole split is 10 log10(1 / MSE) for images in [0, 1]
        assert metrics[f"{stage}/psnr"] == pytest.approx(
            10 * math.log10(1 / metrics[f"{stage}/mse"]), rel=1e-3
        )
        assert 0 < metrics[f"{stage}/ssim"] <= 1
    assert metrics["test/loss"] == pytest.approx(metrics["test/mse"], rel=1e-4)  # loss=mse
    assert "test/kl" not in metrics  # a plain autoencoder has no KL term


def test_vae_logs_kl_and_elbo_and_warms_beta_up(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _, metrics = train_in(run, TINY_VAE)
    pixels = 8 * 8
    for stage in ("val", "test"):
        assert metrics[f"{stage}/kl"] > 0
        # with beta=1 and loss=bce the loss is -ELBO per pixel
        assert metrics[f"{stage}/elbo"] < 0
        assert -metrics[f"{stage}/elbo"] == pytest.approx(
            metrics[f"{stage}/loss"] * pixels, rel=1e-4
        )
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    beta = [event.value for event in events.Scalars("train/beta")]
    assert len(beta) == 2 and 0 < beta[0] < beta[1] == pytest.approx(1.0)
    assert len(events.Scalars("train/psnr")) == 2  # reconstruction metrics: once per epoch


def test_normalised_data_is_refused_before_training(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"pixels in \[0, 1\].*normalisation off"):
        train_in(tmp_path / "run", ["experiment=digits_ae", "data.normalize=true", *QUIET])


def test_a_classifier_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"SimpleCNN is not an autoencoder.*or a VAE"):
        train_in(tmp_path / "run", ["task=autoencoder", "data.normalize=false", *QUIET])


@pytest.mark.parametrize(
    ("recipe", "folder"), [("mnist_vae", "MNIST"), ("fashion_mnist_vae", "FashionMNIST")]
)
def test_online_recipes_train_on_mnist_format_files(
    tmp_path: Path, recipe: str, folder: str
) -> None:
    """The MNIST/FashionMNIST recipes, on 60 + 20 random images written in their file format."""
    write_mnist(tmp_path / "data", folder)
    overrides = [
        f"experiment={recipe}",
        f"paths.data_dir={tmp_path / 'data'}",
        "trainer.max_epochs=1",
        *QUIET,
    ]
    _, metrics = train_in(tmp_path / "run", overrides)
    assert metrics["test/kl"] > 0 and 0 < metrics["test/mse"] < 1
