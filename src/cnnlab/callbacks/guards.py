"""Stop a run the moment its loss stops being a number, saying what to try."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch

from cnnlab.errors import TrainingError
from cnnlab.tasks.base import LOSS, metric_name


class NonFiniteLossGuard(pl.Callback):
    """Raise a TrainingError on a NaN/inf training loss instead of training on garbage."""

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs[LOSS] if isinstance(outputs, dict) else outputs
        if loss is not None and not torch.isfinite(loss).all():
            raise TrainingError(
                f"{metric_name('train', LOSS)} became {loss.item()} at epoch "
                f"{trainer.current_epoch}, step {trainer.global_step}: lower the learning rate, "
                "clip the gradients, or check the data for NaNs (checkpoints saved before this "
                "stay in the run directory)"
            )
