"""The offline digit canvas: real digits placed by seed, masks that match the ink."""

from __future__ import annotations

import pytest
import torch

from cnnlab.data.digit_canvas import DigitCanvasDataModule
from cnnlab.errors import ConfigError


def canvas(**options) -> DigitCanvasDataModule:
    options = {
        "num_classes": 11,
        "in_channels": 1,
        "image_size": 32,
        "num_images": 60,
        "seed": 3,
        **options,
    }
    datamodule = DigitCanvasDataModule(**options)
    datamodule.setup()
    return datamodule


def test_splits_hold_images_and_per_pixel_masks_of_the_declared_classes():
    datamodule = canvas()
    sizes = {name: len(images) for name, (images, _) in datamodule.splits.items()}
    assert sizes == {"train": 43, "val": 8, "test": 9}  # 15% test, then 15% of the other 51
    images, masks = datamodule.splits["train"]
    assert images.shape == (43, 1, 32, 32) and masks.shape == (43, 32, 32)
    assert masks.dtype == torch.long
    assert 0 in masks and masks.max() <= 10 and masks.unique().numel() > 5
    assert datamodule.class_names == ["background", *map(str, range(10))]


def test_mask_pixels_are_the_inked_pixels():
    datamodule = canvas(normalize=False)
    images, masks = datamodule.splits["train"]
    assert torch.equal(masks > 0, images[:, 0] > datamodule.ink_threshold)


def test_the_same_seed_gives_the_same_canvases_and_another_seed_others():
    first, again, other = canvas(), canvas(), canvas(seed=4)
    assert torch.equal(first.splits["train"][1], again.splits["train"][1])
    assert torch.equal(first.splits["test"][0], again.splits["test"][0])
    assert not torch.equal(first.splits["train"][1], other.splits["train"][1])


def test_binary_masks_mark_any_digit():
    datamodule = canvas(num_classes=2, binary=True)
    assert datamodule.splits["train"][1].unique().tolist() == [0, 1]
    assert datamodule.class_names == ["background", "digit"]


def test_wrong_settings_are_config_errors_naming_the_fix():
    with pytest.raises(ConfigError, match=r"set num_classes=11$"):
        DigitCanvasDataModule(in_channels=1, image_size=64, num_classes=10)
    with pytest.raises(ConfigError, match=r"set num_classes=2$"):
        DigitCanvasDataModule(in_channels=1, image_size=64, num_classes=11, binary=True)
    with pytest.raises(ConfigError, match=r"^classes selects .*masks, not labels"):
        DigitCanvasDataModule(in_channels=1, image_size=64, num_classes=11, classes=[0, 1])
    with pytest.raises(ConfigError, match="digit_size"):
        DigitCanvasDataModule(in_channels=1, image_size=64, num_classes=11, digit_size=(0.5, 0.2))
