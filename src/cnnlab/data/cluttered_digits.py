"""A harder offline classification set: one handwritten digit anywhere on a canvas, among clutter.

The idea of cluttered MNIST: a digit at a random position and size, plus fragments cut from
other digits, so a classifier must learn what a digit looks like wherever it is and ignore
ink that belongs to no digit. From a handful of labels that is hard to learn from scratch and
easy to reuse from a network that learnt it on other digits: the transfer-learning target.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from cnnlab.data.canvas import CanvasDataModule, random_int, scaled
from cnnlab.data.in_memory import Arrays


class ClutteredDigitsDataModule(CanvasDataModule):
    """Canvases of one digit (the label, 0-9) plus `clutter` fragments of random other digits.

    A fragment is a random square of a random digit, `fragment_size` of the canvas side (its
    ink scaled like the digits'), pasted anywhere, also over the digit. `classes` and
    `train_per_class` select digits and the few-label regime as for `data=digits`; other
    arguments are CanvasDataModule's.
    """

    def __init__(self, *, clutter: int = 2, fragment_size: float = 0.15, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clutter = clutter
        self.fragment_side = max(2, round(fragment_size * self.image_size))

    def draw(
        self, digits: Tensor, labels: Tensor, count: int, generator: torch.Generator
    ) -> Arrays:
        side = self.image_size
        images = torch.zeros(count, 1, side, side)
        targets = torch.empty(count, dtype=torch.long)
        low, high = self.digit_side_range()
        for index in range(count):
            for _ in range(self.clutter):
                self._paste(images[index, 0], self._fragment(digits, generator), generator)
            choice = random_int(0, len(digits) - 1, generator)
            digit = scaled(digits[choice], random_int(low, high, generator))
            self._paste(images[index, 0], digit, generator)
            targets[index] = labels[choice]
        return images, targets

    def _fragment(self, digits: Tensor, generator: torch.Generator) -> Tensor:
        """A `fragment_side` square cut from a random digit scaled to the largest digit size."""
        size = self.digit_side_range()[1]
        ink = scaled(digits[random_int(0, len(digits) - 1, generator)], size)
        top, left = (random_int(0, size - self.fragment_side, generator) for _ in range(2))
        return ink[top : top + self.fragment_side, left : left + self.fragment_side]

    def _paste(self, canvas: Tensor, ink: Tensor, generator: torch.Generator) -> None:
        """Overlay `ink` at a random position; overlapping strokes keep the darker ink."""
        size = ink.shape[-1]
        top, left = (random_int(0, self.image_size - size, generator) for _ in range(2))
        region = canvas[top : top + size, left : left + size]
        torch.maximum(region, ink, out=region)
