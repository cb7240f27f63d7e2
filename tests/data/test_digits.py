"""The offline default data: real digits, seeded splits, class subsets, few labels."""

from __future__ import annotations

import torch

from cnnlab.data.digits import DigitsDataModule, load_digit_arrays


def make(**kwargs) -> DigitsDataModule:
    datamodule = DigitsDataModule(
        **{"num_classes": 10, "in_channels": 1, "image_size": 16, **kwargs}
    )
    datamodule.setup()
    return datamodule


def test_real_digits_in_unit_range() -> None:
    images, labels = load_digit_arrays()
    assert images.shape == (1797, 1, 8, 8)
    assert images.min() == 0.0 and images.max() == 1.0
    assert labels.unique().tolist() == list(range(10))


def test_split_sizes_shapes_and_normalisation() -> None:
    datamodule = make(val_fraction=0.1, test_fraction=0.2)
    sizes = {name: len(images) for name, (images, _) in datamodule.splits.items()}
    assert sum(sizes.values()) == 1797
    assert sizes["test"] == round(1797 * 0.2)
    train_images = datamodule.splits["train"][0]
    assert train_images.shape[1:] == (1, 16, 16)
    assert abs(train_images.mean().item()) < 1e-4 and abs(train_images.std().item() - 1) < 1e-2
    restored = datamodule.denormalize(train_images)
    assert restored.min() >= -1e-5 and restored.max() <= 1 + 1e-5


def test_split_depends_on_seed_only() -> None:
    a, b, c = make(seed=3), make(seed=3), make(seed=4)
    assert torch.equal(a.splits["test"][0], b.splits["test"][0])
    assert not torch.equal(a.splits["test"][1], c.splits["test"][1])


def test_no_sample_in_two_splits() -> None:
    datamodule = make(image_size=8, normalize=False)
    rows = {
        name: {tuple(x.flatten().tolist()) for x in images}
        for name, (images, _) in datamodule.splits.items()
    }
    assert not rows["train"] & rows["test"]
    assert not rows["train"] & rows["val"]
    assert not rows["val"] & rows["test"]
    assert sum(map(len, rows.values())) == 1797  # the 1,797 digits are all distinct images


def test_class_subset_is_renumbered_and_few_labels() -> None:
    datamodule = make(num_classes=5, classes=[5, 6, 7, 8, 9], train_per_class=10)
    train_labels = datamodule.splits["train"][1]
    assert torch.bincount(train_labels).tolist() == [10] * 5
    assert datamodule.splits["test"][1].unique().tolist() == [0, 1, 2, 3, 4]
    assert len(datamodule.splits["test"][1]) < 1797 * 0.15 * 0.6
    assert datamodule.class_names == ["5", "6", "7", "8", "9"]  # shown by their own labels


def test_augmentation_only_while_training() -> None:
    datamodule = make(augment={"crop_padding": 2, "hflip": True})
    batch = (datamodule.splits["val"][0][:8], datamodule.splits["val"][1][:8])
    assert datamodule.on_after_batch_transfer(batch, 0) is batch  # no trainer: not training
