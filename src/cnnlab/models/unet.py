"""U-Net (Ronneberger et al., 2015) written to be read: contracting path, expanding path, skips.

The contracting path (encoder) alternates two 3x3 convolutions with 2x2 max pooling, so each
level sees a wider context at half the resolution and twice the channels. The expanding path
(decoder) upsamples back level by level; before its convolutions, each level concatenates the
encoder features of the same resolution (the skip connection), which carries the fine spatial
detail that pooling threw away. A 1x1 convolution then maps every pixel to class logits.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

import torch
from torch import Tensor, nn

from cnnlab.errors import ConfigError

Upsampling = Literal["transpose", "bilinear"]


class DoubleConv(nn.Sequential):
    """(3x3 conv -> batch norm -> ReLU) twice: the unit of work at every U-Net level.

    Padding 1 keeps the spatial size, so the decoder's features line up with the skip's
    (the original paper used unpadded convolutions and cropped the skips instead).
    """

    def __init__(self, in_channels: int, out_channels: int, batch_norm: bool = True) -> None:
        layers: list[nn.Module] = []
        for channels_in in (in_channels, out_channels):
            layers.append(nn.Conv2d(channels_in, out_channels, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class Down(nn.Sequential):
    """One contracting step: 2x2 max pooling halves the resolution, then a DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int, batch_norm: bool = True) -> None:
        super().__init__(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels, batch_norm))


class Up(nn.Module):
    """One expanding step: upsample x2, concatenate the skip, then a DoubleConv.

    `transpose` learns the upsampling (a stride-2 transposed conv that also halves the channels);
    `bilinear` interpolates and uses a 1x1 conv to halve the channels, which has fewer
    parameters and avoids checkerboard artefacts. Either way the concatenation doubles the
    channels again, so `conv` sees `in_channels` = upsampled half + skip half.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        upsampling: Upsampling = "transpose",
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        half = in_channels // 2
        if upsampling == "transpose":
            self.up: nn.Module = nn.ConvTranspose2d(in_channels, half, kernel_size=2, stride=2)
        else:
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_channels, half, kernel_size=1),
            )
        self.conv = DoubleConv(half + out_channels, out_channels, batch_norm)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(nn.Module):
    """A U-Net of `depth` poolings whose first level has `base_channels` channels.

    Level i of the encoder has base_channels * 2**i channels; the decoder mirrors it. The input's
    height and width must be divisible by 2**depth so that every upsampled map has exactly the
    size of its skip; other sizes raise a ConfigError naming the nearest sizes that work.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        depth: int = 4,
        base_channels: int = 32,
        batch_norm: bool = True,
        upsampling: Upsampling = "transpose",
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ConfigError(
                f"`depth`={depth}: a U-Net needs at least one pooling level, set 1 or more"
            )
        if upsampling not in ("transpose", "bilinear"):
            raise ConfigError(f"`upsampling`={upsampling!r}: choose 'transpose' or 'bilinear'")
        self.depth = depth
        widths = [base_channels * 2**level for level in range(depth + 1)]
        self.stem = DoubleConv(in_channels, widths[0], batch_norm)
        self.down = nn.ModuleList(Down(a, b, batch_norm) for a, b in pairwise(widths))
        self.up = nn.ModuleList(
            Up(b, a, upsampling, batch_norm) for a, b in reversed(list(pairwise(widths)))
        )
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        self.check_size(x.shape[-2], x.shape[-1])
        x = self.stem(x)
        skips = [x]
        for down in self.down:
            x = down(x)
            skips.append(x)
        skips.pop()  # the bottleneck output is the decoder's input, not a skip
        for up in self.up:
            x = up(x, skips.pop())
        return self.head(x)

    def check_size(self, height: int, width: int) -> None:
        """Raise ConfigError unless both sides survive `depth` halvings without rounding."""
        step = 2**self.depth
        if height % step or width % step:
            nearest = sorted({max(step, step * round(side / step)) for side in (height, width)})
            raise ConfigError(
                f"a U-Net of `depth`={self.depth} needs image sides divisible by {step}, got "
                f"{height}x{width}: resize the images to a multiple of {step} (e.g. "
                f"{' or '.join(map(str, nearest))}) or lower `depth`"
            )
