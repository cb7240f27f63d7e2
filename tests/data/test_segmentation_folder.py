"""images/ + masks/ folders: pairing, palette masks, and errors that name the files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.data.segmentation_folder import SegmentationFolderDataModule
from cnnlab.errors import ConfigError, DataError

PALETTE = [[0, 0, 0], [255, 0, 0], [0, 0, 255]]


def write_pair(root: Path, name: str, mask: np.ndarray, image_suffix: str = ".jpg") -> None:
    """A random RGB image and its mask (2-D: class indices, 3-D: RGB colours)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 255, (*mask.shape[:2], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(root / "images" / f"{name}{image_suffix}")
    Image.fromarray(mask.astype(np.uint8)).save(root / "masks" / f"{name}.png")


def class_mask(size: int = 12) -> np.ndarray:
    """Left third class 0, middle third class 1, right third class 2."""
    return np.repeat(np.arange(3), size // 3)[None, :].repeat(size, axis=0)


def folder(root: Path, **options) -> SegmentationFolderDataModule:
    options = {"num_classes": 3, "in_channels": 3, "image_size": 6, "seed": 0, **options}
    return SegmentationFolderDataModule(root=str(root), num_workers=0, **options)


def test_pairs_are_read_resized_together_and_split(tmp_path):
    for index in range(10):
        write_pair(tmp_path, f"img{index}", class_mask(), ".png" if index % 2 else ".jpg")
    datamodule = folder(tmp_path, class_names=["sky", "tree", "road"])
    datamodule.setup()
    assert {k: len(v) for k, v in datamodule.datasets.items()} == {"train": 6, "val": 2, "test": 2}
    images, masks = next(iter(datamodule.train_dataloader()))
    assert images.shape == (6, 3, 6, 6) and images.dtype == torch.float32
    assert masks.shape == (6, 6, 6) and masks.dtype == torch.long
    # nearest-neighbour resizing keeps the class layout: 12 -> 6 pixels, 2 columns per class
    assert masks[0, 0].tolist() == [0, 0, 1, 1, 2, 2]
    assert datamodule.class_names == ["sky", "tree", "road"]


def test_rgb_masks_are_mapped_to_classes_by_the_palette(tmp_path):
    rgb = np.array(PALETTE, dtype=np.uint8)[class_mask()]
    for index in range(4):
        write_pair(tmp_path, f"a{index}", rgb)
    datamodule = folder(tmp_path, palette=PALETTE, val_fraction=0.25, test_fraction=0.25)
    datamodule.setup()
    _, mask = datamodule.datasets["train"][0]
    assert mask[0].tolist() == [0, 0, 1, 1, 2, 2]


def test_unmatched_names_are_listed(tmp_path):
    write_pair(tmp_path, "cat", class_mask())
    write_pair(tmp_path, "dog", class_mask())
    (tmp_path / "masks" / "dog.png").rename(tmp_path / "masks" / "dgo.png")
    with pytest.raises(
        DataError, match=r"images without a mask: dog\.jpg; masks without an image: dgo\.png"
    ):
        folder(tmp_path).setup()


def test_mask_values_outside_the_classes_name_the_file_and_values(tmp_path):
    write_pair(tmp_path, "good", class_mask())
    write_pair(tmp_path, "bad", class_mask() * 3)  # values 0, 3, 6
    with pytest.raises(
        DataError, match=r"masks/bad\.png has values 3, 6 outside the classes 0\.\.2"
    ):
        folder(tmp_path).setup()


def test_an_ignore_index_value_is_allowed_in_masks(tmp_path):
    mask = class_mask()
    mask[0, 0] = 255
    for index in range(4):
        write_pair(tmp_path, f"v{index}", mask)
    datamodule = folder(tmp_path, ignore_index=255, val_fraction=0.25, test_fraction=0.25)
    datamodule.setup()
    assert datamodule.datasets["train"][0][1][0, 0] == 255


def test_rgb_masks_need_a_palette_and_unknown_colours_are_named(tmp_path):
    rgb = np.array(PALETTE, dtype=np.uint8)[class_mask()]
    write_pair(tmp_path, "rgb", rgb)
    with pytest.raises(DataError, match=r"masks/rgb\.png has 3 channels.*with palette"):
        folder(tmp_path).setup()
    rgb[0, 0] = [0, 255, 0]
    write_pair(tmp_path, "rgb", rgb)
    with pytest.raises(DataError, match=r"rgb\.png has colours not in palette: \[0, 255, 0\]"):
        folder(tmp_path, palette=PALETTE).setup()


def test_missing_folders_and_inconsistent_settings_are_clear(tmp_path):
    with pytest.raises(DataError, match=r"images does not exist"):
        folder(tmp_path).setup()
    with pytest.raises(ConfigError, match=r"2 colours but num_classes is 3"):
        folder(tmp_path, palette=PALETTE[:2])


def test_a_mask_of_another_size_than_its_image_names_both_files(tmp_path):
    for index in range(4):
        write_pair(tmp_path, f"img{index}", class_mask())
    Image.fromarray(class_mask(9).astype(np.uint8)).save(tmp_path / "masks" / "img2.png")
    with pytest.raises(DataError) as raised:
        folder(tmp_path).setup()
    message = str(raised.value)
    assert f"mask {tmp_path / 'masks' / 'img2.png'} is 9x9 pixels" in message
    assert f"its image {tmp_path / 'images' / 'img2.jpg'} is 12x12" in message
