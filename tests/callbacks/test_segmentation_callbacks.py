"""Mask overlays: class colours land on the right pixels; grids are image | truth | prediction."""

from __future__ import annotations

import torch

from cnnlab.callbacks.segmentation import class_colors, mask_grid, overlay


def test_overlay_paints_each_foreground_class_in_its_colour_and_leaves_background():
    image = torch.zeros(3, 2, 3)
    mask = torch.tensor([[0, 1, 2], [2, 255, 0]])  # 255: an ignored pixel
    painted = overlay(image, mask, num_classes=3, alpha=1.0)
    colors = torch.tensor(class_colors(3), dtype=torch.float32) / 255
    assert torch.allclose(painted[:, 0, 1], colors[1], atol=1 / 255)
    assert torch.allclose(painted[:, 0, 2], colors[2], atol=1 / 255)
    assert torch.allclose(painted[:, 1, 0], colors[2], atol=1 / 255)
    for row, col in [(0, 0), (1, 1), (1, 2)]:  # background and ignored pixels stay as they were
        assert painted[:, row, col].tolist() == [0.0, 0.0, 0.0]


def test_mask_grid_has_three_enlarged_tiles_per_sample():
    images = torch.rand(2, 1, 16, 16)
    masks = torch.randint(0, 4, (2, 16, 16))
    grid = mask_grid(images, masks, masks, num_classes=4, min_side=64)
    # 3 columns and 2 rows of 64x64 tiles with make_grid's 2-pixel padding
    assert grid.shape == (3, 2 * 66 + 2, 3 * 66 + 2)
    left, middle = grid[:, 2:66, 2:66], grid[:, 2:66, 68:132]
    assert torch.equal(left[0], left[1])  # the grey image, unpainted
    assert not torch.equal(left, middle)  # the ground truth painted over it
