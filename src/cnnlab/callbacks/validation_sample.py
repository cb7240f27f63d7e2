"""The shared shape of the 'picture of the first validation batch' callbacks."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.trainer.states import TrainerFn
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter

from cnnlab.callbacks.tensorboard import tensorboard_writer


class ValidationSampleImage(pl.Callback):
    """Keep the first `num_images` of the first validation batch when a picture is due; draw it.

    Subclasses say what to keep (`keep`, from the batch and the task's step outputs, so no extra
    forward pass) and how to draw it (`draw`). This class decides when: never in the sanity
    check; during fit every `every_n_epochs` epochs and at the last one (drawing can cost as much
    as a small validation epoch); always in `trainer.validate`.
    """

    def __init__(self, num_images: int, every_n_epochs: int = 1) -> None:
        self.num_images = num_images
        self.every_n_epochs = every_n_epochs
        self.sample: tuple[Tensor, ...] | None = None

    @abstractmethod
    def keep(self, batch: Any, outputs: Any) -> tuple[Tensor, ...]:
        """The tensors to draw, each with the batch as its first dimension."""

    @abstractmethod
    def draw(self, trainer: pl.Trainer, writer: SummaryWriter, sample: tuple[Tensor, ...]) -> None:
        """Log the kept tensors to TensorBoard at `trainer.global_step`."""

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
            kept = self.keep(batch, outputs)
            self.sample = tuple(t[: self.num_images].detach().cpu() for t in kept)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is not None and self.sample is not None:
            self.draw(trainer, writer, self.sample)
        self.sample = None
