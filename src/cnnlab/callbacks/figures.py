"""Matplotlib figures for TensorBoard: labelled image grids and confusion matrices."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on training machines
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from torch import Tensor


def image_grid(
    images: Tensor, titles: Sequence[str], colors: Sequence[str] | None = None
) -> Figure:
    """A square-ish grid of (N, C, H, W) images in [0, 1], each with a coloured title."""
    n = len(images)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    figure, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.8 * rows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= n:
            continue
        image = images[index].detach().float().cpu().clamp(0, 1)
        if image.shape[0] == 1:
            axis.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
        else:
            axis.imshow(image.permute(1, 2, 0)[..., :3].numpy())
        color = colors[index] if colors is not None else "black"
        axis.set_title(titles[index], fontsize=8, color=color)
    figure.tight_layout()
    return figure


def confusion_figure(matrix: Tensor, class_names: Sequence[str]) -> Figure:
    """A confusion matrix (rows: true class, columns: predicted) with counts in the cells."""
    counts = matrix.detach().cpu().long()
    size = max(4.0, 0.45 * len(class_names) + 2)
    figure, axis = plt.subplots(figsize=(size, size))
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
