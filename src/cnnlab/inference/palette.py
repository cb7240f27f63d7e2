"""Colours for predicted masks: the palette the data used, or the PASCAL VOC colour map."""

from __future__ import annotations

import numpy as np
from PIL import Image
from torch import Tensor

OVERLAY_ALPHA = 0.5  # the mask colour's share of each overlay pixel


def voc_palette(num_classes: int) -> list[list[int]]:
    """PASCAL VOC's colour map: class 0 black, then distinct colours from the class's bits."""
    colours = []
    for label in range(num_classes):
        rgb, value = [0, 0, 0], label
        for shift in range(7, -1, -1):
            for channel in range(3):
                rgb[channel] |= ((value >> channel) & 1) << shift
            value >>= 3
        colours.append(rgb)
    return colours


def class_palette(palette: list[list[int]] | None, num_classes: int) -> list[list[int]]:
    """The data's own palette (a segmentation folder's `palette`) or VOC's, one RGB per class."""
    return [list(map(int, c)) for c in palette] if palette else voc_palette(num_classes)


def mask_image(mask: np.ndarray, palette: list[list[int]]) -> Image.Image:
    """A palette-mode PNG image: each pixel's value is its class, shown in its class colour."""
    image = Image.fromarray(mask.astype(np.uint8))  # mode L; a palette makes it mode P
    image.putpalette([value for colour in palette for value in colour])
    return image


def overlay_image(image: Tensor, mask: np.ndarray, palette: list[list[int]]) -> Image.Image:
    """The input image (C, H, W) in [0, 1] with each pixel's class colour blended over it."""
    pixels = image.clamp(0, 1).expand(3, -1, -1).permute(1, 2, 0).numpy() * 255
    colours = np.asarray(palette, dtype=np.float32)[mask]
    blended = (1 - OVERLAY_ALPHA) * pixels + OVERLAY_ALPHA * colours
    return Image.fromarray(blended.round().astype(np.uint8))
