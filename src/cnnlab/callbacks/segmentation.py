"""TensorBoard images that show a segmentation model at work: mask overlays, per-class IoU."""

from __future__ import annotations

import math
from typing import Any

import matplotlib
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter
from torchvision.utils import draw_segmentation_masks, make_grid

from cnnlab.callbacks.tensorboard import tensorboard_writer
from cnnlab.callbacks.validation_sample import ValidationSampleImage
from cnnlab.tasks.base import PREDS
from cnnlab.tasks.segmentation import CLASS_IOU_PREFIX


def class_colors(num_classes: int) -> list[tuple[int, int, int]]:
    """One distinct RGB colour per foreground class (class 0, background, is left undrawn)."""
    palette = matplotlib.colormaps["tab20"].colors
    return [tuple(round(255 * c) for c in palette[i % len(palette)]) for i in range(num_classes)]


def overlay(image: Tensor, mask: Tensor, num_classes: int, alpha: float = 0.6) -> Tensor:
    """A (3, H, W) image in [0, 1] with every class >= 1 of an (H, W) mask painted in its colour.

    Pixels outside 0..num_classes-1 (e.g. an ignore_index) stay unpainted.
    """
    classes = torch.arange(1, num_classes, device=mask.device).view(-1, 1, 1)
    layers = mask.unsqueeze(0) == classes
    if not layers.any():
        return image
    return draw_segmentation_masks(image, layers, alpha, class_colors(num_classes)[1:])


def mask_grid(
    images: Tensor, masks: Tensor, preds: Tensor, num_classes: int, min_side: int = 128
) -> Tensor:
    """One row per sample: image | ground truth overlay | prediction overlay, as one (3, H, W) grid.

    `images` are (N, C, H, W) in [0, 1]; small images are enlarged (nearest) to `min_side` pixels.
    """
    scale = max(1, math.ceil(min_side / images.shape[-2]))
    images = images.detach().float().cpu().clamp(0, 1)
    images = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images[:, :3]
    images = F.interpolate(images, scale_factor=scale, mode="nearest")
    masks, preds = (
        F.interpolate(m.detach().cpu().unsqueeze(1).float(), scale_factor=scale).squeeze(1).long()
        for m in (masks, preds)
    )
    tiles = []
    for image, mask, pred in zip(images, masks, preds, strict=True):
        tiles += [image, overlay(image, mask, num_classes), overlay(image, pred, num_classes)]
    return make_grid(tiles, nrow=3, padding=2, pad_value=1.0)


class SegmentationGrid(ValidationSampleImage):
    """Each validation epoch, `num_images` validation images as image | truth | prediction rows.

    Logged as the TensorBoard image `val/masks`, so the slider shows the masks sharpen epoch by
    epoch. Reads the task's `preds` from the validation step's output, so costs no extra forward.
    """

    def __init__(
        self, num_images: int = 6, min_side: int = 128, every_n_epochs: int | None = None
    ) -> None:
        super().__init__(num_images, every_n_epochs)
        self.min_side = min_side

    def keep(self, batch: Any, outputs: Any) -> tuple[Tensor, ...]:
        images, masks = batch
        return images, masks, outputs[PREDS]

    def draw(self, trainer: pl.Trainer, writer: SummaryWriter, sample: tuple[Tensor, ...]) -> None:
        images, masks, preds = sample
        pictures = trainer.datamodule.denormalize(images)
        grid = mask_grid(pictures, masks, preds, trainer.datamodule.num_classes, self.min_side)
        writer.add_image("val/masks", grid, trainer.global_step)


class PerClassIoUChart(pl.Callback):
    """At test end, the task's `test/iou_<class>` values as one bar chart (`test/per_class_iou`)."""

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        values = {
            name.removeprefix(CLASS_IOU_PREFIX): float(value)
            for name, value in trainer.callback_metrics.items()
            if name.startswith(CLASS_IOU_PREFIX)
        }
        if writer is None or not values:
            return
        figure = Figure(figsize=(max(4.0, 0.5 * len(values) + 1.5), 3.0))
        axis = figure.subplots()
        axis.bar(list(values), list(values.values()), color="tab:blue")
        axis.set_ylim(0, 1)
        axis.set_ylabel("IoU")
        axis.set_title("test IoU per class")
        axis.tick_params(axis="x", labelrotation=45)
        figure.tight_layout()
        writer.add_figure("test/per_class_iou", figure, trainer.global_step)
