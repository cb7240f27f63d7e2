"""Best and last checkpoints: last.ckpt every epoch, without writing one state twice."""

from __future__ import annotations

from weakref import proxy

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint

from cnnlab.runs.checkpoint_io import CrashSafeCheckpointIO


class BestAndLastCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint with `last.ckpt` written every epoch, linked when it can be.

    - Lightning 2.6 writes `last.ckpt` only in epochs that also write a best checkpoint, so a
      run killed on a plateau would resume from its last improvement and redo the epochs since:
      here every epoch's end is written (as Lightning did before 2.6).
    - An epoch that improves the monitored metric wrote the same state to the best checkpoint
      a moment before: for ResNet-18 with AdamW two 135 MB files, serialised, hashed and
      fsynced. Then `last.ckpt` becomes a second name of that file (a hard link made
      crash-safely, cnnlab.runs.checkpoint_io), and the next best is written to a new file and
      renamed over `best.ckpt`, so `last.ckpt` keeps its bytes. File systems without hard
      links and asynchronous checkpoint writes (`async_checkpoints=true`) write it again.
    """

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._save_last_of_epoch(trainer)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_last_of_epoch(trainer)

    def _save_last_of_epoch(self, trainer: pl.Trainer) -> None:
        """`last.ckpt`, unless Lightning has just saved it (or nothing is to be saved now)."""
        if self.save_last and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def _save_checkpoint(self, trainer: pl.Trainer, filepath: str) -> None:
        io = trainer.strategy.checkpoint_io
        same_state = (
            filepath == self.last_model_path
            and self._last_global_step_saved == trainer.global_step
            and self._last_checkpoint_saved not in ("", filepath)
            and isinstance(io, CrashSafeCheckpointIO)
        )
        linked = False
        if same_state and trainer.is_global_zero:
            linked = io.link_checkpoint(self._last_checkpoint_saved, filepath)
        if same_state:
            linked = trainer.strategy.broadcast(linked)
            trainer.strategy.barrier()
        if not linked:
            super()._save_checkpoint(trainer, filepath)
            return
        self._last_checkpoint_saved = filepath
        for logger in trainer.loggers if trainer.is_global_zero else []:
            logger.after_save_checkpoint(proxy(self))
