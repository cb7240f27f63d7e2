"""Per-sample augmentation applied to whole batches, on whatever device the batch is on.

Working on batches (rather than per-image PIL transforms) keeps in-memory data sets free of
DataLoader workers and lets a GPU do the work; masks, when given, get the same flips and shifts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


class BatchAugment:
    """Random horizontal/vertical flips and random crops after zero padding, per sample."""

    def __init__(self, hflip: bool = False, vflip: bool = False, crop_padding: int = 0) -> None:
        if crop_padding < 0:
            raise ValueError(f"crop_padding must be >= 0, got {crop_padding}")
        self.hflip = hflip
        self.vflip = vflip
        self.crop_padding = crop_padding

    @property
    def enabled(self) -> bool:
        return self.hflip or self.vflip or self.crop_padding > 0

    def __call__(self, images: Tensor, masks: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        n = images.shape[0]
        for enabled, dim in ((self.hflip, -1), (self.vflip, -2)):
            if enabled:
                flip = torch.rand(n, device=images.device) < 0.5
                images = _where(flip, images.flip(dim), images)
                if masks is not None:
                    masks = _where(flip, masks.flip(dim), masks)
        if self.crop_padding:
            offsets = torch.randint(0, 2 * self.crop_padding + 1, (2, n), device=images.device)
            images = _shifted_crop(images, offsets, self.crop_padding)
            if masks is not None:
                masks = _shifted_crop(masks, offsets, self.crop_padding)
        return images, masks


def _where(per_sample: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return torch.where(per_sample.view(-1, *([1] * (a.dim() - 1))), a, b)


def _shifted_crop(x: Tensor, offsets: Tensor, padding: int) -> Tensor:
    """Crop each padded sample back to its size at its own (dy, dx) offset."""
    squeeze = x.dim() == 3  # masks come as (N, H, W)
    if squeeze:
        x = x.unsqueeze(1)
    n, _, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    rows = (offsets[0].view(n, 1) + torch.arange(h, device=x.device)).view(n, 1, h, 1)
    cols = (offsets[1].view(n, 1) + torch.arange(w, device=x.device)).view(n, 1, 1, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
    channels = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
    out = padded[batch, channels, rows, cols]
    return out.squeeze(1) if squeeze else out
