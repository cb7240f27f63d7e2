"""An offline segmentation set from real handwriting: scikit-learn digits scattered on a canvas.

The idea of M2NIST: several handwritten digits at random positions and scales on a larger
image, and a mask giving every pixel its digit class (or background). The digits are the
1,797 real 8x8 ones bundled with scikit-learn, so nothing is downloaded.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from cnnlab.data.canvas import CanvasDataModule, random_int, scaled
from cnnlab.data.in_memory import Arrays
from cnnlab.errors import ConfigError


class DigitCanvasDataModule(CanvasDataModule):
    """Canvases of `image_size`² pixels holding 1..`max_digits` non-overlapping digits each.

    Mask values: 0 = background, 1 + d = digit d (11 classes); with `binary`, 1 = any digit.
    A pixel belongs to a digit where its scaled ink exceeds `ink_threshold`. Validation is
    carved from the training canvases; other arguments are CanvasDataModule's.
    """

    def __init__(
        self,
        *,
        max_digits: int = 3,
        ink_threshold: float = 0.3,
        binary: bool = False,
        **kwargs: Any,
    ) -> None:
        label_options = sorted({"classes", "train_per_class"} & set(kwargs))
        if label_options:
            raise ConfigError(
                f"`{label_options[0]}` selects images by their label, but digit canvases have "
                "masks, not labels: remove it (set `binary` for digit vs background)"
            )
        super().__init__(**kwargs)
        expected = 2 if binary else 11
        if self.num_classes != expected:
            kind = "binary masks (background, digit)" if binary else "background + 10 digits"
            raise ConfigError(
                f"`num_classes`={self.num_classes} but the digit canvas has {expected} classes "
                f"({kind}): set `num_classes`={expected}"
            )
        self.max_digits = max_digits
        self.ink_threshold = ink_threshold
        self.binary = binary
        self.class_names = (
            ["background", "digit"] if binary else ["background", *map(str, range(10))]
        )

    def draw(
        self, digits: Tensor, labels: Tensor, count: int, generator: torch.Generator
    ) -> Arrays:
        side = self.image_size
        images = torch.zeros(count, 1, side, side)
        masks = torch.zeros(count, side, side, dtype=torch.long)
        for index in range(count):
            boxes: list[tuple[int, int, int]] = []
            for _ in range(random_int(1, self.max_digits, generator)):
                choice = random_int(0, len(digits) - 1, generator)
                box = self._free_box(boxes, generator)
                if box is None:
                    continue  # the canvas is full: fewer digits on this one
                boxes.append(box)
                top, left, size = box
                ink = scaled(digits[choice], size)
                images[index, 0, top : top + size, left : left + size] = ink
                label = 1 if self.binary else 1 + int(labels[choice])
                region = masks[index, top : top + size, left : left + size]
                region[ink > self.ink_threshold] = label
        return images, masks

    def _free_box(
        self, boxes: list[tuple[int, int, int]], generator: torch.Generator, tries: int = 20
    ) -> tuple[int, int, int] | None:
        """A random (top, left, size) square that overlaps none of `boxes`, or None."""
        low, high = self.digit_side_range()
        for _ in range(tries):
            size = random_int(low, high, generator)
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
