"""The shared shape of the 'picture of the first validation batch' callbacks."""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.trainer.states import TrainerFn
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter

from cnnlab.callbacks.tensorboard import tensorboard_writer
from cnnlab.errors import ConfigError

PICTURES_PER_FIT = 10  # what `every_n_epochs=None` aims at: about this many pictures per fit


def picture_due(trainer: pl.Trainer, every_n_epochs: int | None) -> bool:
    """Whether a validation picture is drawn now: never in the sanity check; during fit every
    `every_n_epochs` epochs and at the last one (None: about PICTURES_PER_FIT per fit, so
    long runs do not pay for a picture every epoch); always in `trainer.validate`."""
    if trainer.sanity_checking:
        return False
    if trainer.state.fn != TrainerFn.FITTING:
        return True
    if every_n_epochs is None:
        every_n_epochs = max(1, math.ceil((trainer.max_epochs or 1) / PICTURES_PER_FIT))
    epoch = trainer.current_epoch + 1
    return epoch % every_n_epochs == 0 or epoch == trainer.max_epochs


class ValidationSampleImage(pl.Callback):
    """Keep the first `num_images` of the first validation batch when a picture is due; draw it.

    Subclasses say what to keep (`keep`, from the batch and the task's step outputs, so no extra
    forward pass) and how to draw it (`draw`); `picture_due` says when.
    """

    def __init__(self, num_images: int, every_n_epochs: int | None = None) -> None:
        if every_n_epochs is not None and every_n_epochs < 1:
            raise ConfigError(
                f"`every_n_epochs`={every_n_epochs} must be at least 1, or null for about "
                f"{PICTURES_PER_FIT} pictures per fit"
            )
        self.num_images = num_images
        self.every_n_epochs = every_n_epochs
        self.sample: tuple[Tensor, ...] | None = None

    @abstractmethod
    def keep(self, batch: Any, outputs: Any) -> tuple[Tensor, ...]:
        """The tensors to draw, each with the batch as its first dimension."""

    @abstractmethod
    def draw(self, trainer: pl.Trainer, writer: SummaryWriter, sample: tuple[Tensor, ...]) -> None:
        """Log the kept tensors to TensorBoard at `trainer.global_step`."""

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if batch_idx == 0 and picture_due(trainer, self.every_n_epochs):
            kept = self.keep(batch, outputs)
            self.sample = tuple(t[: self.num_images].detach().cpu() for t in kept)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is not None and self.sample is not None:
            self.draw(trainer, writer, self.sample)
        self.sample = None
