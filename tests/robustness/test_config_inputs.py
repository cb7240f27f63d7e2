"""Catalogue: config values and segmentation files that used to train silently, now refused.

Each case runs `cnnlab-train` as a user would, next to an earlier run in the same outputs
folder, and asserts exit status 2, the one-sentence message and that the earlier run's files are
byte for byte unchanged. The config cases are checked before any data is looked at: they name
a data root that does not exist, and the error is still about the config.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import TINY, run_cli
from tests.robustness.conftest import assert_one_sentence_error, assert_unchanged, snapshot

CORES = len(os.sched_getaffinity(0))
GPUS = torch.cuda.device_count()
# Were the data read, this would fail first ("put the torchvision files there").
NO_DATA = ["data=mnist", "data.root=no_such_folder"]

CASES = {
    "misspelt experiment": (
        [*NO_DATA, "experiment=nope"],
        ["experiment=nope is not a config in conf/experiment/", "digits_cnn", "pets_unet"],
    ),
    "misspelt debug": (
        [*NO_DATA, "debug=fast_dev_rn"],
        ["debug=fast_dev_rn is not a config in conf/debug/; choose one of: fast_dev_run, limit"],
    ),
    "misspelt hparams_search": (
        [*NO_DATA, "hparams_search=nope"],
        [
            "hparams_search=nope is not a config in conf/hparams_search/; "
            "choose one of: canvas_unet, digits_cnn"
        ],
    ),
    "zero learning rate": (
        [*NO_DATA, "task.optimizer.lr=0"],
        ["task.optimizer.lr=0 must be > 0"],
    ),
    "negative learning rate": (
        [*NO_DATA, "task.optimizer.lr=-0.01"],
        ["task.optimizer.lr=-0.01 must be > 0"],
    ),
    "zero batch size": ([*NO_DATA, "data.batch_size=0"], ["data.batch_size=0 must be at least 1"]),
    "zero image size": ([*NO_DATA, "data.image_size=0"], ["data.image_size=0 must be at least 1"]),
    "pictures every 0 epochs": (
        [*NO_DATA, "pictures_every_n_epochs=0"],
        ["pictures_every_n_epochs=0 must be at least 1, or null for about 10 pictures per fit"],
    ),
    "NaN guard every 0 steps": (
        [*NO_DATA, "callbacks.non_finite_loss_guard.check_every_n_steps=0"],
        ["callbacks.non_finite_loss_guard.check_every_n_steps=0 must be at least 1"],
    ),
    "async checkpoints not a boolean": (
        [*NO_DATA, "async_checkpoints=maybe"],
        ["async_checkpoints='maybe' must be of type bool"],
    ),
    "zero epochs": (
        [*NO_DATA, "trainer.max_epochs=0"],
        ["trainer.max_epochs=0 must be at least 1 (or -1: train until stopped)"],
    ),
    "more CPU processes than cores": (
        [*NO_DATA, f"trainer.devices={CORES + 1}"],
        [f"has CPU cores ({CORES}): set trainer.devices={CORES} or fewer"],
    ),
    "more GPUs than the machine has": (
        [*NO_DATA, "trainer=gpu", f"trainer.devices={GPUS + 1}"],
        [f"trainer.devices={GPUS + 1} asks for more processes than this machine has GPUs"],
    ),
}


@pytest.fixture
def earlier_run(outputs: Path) -> dict[str, str]:
    """A finished run's files in the outputs folder; the snapshot every case compares against."""
    run_dir = outputs / "classification" / "2026-01-01_00-00-00"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / "checkpoints").mkdir()
    (run_dir / ".hydra" / "config.yaml").write_text("seed: 42\n")
    (run_dir / "metrics.json").write_text('{"test/acc": 0.9}\n')
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(os.urandom(1024))
    return snapshot(outputs)


@pytest.mark.parametrize(("args", "fragments"), CASES.values(), ids=CASES.keys())
def test_config_mistake_is_one_sentence(
    outputs: Path, earlier_run: dict[str, str], args: list[str], fragments: list[str]
) -> None:
    result = run_cli("train", *TINY, *args, cwd=outputs.parent, check=False)
    assert_one_sentence_error(result, *fragments)
    assert_unchanged(earlier_run, outputs)


def test_mask_of_another_size_than_its_image_is_refused(
    outputs: Path, earlier_run: dict[str, str]
) -> None:
    root = outputs.parent / "shapes"
    for folder in ("images", "masks"):
        (root / folder).mkdir(parents=True)
    for index in range(6):
        pixels = np.random.default_rng(index).integers(0, 255, (16, 16, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "images" / f"shape{index}.png")
        size = (12, 16) if index == 3 else (16, 16)  # shape3's mask: 16 wide, 12 high
        Image.fromarray(np.zeros(size, dtype=np.uint8)).save(root / "masks" / f"shape{index}.png")
    args = ["task=segmentation", "model=unet", "data=segmentation_folder", f"data.root={root}"]
    args += ["data.num_classes=2", "data.num_workers=0"]
    result = run_cli("train", *TINY, *args, cwd=outputs.parent, check=False)
    assert_one_sentence_error(
        result,
        f"mask {root / 'masks' / 'shape3.png'} is 16x12 pixels",
        f"its image {root / 'images' / 'shape3.png'} is 16x16",
    )
    assert_unchanged(earlier_run, outputs)


def test_a_suspicious_learning_rate_warns_and_trains(
    outputs: Path, earlier_run: dict[str, str]
) -> None:
    result = run_cli(
        "train", *TINY, "trainer.max_epochs=1", "task.optimizer.lr=2", cwd=outputs.parent
    )
    assert "task.optimizer.lr=2 is above 1, which usually diverges" in result.stdout + result.stderr
    assert "Final metrics:" in result.stdout
    assert_unchanged(earlier_run, outputs)
