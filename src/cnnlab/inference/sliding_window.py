"""Segmentation of images of any size with a model trained on small tiles.

The image is padded to at least one tile (and to a multiple of the model's stride), cut into
overlapping tiles of the training size, and each tile's logits are weighted by a smooth window
(a Gaussian, highest in the tile's centre, as nnU-Net and MONAI blend) before being summed, so
tile borders, where the model saw the least context, count least and leave no seams.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnlab.errors import ConfigError


def model_stride(model: nn.Module) -> int:
    """How many pixels one step of the model's coarsest feature map spans: input sides must be
    multiples of it (2**depth for cnnlab's U-Net, the encoder's output stride for smp models)."""
    encoder_stride = getattr(getattr(model, "encoder", None), "output_stride", None)
    if isinstance(encoder_stride, int):
        return encoder_stride
    depth = getattr(model, "depth", None)
    return 2**depth if isinstance(depth, int) else 1


def blend_window(size: int, sigma_fraction: float = 0.125) -> Tensor:
    """(size, size) Gaussian weights, 1 in the centre, sigma = size / 8, never below 1e-3."""
    position = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    profile = torch.exp(-0.5 * (position / (sigma_fraction * size)) ** 2)
    return torch.outer(profile, profile).clamp_min(1e-3)


def tile_starts(length: int, tile: int, step: int) -> list[int]:
    """Start offsets of tiles covering [0, length): every `step`, the last flush with the end."""
    starts = list(range(0, length - tile + 1, step))
    if starts[-1] != length - tile:
        starts.append(length - tile)
    return starts


def check_overlap(overlap: float) -> None:
    """One sentence for an overlap that leaves no step between tiles, before any work."""
    if not 0 <= overlap < 1:
        raise ConfigError(f"`overlap`={overlap} must be at least 0 and below 1, e.g. 0.5")


def sliding_window_logits(
    forward: Callable[[Tensor], Tensor],
    image: Tensor,
    tile: int,
    overlap: float = 0.5,
    stride: int = 1,
    batch_size: int = 16,
) -> Tensor:
    """Logits (K, H, W) of one normalised image (C, H, W) of any size, tile by tile.

    `forward` maps a batch of tiles (N, C, tile, tile) to logits (N, K, tile, tile); up to
    `batch_size` tiles go through it at once. `overlap` is the fraction of a tile its neighbour
    shares (0 <= overlap < 1). The padding repeats the image's border pixels.
    """
    check_overlap(overlap)
    tile = math.ceil(tile / stride) * stride
    height, width = image.shape[-2:]
    padded_h = max(tile, math.ceil(height / stride) * stride)
    padded_w = max(tile, math.ceil(width / stride) * stride)
    padded = F.pad(image[None], (0, padded_w - width, 0, padded_h - height), mode="replicate")[0]
    step = max(1, int(tile * (1 - overlap)))
    corners = [
        (top, left)
        for top in tile_starts(padded_h, tile, step)
        for left in tile_starts(padded_w, tile, step)
    ]
    window = blend_window(tile).to(image.device)
    total: Tensor | None = None
    weight = torch.zeros(padded_h, padded_w, device=image.device)
    for first in range(0, len(corners), batch_size):
        chunk = corners[first : first + batch_size]
        tiles = torch.stack([padded[:, y : y + tile, x : x + tile] for y, x in chunk])
        logits = forward(tiles)
        if total is None:
            total = torch.zeros(logits.shape[1], padded_h, padded_w, device=image.device)
        for (top, left), tile_logits in zip(chunk, logits, strict=True):
            total[:, top : top + tile, left : left + tile] += tile_logits * window
            weight[top : top + tile, left : left + tile] += window
    assert total is not None  # at least one tile
    return (total / weight)[:, :height, :width]
