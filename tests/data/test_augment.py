"""Batch augmentation: per-sample, and masks move exactly with their images."""

from __future__ import annotations

import torch

from cnnlab.data.augment import BatchAugment


def test_masks_follow_images() -> None:
    torch.manual_seed(0)
    images = torch.arange(4 * 6 * 6, dtype=torch.float32).view(4, 1, 6, 6)
    masks = images[:, 0].long()
    out_images, out_masks = BatchAugment(hflip=True, vflip=True, crop_padding=2)(images, masks)
    assert out_images.shape == images.shape and out_masks.shape == masks.shape
    assert torch.equal(out_images[:, 0].long(), out_masks)


def test_per_sample_randomness_and_identity_when_off() -> None:
    torch.manual_seed(1)
    images = torch.rand(64, 3, 8, 8)
    flipped, _ = BatchAugment(hflip=True)(images)
    same = [torch.equal(a, b) for a, b in zip(flipped, images)]
    assert 10 < sum(same) < 54  # about half the samples flipped, not all or none
    assert all(torch.equal(a, b) or torch.equal(a, b.flip(-1)) for a, b in zip(flipped, images))
    assert torch.equal(BatchAugment()(images)[0], images)


def test_crop_shifts_content_and_pads_with_zeros() -> None:
    torch.manual_seed(2)
    images = torch.ones(32, 1, 5, 5)
    cropped, _ = BatchAugment(crop_padding=1)(images)
    assert (cropped == 0).any() and (cropped == 1).any()
    assert set(cropped.unique().tolist()) <= {0.0, 1.0}
