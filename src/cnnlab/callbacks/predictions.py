"""TensorBoard images that show what a classifier does: sample predictions, confusion matrix."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter
from torchmetrics.classification import MulticlassConfusionMatrix

from cnnlab.callbacks.figures import confusion_figure, labelled_grid
from cnnlab.callbacks.tensorboard import tensorboard_writer
from cnnlab.callbacks.validation_sample import ValidationSampleImage
from cnnlab.tasks.base import PREDS


class PredictionGrid(ValidationSampleImage):
    """The first `num_images` validation images titled with the prediction (`val/predictions`).

    A wrong prediction is red and names the true class: '1 (true 7)'.
    """

    def __init__(self, num_images: int = 16, every_n_epochs: int | None = None) -> None:
        super().__init__(num_images, every_n_epochs)

    def keep(self, batch: Any, outputs: Any) -> tuple[Tensor, ...]:
        images, labels = batch
        return images, labels, outputs[PREDS]

    def draw(self, trainer: pl.Trainer, writer: SummaryWriter, sample: tuple[Tensor, ...]) -> None:
        images, labels, preds = sample
        names = trainer.datamodule.class_names
        pairs = list(zip(preds.tolist(), labels.tolist()))
        titles = [names[p] if p == t else f"{names[p]} (true {names[t]})" for p, t in pairs]
        colors = ["green" if p == t else "red" for p, t in pairs]
        pictures = trainer.datamodule.denormalize(images)
        grid = labelled_grid(pictures, titles, colors)
        writer.add_image("val/predictions", grid, trainer.global_step)


class ConfusionMatrixImage(pl.Callback):
    """At test end, the confusion matrix over the whole test split as an image."""

    def on_test_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.matrix = MulticlassConfusionMatrix(trainer.datamodule.num_classes).to(pl_module.device)

    def on_test_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self.matrix.update(outputs[PREDS], batch[1])

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        counts = self.matrix.compute()  # syncs across ranks, so every rank calls it
        writer = tensorboard_writer(trainer)
        if writer is not None:
            figure = confusion_figure(counts, trainer.datamodule.class_names)
            writer.add_figure("test/confusion_matrix", figure, trainer.global_step)
