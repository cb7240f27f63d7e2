"""An offline segmentation set from real handwriting: scikit-learn digits scattered on a canvas.

The idea of M2NIST: several handwritten digits at random positions and scales on a larger
image, and a mask giving every pixel its digit class (or background). The digits are the
1,797 real 8x8 ones bundled with scikit-learn, so nothing is downloaded; the canvases are
drawn from `seed`, so every run with that seed sees the same images.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from cnnlab.data.digits import load_digit_arrays
from cnnlab.data.in_memory import Arrays, InMemoryDataModule
from cnnlab.errors import ConfigError


class DigitCanvasDataModule(InMemoryDataModule):
    """Canvases of `image_size`² pixels holding 1..`max_digits` non-overlapping digits each.

    Mask values: 0 = background, 1 + d = digit d (11 classes); with `binary`, 1 = any digit.
    A pixel belongs to a digit where its scaled ink exceeds `ink_threshold`. Other arguments
    (val_fraction, test_fraction, seed, normalize, ...) are InMemoryDataModule's. The test canvases
    are drawn from a held-out `test_fraction` of the source digits, so test handwriting is
    never seen in training; validation is carved from the training canvases.
    """

    def __init__(
        self,
        num_classes: int,
        image_size: int = 64,
        in_channels: int = 1,
        batch_size: int = 32,
        augment: dict[str, Any] | None = None,
        num_images: int = 2000,
        max_digits: int = 3,
        digit_size: tuple[float, float] = (0.3, 0.5),
        ink_threshold: float = 0.3,
        binary: bool = False,
        **kwargs: Any,
    ) -> None:
        label_options = sorted({"classes", "train_per_class"} & set(kwargs))
        if label_options:
            raise ConfigError(
                f"data.{label_options[0]} selects images by their label, but digit canvases have "
                "masks, not labels: remove it (use data.binary for digit vs background)"
            )
        super().__init__(num_classes, in_channels, image_size, batch_size, augment, **kwargs)
        expected = 2 if binary else 11
        if num_classes != expected:
            kind = "binary masks (background, digit)" if binary else "background + 10 digits"
            raise ConfigError(
                f"data.num_classes={num_classes} but the digit canvas has {expected} classes "
                f"({kind}): set data.num_classes={expected}"
            )
        if in_channels != 1:
            raise ConfigError(
                f"data.in_channels={in_channels}: the digit canvas is grey, set it to 1"
            )
        low, high = digit_size
        if not 0 < low <= high <= 1:
            raise ConfigError(
                f"data.digit_size={list(digit_size)} must be [min, max] fractions of the canvas "
                "side with 0 < min <= max <= 1"
            )
        self.num_images = num_images
        self.max_digits = max_digits
        self.digit_size = (low, high)
        self.ink_threshold = ink_threshold
        self.binary = binary
        self.class_names = (
            ["background", "digit"] if binary else ["background", *map(str, range(10))]
        )

    def load(self) -> dict[str, Arrays]:
        digits, labels = load_digit_arrays()
        generator = torch.Generator().manual_seed(self.seed)
        order = torch.randperm(len(digits), generator=generator)
        n_test = round(len(digits) * self.test_fraction)
        n_test_images = round(self.num_images * self.test_fraction)
        pools = {"test": order[:n_test], "train": order[n_test:]}
        sizes = {"test": n_test_images, "train": self.num_images - n_test_images}
        return {
            split: self._canvases(digits[pool], labels[pool], sizes[split], generator)
            for split, pool in pools.items()
        }

    def _canvases(
        self, digits: Tensor, labels: Tensor, count: int, generator: torch.Generator
    ) -> Arrays:
        side = self.image_size
        images = torch.zeros(count, 1, side, side)
        masks = torch.zeros(count, side, side, dtype=torch.long)
        for index in range(count):
            boxes: list[tuple[int, int, int]] = []
            n_digits = int(torch.randint(1, self.max_digits + 1, (1,), generator=generator))
            for _ in range(n_digits):
                choice = int(torch.randint(len(digits), (1,), generator=generator))
                box = self._free_box(boxes, generator)
                if box is None:
                    continue  # the canvas is full: fewer digits on this one
                boxes.append(box)
                top, left, size = box
                ink = F.interpolate(
                    digits[choice : choice + 1], size=(size, size), mode="bilinear"
                )[0, 0]
                images[index, 0, top : top + size, left : left + size] = ink.clamp(0, 1)
                label = 1 if self.binary else 1 + int(labels[choice])
                region = masks[index, top : top + size, left : left + size]
                region[ink > self.ink_threshold] = label
        return images, masks

    def _free_box(
        self, boxes: list[tuple[int, int, int]], generator: torch.Generator, tries: int = 20
    ) -> tuple[int, int, int] | None:
        """A random (top, left, size) square that overlaps none of `boxes`, or None."""
        low, high = (max(4, round(f * self.image_size)) for f in self.digit_size)
        for _ in range(tries):
            size = int(torch.randint(low, high + 1, (1,), generator=generator))
            top, left = (
                int(v)
                for v in torch.randint(0, self.image_size - size + 1, (2,), generator=generator)
            )
            if all(_apart((top, left, size), box) for box in boxes):
                return top, left, size
        return None


def _apart(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    (top_a, left_a, size_a), (top_b, left_b, size_b) = a, b
    return (
        top_a + size_a <= top_b
        or top_b + size_b <= top_a
        or left_a + size_a <= left_b
        or left_b + size_b <= left_a
    )
