"""TensorBoard images that show what a classifier does: sample predictions, confusion matrix."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.trainer.states import TrainerFn
from torch import Tensor
from torchmetrics.classification import MulticlassConfusionMatrix

from cnnlab.callbacks.figures import confusion_figure, image_grid
from cnnlab.callbacks.tensorboard import tensorboard_writer


class PredictionGrid(pl.Callback):
    """The first `num_images` validation images titled with the prediction.

    A wrong prediction is red and names the true class: '1 (true 7)'. Drawing the figure costs
    about as much as a validation epoch of a small model, so during fit it is drawn every
    `every_n_epochs` epochs and at the last one; `trainer.validate` always draws it.
    """

    def __init__(self, num_images: int = 16, every_n_epochs: int = 4) -> None:
        self.num_images = num_images
        self.every_n_epochs = every_n_epochs
        self.sample: tuple[Tensor, Tensor, Tensor] | None = None

    def _due(self, trainer: pl.Trainer) -> bool:
        if trainer.sanity_checking:
            return False
        if trainer.state.fn != TrainerFn.FITTING:
            return True
        epoch = trainer.current_epoch + 1
        return epoch % self.every_n_epochs == 0 or epoch == trainer.max_epochs

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if batch_idx == 0 and self._due(trainer):
            images, labels = batch
            n = self.num_images
            self.sample = (images[:n].cpu(), labels[:n].cpu(), outputs["preds"][:n].cpu())

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is None or self.sample is None:
            return
        images, labels, preds = self.sample
        names = trainer.datamodule.class_names
        pairs = list(zip(preds.tolist(), labels.tolist()))
        titles = [names[p] if p == t else f"{names[p]} (true {names[t]})" for p, t in pairs]
        colors = ["green" if p == t else "red" for p, t in pairs]
        pictures = trainer.datamodule.denormalize(images)
        writer.add_figure(
            "val/predictions", image_grid(pictures, titles, colors), trainer.global_step
        )
        self.sample = None


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
        self.matrix.update(outputs["preds"], batch[1])

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        counts = self.matrix.compute()  # syncs across ranks, so every rank calls it
        writer = tensorboard_writer(trainer)
        if writer is not None:
            figure = confusion_figure(counts, trainer.datamodule.class_names)
            writer.add_figure("test/confusion_matrix", figure, trainer.global_step)
