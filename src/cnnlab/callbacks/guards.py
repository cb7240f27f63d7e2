"""Stop a run the moment its loss stops being a number, saying what to try."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

from cnnlab.errors import ConfigError, TrainingError
from cnnlab.tasks.base import LOSS, metric_name


class NonFiniteLossGuard(pl.Callback):
    """Raise a TrainingError on a NaN/inf training loss instead of training on garbage.

    Reading a loss on the host waits for the GPU to finish the step, so the losses are kept on
    their device and checked together every `check_every_n_steps` steps and at the last batch
    of each epoch: before the epoch's validation and checkpoints, so no checkpoint holds the
    weights of a diverged run. The error names the first step whose loss was not finite.
    """

    def __init__(self, check_every_n_steps: int = 10) -> None:
        if check_every_n_steps < 1:
            raise ConfigError(
                f"`check_every_n_steps`={check_every_n_steps} must be at least 1 (1: every step)"
            )
        self.check_every_n_steps = check_every_n_steps
        self.pending: list[tuple[Tensor, int, int]] = []  # (loss, epoch, step) not yet checked

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs[LOSS] if isinstance(outputs, dict) else outputs
        if loss is not None:
            self.pending.append((loss.detach(), trainer.current_epoch, trainer.global_step))
        last_batch = batch_idx + 1 >= trainer.num_training_batches
        if len(self.pending) >= self.check_every_n_steps or last_batch:
            self.check()

    def check(self) -> None:
        """One host read for all pending losses; raise on the first that is not finite."""
        if not self.pending:
            return
        losses = torch.stack([loss.float().reshape(-1).mean() for loss, _, _ in self.pending])
        finite = torch.isfinite(losses)
        pending, self.pending = self.pending, []
        if bool(finite.all()):
            return
        first = int((~finite).nonzero()[0])
        _, epoch, step = pending[first]
        raise TrainingError(
            f"{metric_name('train', LOSS)} became {losses[first].item()} at epoch {epoch}, "
            f"step {step}: lower the learning rate, clip the gradients, or check the data for "
            "NaNs (checkpoints saved before this stay in the run directory)"
        )
