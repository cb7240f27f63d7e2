"""Class-per-folder images from PNGs the test writes: loading, splits and clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab.data.image_folder import ImageFolderDataModule
from cnnlab.errors import ConfigError, DataError


def write_pngs(
    folder: Path, classes: tuple[str, ...] = ("ants", "bees"), per_class: int = 6
) -> None:
    rng = np.random.default_rng(0)
    for name in classes:
        (folder / name).mkdir(parents=True)
        for index in range(per_class):
            size = (20 + index, 30)  # any size: the module resizes
            Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(
                folder / name / f"{index}.png"
            )


def make(root: Path, **kwargs) -> ImageFolderDataModule:
    options = {
        "root": str(root),
        "num_classes": 2,
        "in_channels": 3,
        "image_size": 16,
        "val_fraction": 0.2,
        "batch_size": 4,
        "num_workers": 0,
    }
    return ImageFolderDataModule(**{**options, **kwargs})


def test_train_and_val_folders(tmp_path: Path) -> None:
    write_pngs(tmp_path / "train")
    write_pngs(tmp_path / "val", per_class=2)
    datamodule = make(tmp_path)
    datamodule.setup()
    assert datamodule.class_names == ["ants", "bees"]
    images, _ = next(iter(datamodule.val_dataloader()))
    assert images.shape == (4, 3, 16, 16)
    assert len(datamodule.datasets["train"]) == 12 and len(datamodule.datasets["test"]) == 4


def test_seeded_val_split_and_grey_scale(tmp_path: Path) -> None:
    write_pngs(tmp_path / "train")
    datamodule = make(tmp_path, val_dir=None, val_fraction=0.25, in_channels=1)
    datamodule.setup()
    assert len(datamodule.datasets["val"]) == 3 and len(datamodule.datasets["train"]) == 9
    images, _ = next(iter(datamodule.train_dataloader()))
    assert images.shape[1] == 1


def test_corrupt_image_is_named(tmp_path: Path) -> None:
    write_pngs(tmp_path / "train")
    bad = tmp_path / "train" / "bees" / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=re.escape(f"cannot read image {bad}")):
        make(tmp_path, val_dir=None).setup()


def test_class_count_mismatch_says_what_to_set(tmp_path: Path) -> None:
    write_pngs(tmp_path / "train", classes=("a", "b", "c"))
    with pytest.raises(ConfigError, match=r"set num_classes=3$") as error:
        make(tmp_path, val_dir=None).setup()
    # the pipeline names the argument by the config node it built the data module from
    assert str(error.value.at("data")).startswith("data.num_classes=2 but ")


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        make(tmp_path / "nowhere").setup()
