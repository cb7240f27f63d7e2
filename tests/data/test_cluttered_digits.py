"""Cluttered digits: one labelled digit per canvas, fragments of others, held-out handwriting."""

from __future__ import annotations

import pytest
import torch

from cnnlab.data.cluttered_digits import ClutteredDigitsDataModule
from cnnlab.data.digits import load_digit_arrays
from cnnlab.errors import ConfigError

# the values conf/data/cluttered_digits.yaml sets
SHAPE = {"num_classes": 10, "in_channels": 1, "image_size": 32}


def cluttered(**options) -> ClutteredDigitsDataModule:
    options = {**SHAPE, "num_images": 400, "seed": 3, "normalize": False, **options}
    datamodule = ClutteredDigitsDataModule(**options)
    datamodule.setup()
    return datamodule


def test_each_canvas_is_labelled_with_the_digit_pasted_on_it() -> None:
    digits, labels = load_digit_arrays()
    threes = digits[labels == 3]
    datamodule = ClutteredDigitsDataModule(**SHAPE, clutter=0, num_images=10)
    generator = torch.Generator().manual_seed(0)
    images, targets = datamodule.draw(threes, torch.full((len(threes),), 3), 50, generator)
    assert images.shape == (50, 1, 32, 32) and targets.tolist() == [3] * 50
    assert images.min() >= 0 and images.max() <= 1
    # one digit 10-16 px wide: ink in a small part of the canvas, never empty
    inked = (images > 0.3).flatten(1).sum(1)
    assert inked.min() > 5 and inked.max() < 16 * 16


def test_clutter_adds_ink_that_no_label_accounts_for() -> None:
    plain = cluttered(clutter=0).splits["train"][0]
    busy = cluttered(clutter=4).splits["train"][0]
    assert (busy > 0.3).float().mean() > 1.3 * (plain > 0.3).float().mean()


def test_test_canvases_use_handwriting_never_seen_in_training() -> None:
    # canvas = digit size, no clutter: every canvas is one of the 1,797 (distinct) digits itself
    datamodule = cluttered(image_size=8, digit_size=(1.0, 1.0), clutter=0)
    rows = {
        name: {tuple(image.flatten().tolist()) for image in images}
        for name, (images, _) in datamodule.splits.items()
    }
    assert rows["train"] and rows["test"]
    assert not rows["test"] & (rows["train"] | rows["val"])


def test_same_seed_same_canvases_other_seed_others() -> None:
    first, again, other = (cluttered(seed=s).splits["train"][0] for s in (3, 3, 4))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_class_subset_and_few_labels() -> None:
    datamodule = cluttered(num_classes=5, classes=[5, 6, 7, 8, 9], train_per_class=4)
    assert torch.bincount(datamodule.splits["train"][1]).tolist() == [4] * 5
    assert datamodule.splits["test"][1].unique().tolist() == [0, 1, 2, 3, 4]
    assert datamodule.class_names == ["5", "6", "7", "8", "9"]


def test_bad_digit_size_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"^digit_size=\[0.6, 0.2\] must be \[min, max\]"):
        ClutteredDigitsDataModule(**SHAPE, digit_size=(0.6, 0.2))
