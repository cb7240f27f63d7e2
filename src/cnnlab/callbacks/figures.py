"""Pictures for TensorBoard: captioned image grids (PIL) and confusion matrices (matplotlib).

Charts are drawn on `matplotlib.figure.Figure` objects, not through `pyplot`: they need no
display and no backend (TensorBoard renders them with Agg), so importing cnnlab chooses no
matplotlib backend for the program that imports it, and no figure stays open in pyplot's list.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from PIL import Image, ImageDraw
from torch import Tensor


def labelled_grid(
    images: Tensor, titles: Sequence[str], colors: Sequence[str], tile: int = 64, per_row: int = 8
) -> Tensor:
    """(N, C, H, W) images in [0, 1] as one (3, H, W) grid, each tile captioned in its colour.

    Drawn with PIL rather than matplotlib: a matplotlib figure of 16 titled subplots cost about
    0.3 s, as much as the rest of a small model's validation epoch.
    """
    pictures = images.detach().float().cpu().clamp(0, 1)
    pictures = pictures.expand(-1, 3, -1, -1) if pictures.shape[1] == 1 else pictures[:, :3]
    pictures = F.interpolate(pictures, size=(tile, tile), mode="nearest")
    caption = 14
    canvas = Image.new(
        "RGB",
        (per_row * (tile + 2), math.ceil(len(pictures) / per_row) * (tile + caption + 2)),
        "white",
    )
    draw = ImageDraw.Draw(canvas)
    for index, (picture, title, color) in enumerate(zip(pictures, titles, colors)):
        x, y = (index % per_row) * (tile + 2), (index // per_row) * (tile + caption + 2)
        pixels = (picture.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
        canvas.paste(Image.fromarray(pixels), (x, y + caption))
        draw.text((x + 2, y + 1), title, fill=color)
    return torch.from_numpy(np.array(canvas)).permute(2, 0, 1)  # a writable copy


def confusion_figure(matrix: Tensor, class_names: Sequence[str]) -> Figure:
    """A confusion matrix (rows: true class, columns: predicted) with counts in the cells."""
    counts = matrix.detach().cpu().long()
    size = max(4.0, 0.45 * len(class_names) + 2)
    figure = Figure(figsize=(size, size))
    axis = figure.subplots()
    axis.imshow(counts.numpy(), cmap="Blues")
    ticks = range(len(class_names))
    axis.set_xticks(ticks, class_names, rotation=90, fontsize=7)
    axis.set_yticks(ticks, class_names, fontsize=7)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    threshold = counts.max().item() / 2
    for (row, col), value in _cells(counts):
        color = "white" if value > threshold else "black"
        axis.text(col, row, str(value), ha="center", va="center", fontsize=7, color=color)
    figure.tight_layout()
    return figure


def _cells(counts: Tensor):
    for row in range(counts.shape[0]):
        for col in range(counts.shape[1]):
            yield (row, col), int(counts[row, col])
