"""Generated images from real handwriting: scikit-learn's digits placed on a larger canvas.

Every canvas data set draws its images from `seed`, so every run with that seed sees the same
ones, and draws its test canvases from a held-out `test_fraction` of the 1,797 source digits,
so test handwriting is never seen in training. What goes on a canvas, and what the target is
(a mask, a class), is the subclass's `draw`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from cnnlab.data.digits import load_digit_arrays
from cnnlab.data.in_memory import Arrays, InMemoryDataModule
from cnnlab.data.splits import seeded_split
from cnnlab.errors import ConfigError


class CanvasDataModule(InMemoryDataModule):
    """`num_images` grey canvases of `image_size`² pixels, digits `digit_size` of its side.

    digit_size: [min, max] side of a pasted digit as a fraction of the canvas side. Other
    arguments are InMemoryDataModule's (test_fraction, normalize, ...) and ImageDataModule's
    (num_classes, in_channels, image_size, seed, val_fraction, ...).
    """

    def __init__(
        self,
        *,
        num_images: int = 2000,
        digit_size: tuple[float, float] = (0.3, 0.5),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if self.in_channels != 1:
            raise ConfigError(
                f"`in_channels`={self.in_channels}: digit canvases are grey, set `in_channels`=1"
            )
        low, high = digit_size
        if not 0 < low <= high <= 1:
            raise ConfigError(
                f"`digit_size`={list(digit_size)} must be [min, max] fractions of the canvas "
                "side with 0 < min <= max <= 1"
            )
        self.num_images = num_images
        self.digit_size = (low, high)

    def load(self) -> dict[str, Arrays]:
        digits, labels = load_digit_arrays()
        generator = torch.Generator().manual_seed(self.seed)
        test_pool, train_pool = seeded_split(
            len(digits), {"test_fraction": self.test_fraction}, generator
        )
        n_test_images = round(self.num_images * self.test_fraction)
        pools = {"test": test_pool, "train": train_pool}
        sizes = {"test": n_test_images, "train": self.num_images - n_test_images}
        return {
            split: self.draw(digits[pool], labels[pool], sizes[split], generator)
            for split, pool in pools.items()
        }

    @abstractmethod
    def draw(
        self, digits: Tensor, labels: Tensor, count: int, generator: torch.Generator
    ) -> Arrays:
        """`count` canvases (count, 1, side, side) in [0, 1] and their targets, from `digits`."""

    def digit_side_range(self) -> tuple[int, int]:
        """[min, max] side in pixels of a pasted digit (at least 4)."""
        low, high = self.digit_size
        return max(4, round(low * self.image_size)), max(4, round(high * self.image_size))


def scaled(digit: Tensor, size: int) -> Tensor:
    """One (1, 8, 8) digit resized to (size, size) ink in [0, 1]."""
    ink = F.interpolate(digit.unsqueeze(0), size=(size, size), mode="bilinear")[0, 0]
    return ink.clamp(0, 1)


def random_int(low: int, high: int, generator: torch.Generator) -> int:
    """A uniform integer in [low, high], drawn from `generator`."""
    return int(torch.randint(low, high + 1, (1,), generator=generator))
