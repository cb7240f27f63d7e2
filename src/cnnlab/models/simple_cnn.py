"""The textbook classifier: conv blocks extract features, then fully connected layers decide."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Literal

import torch
from torch import Tensor, nn


def conv_block(
    in_channels: int,
    out_channels: int,
    kernel_size: int = 3,
    batch_norm: bool = True,
    pool: Literal["max", "avg", "none"] = "max",
) -> nn.Sequential:
    """conv -> (batch norm) -> ReLU -> (2x2 pooling, halving the resolution)."""
    layers: list[nn.Module] = [
        nn.Conv2d(
            in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=not batch_norm
        )
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU(inplace=True))
    if pool == "max":
        layers.append(nn.MaxPool2d(2))
    elif pool == "avg":
        layers.append(nn.AvgPool2d(2))
    return nn.Sequential(*layers)


class SimpleCNN(nn.Module):
    """Conv blocks (`features`) -> flatten -> hidden fully connected layers -> `head`.

    The flattened size is measured with a dummy forward pass, so any `input_size` works.
    `global_pool` ("max"/"avg") first pools each feature map to one number, so the head sees
    what was found, not where: the choice for objects that move around the image.
    `get_classifier`/`reset_classifier` follow timm's convention for replacing the head.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        input_size: int,
        channels: Sequence[int] = (32, 64),
        kernel_size: int = 3,
        pool: Literal["max", "avg", "none"] = "max",
        batch_norm: bool = True,
        hidden: Sequence[int] = (128,),
        dropout: float = 0.25,
        global_pool: Literal["none", "max", "avg"] = "none",
    ) -> None:
        super().__init__()
        widths = [in_channels, *channels]
        self.features = nn.Sequential(
            *(conv_block(a, b, kernel_size, batch_norm, pool) for a, b in pairwise(widths))
        )
        pooling = {"max": nn.AdaptiveMaxPool2d(1), "avg": nn.AdaptiveAvgPool2d(1)}
        layers: list[nn.Module] = [pooling[global_pool]] if global_pool != "none" else []
        layers.append(nn.Flatten())
        with torch.no_grad():
            dummy = torch.zeros(1, in_channels, input_size, input_size)
            flat = nn.Sequential(*layers)(self.features(dummy)).numel()
        for width in hidden:
            layers += [nn.Linear(flat, width), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            flat = width
        self.neck = nn.Sequential(*layers)
        self.head = nn.Linear(flat, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.neck(self.features(x)))

    def get_classifier(self) -> nn.Linear:
        return self.head

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the last fully connected layer with a fresh one for `num_classes`."""
        self.head = nn.Linear(self.head.in_features, num_classes)
