"""`cnnlab-generate`: sample and interpolation grids from real checkpoints, and its refusals."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from PIL import Image

from cnnlab.cli.generate import generate_samples, load_autoencoder
from cnnlab.pipeline import train
from tests.conftest import TINY, compose_config, run_cli

IMAGE_SIZE = 16


def checkpoint_of(directory: Path, overrides: list[str]) -> Path:
    directory.mkdir(parents=True)
    train(compose_config([*overrides, "callbacks.progress_bar.refresh_rate=0"], directory))
    return directory / "checkpoints" / "best.ckpt"


@pytest.fixture(scope="module")
def ae_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The digits_ae recipe on 16x16 digits, trained for 4 of its 30 epochs."""
    return checkpoint_of(
        tmp_path_factory.mktemp("ae") / "run", ["experiment=digits_ae", "trainer.max_epochs=4"]
    )


def grid_size(count: int, columns: int, size: int = IMAGE_SIZE) -> tuple[int, int]:
    """(width, height) of torchvision's make_grid with padding 2."""
    rows = math.ceil(count / columns)
    return columns * (size + 2) + 2, rows * (size + 2) + 2


def test_writes_a_png_of_the_requested_grid_size(ae_checkpoint: Path, tmp_path: Path) -> None:
    result = run_cli("generate", f"ckpt_path={ae_checkpoint}", "n=12", "out=grid.png", cwd=tmp_path)
    assert "Wrote 12 images" in result.stdout
    with Image.open(tmp_path / "grid.png") as image:
        assert image.size == grid_size(12, columns=4)


def test_interpolation_grid_between_test_images(ae_checkpoint: Path, tmp_path: Path) -> None:
    run_cli(
        "generate",
        f"ckpt_path={ae_checkpoint}",
        "interpolate=true",
        "n=18",
        "steps=6",
        "scale=2",
        "out=interp.png",
        cwd=tmp_path,
    )
    with Image.open(tmp_path / "interp.png") as image:  # 3 rows: image A, 6 steps, image B
        assert image.size == grid_size(3 * 8, columns=8, size=2 * IMAGE_SIZE)


def test_samples_are_new_images_not_copies(ae_checkpoint: Path) -> None:
    """Each sample lies further from its nearest training image than reconstructions from theirs."""
    task, datamodule = load_autoencoder(str(ae_checkpoint))
    samples = generate_samples(task, 64, seed=0).flatten(1)
    train_images = datamodule.splits["train"][0]
    with torch.no_grad():
        reconstructions = task.model(train_images).reconstruction
    memorised_distance = (reconstructions - train_images).pow(2).flatten(1).mean(1).median()
    nearest = (
        torch.cdist(samples, train_images.flatten(1)).pow(2).min(dim=1).values / samples.shape[1]
    )
    assert (nearest > memorised_distance).all()
    pairwise = torch.pdist(samples).pow(2) / samples.shape[1]
    assert (pairwise > 1e-3).all()  # no two samples alike (a collapsed generator gives ~0)
    again = generate_samples(task, 64, seed=0).flatten(1)
    assert torch.equal(again, samples)  # the seed reproduces them


def test_a_classification_checkpoint_is_refused(tmp_path: Path) -> None:
    checkpoint = checkpoint_of(tmp_path / "run", TINY)
    result = run_cli("generate", f"ckpt_path={checkpoint}", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "ClassificationTask, not of an autoencoder" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_corrupt_checkpoint_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    result = run_cli("generate", f"ckpt_path={bad}", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "cannot read checkpoint" in result.stderr
    assert not list(tmp_path.glob("*.png"))
