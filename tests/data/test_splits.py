"""Every data module's seeded train/val/test split: disjoint, and the same as before one function.

`splits_before.json` records the splits of each kind of data module for a few seeds, captured
from the code before the four seeded splits became `cnnlab.data.splits`, by running
`python tests/data/test_splits.py`. Equal splits mean recorded results still reproduce.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[2]))  # `tests.` when run as a script
from cnnlab.data.cluttered_digits import ClutteredDigitsDataModule
from cnnlab.data.digit_canvas import DigitCanvasDataModule
from cnnlab.data.digits import DigitsDataModule, load_digit_arrays
from cnnlab.data.image_folder import ImageFolderDataModule
from cnnlab.data.segmentation_folder import SegmentationFolderDataModule
from cnnlab.data.splits import seeded_split
from cnnlab.data.torchvision_sets import TorchvisionDataModule
from cnnlab.errors import ConfigError, DataError
from tests.data.test_torchvision_sets import write_mnist

BEFORE = Path(__file__).with_name("splits_before.json")
SEEDS = (0, 7, 42)
SPLITS = ("train", "val", "test")


def in_memory_targets(datamodule) -> dict[str, list]:
    """Each split's targets in order (masks summed per image): they pin the permutation."""
    datamodule.setup()
    return {
        split: targets.flatten(1).sum(1).tolist() if targets.dim() > 1 else targets.tolist()
        for split, (_, targets) in datamodule.splits.items()
    }


def subset_indices(datamodule) -> dict[str, list[int]]:
    datamodule.setup()
    return {split: list(getattr(datamodule.datasets[split], "indices", [])) for split in SPLITS}


def write_files(root: Path) -> None:
    """23 class-folder images and 20 image/mask pairs, 4x4 pixels each."""
    pixels = np.zeros((4, 4, 3), dtype=np.uint8)
    for index in range(23):
        (root / "folder" / f"c{index % 2}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / "folder" / f"c{index % 2}" / f"{index:02}.png")
    for kind in ("images", "masks"):
        (root / "pairs" / kind).mkdir(parents=True, exist_ok=True)
    for index in range(20):
        Image.fromarray(pixels).save(root / "pairs" / "images" / f"{index:02}.png")
        Image.fromarray(pixels[..., 0]).save(root / "pairs" / "masks" / f"{index:02}.png")


def capture(root: Path) -> dict[str, dict[str, list]]:
    """The splits of every kind of data module, keyed `<module>/seed=<seed>[/option]`."""
    write_files(root)
    write_mnist(root / "mnist", "MNIST", n_train=50, n_test=10)
    small = {"num_images": 40, "in_channels": 1, "image_size": 16}
    splits = {}
    for seed in SEEDS:
        splits[f"digits/seed={seed}"] = in_memory_targets(
            DigitsDataModule(num_classes=10, in_channels=1, image_size=8, seed=seed)
        )
        splits[f"digits/seed={seed}/train_per_class=3"] = in_memory_targets(
            DigitsDataModule(
                num_classes=10, in_channels=1, image_size=8, seed=seed, train_per_class=3
            )
        )
        splits[f"mnist/seed={seed}"] = in_memory_targets(
            TorchvisionDataModule(
                name="mnist", root=str(root / "mnist"), num_classes=10, in_channels=1,
                image_size=28, val_fraction=0.2, seed=seed,
            )
        )  # fmt: skip
        splits[f"cluttered_digits/seed={seed}"] = in_memory_targets(
            ClutteredDigitsDataModule(num_classes=10, seed=seed, **small)
        )
        splits[f"digit_canvas/seed={seed}"] = in_memory_targets(
            DigitCanvasDataModule(num_classes=11, seed=seed, **small)
        )
        splits[f"image_folder/seed={seed}"] = subset_indices(
            ImageFolderDataModule(
                root=str(root), train_dir="folder", val_dir=None, num_classes=2, in_channels=3,
                image_size=4, val_fraction=0.2, seed=seed, num_workers=0,
            )
        )  # fmt: skip
        splits[f"segmentation_folder/seed={seed}"] = subset_indices(
            SegmentationFolderDataModule(
                root=str(root / "pairs"),
                num_classes=1,
                in_channels=3,
                image_size=4,
                seed=seed,
                num_workers=0,
            )
        )
    return splits


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list]]:
    return capture(tmp_path_factory.mktemp("splits"))


def test_every_data_module_splits_as_before(captured: dict[str, dict[str, list]]) -> None:
    before = json.loads(BEFORE.read_text())
    assert sorted(captured) == sorted(before)
    for key, splits in captured.items():
        assert splits == before[key], key


@pytest.mark.parametrize("module", ["image_folder", "segmentation_folder"])
@pytest.mark.parametrize("seed", SEEDS)
def test_file_splits_are_disjoint_and_cover_the_files(
    captured: dict[str, dict[str, list]], module: str, seed: int
) -> None:
    splits = captured[f"{module}/seed={seed}"]
    size = 23 if module == "image_folder" else 20
    held_out = splits["val"] + (splits["test"] if module == "segmentation_folder" else [])
    assert sorted(splits["train"] + held_out) == list(range(size))
    assert splits["train"] and splits["val"]


@pytest.mark.parametrize("seed", SEEDS)
def test_digit_splits_are_disjoint_and_cover_the_digits(seed: int) -> None:
    datamodule = DigitsDataModule(
        num_classes=10, in_channels=1, image_size=8, seed=seed, normalize=False
    )
    datamodule.setup()
    rows = [
        bytes(image.numpy().tobytes()) for split in SPLITS for image in datamodule.splits[split][0]
    ]
    images, _ = load_digit_arrays()
    assert Counter(rows) == Counter(bytes(image.numpy().tobytes()) for image in images)


@pytest.mark.parametrize("size", [3, 10, 101])
def test_parts_are_disjoint_sized_by_fraction_and_keep_the_rest(size: int) -> None:
    val, test, train = seeded_split(size, {"val_fraction": 0.2, "test_fraction": 0.1}, 3)
    assert sorted(torch.cat([val, test, train]).tolist()) == list(range(size))
    assert (len(val), len(test)) == (max(1, round(size * 0.2)), max(1, round(size * 0.1)))
    assert [p.tolist() for p in seeded_split(size, {"f": 0.2}, 3)] == [
        p.tolist() for p in seeded_split(size, {"f": 0.2}, torch.Generator().manual_seed(3))
    ]


def test_a_fraction_outside_0_1_names_its_argument() -> None:
    with pytest.raises(ConfigError, match=r"^val_fraction=0 must be a fraction between 0 and 1"):
        seeded_split(10, {"val_fraction": 0}, 0)
    with pytest.raises(ConfigError, match=r"test_fraction=1\.5"):
        DigitsDataModule(num_classes=10, in_channels=1, image_size=8, test_fraction=1.5).setup()


def test_too_few_samples_for_the_fractions_is_a_data_error() -> None:
    with pytest.raises(DataError, match=r"^2 samples leave none for training after val_fraction"):
        seeded_split(2, {"val_fraction": 0.1, "test_fraction": 0.1}, 0)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        BEFORE.write_text(json.dumps(capture(Path(tmp)), separators=(",", ":")) + "\n")
