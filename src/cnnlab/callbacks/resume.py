"""What makes an interrupted run resumable, and resumable exactly.

Lightning checkpoints restore weights, optimizer, scheduler and loop progress, but not the
random number generators. Those decide the next epoch's shuffling (a DataLoader with
shuffle=True draws its order from the global torch RNG), dropout and augmentation, so without
them a resumed run diverges from an uninterrupted one after the first resumed batch.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn
from pytorch_lightning.utilities.exceptions import SIGTERMException
from pytorch_lightning.utilities.rank_zero import rank_zero_info


class RandomStateInCheckpoint(pl.Callback):
    """Save the torch/numpy/python RNG states in every checkpoint; restore them on resume.

    A checkpoint is written after validation at an epoch's end, and nothing draws random numbers
    between that point and the next epoch's shuffle, so the restored state continues the stream
    exactly. Only single-process runs are restored: DDP ranks each keep their own streams
    (cnnlab.callbacks.seeding.RankSeed), which rank 0's checkpoint does not hold.
    """

    def __init__(self) -> None:
        self._single_process = True

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._single_process = trainer.world_size == 1

    def state_dict(self) -> dict[str, Any]:
        # only tensors and plain Python values, so weights_only checkpoint loading accepts it
        name, keys, position, has_gauss, gauss = np.random.get_state()
        state: dict[str, Any] = {
            "torch": torch.get_rng_state(),
            "numpy": [name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, gauss],
            "python": random.getstate(),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not self._single_process:
            return
        torch.set_rng_state(state_dict["torch"])
        name, keys, position, has_gauss, gauss = state_dict["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
        version, internal, gauss_next = state_dict["python"]
        random.setstate((version, tuple(internal), gauss_next))
        if "cuda" in state_dict and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])


class CheckpointOnInterrupt(pl.Callback):
    """On SIGTERM or Ctrl-C during fitting, save `<dirpath>/<filename>.ckpt` before exiting.

    Lightning 2.x turns SIGTERM into a SIGTERMException after the current batch and Ctrl-C into
    a graceful shutdown, calling `on_exception` for both. ModelCheckpoint's own
    `save_on_exception` would also overwrite best.ckpt, and crashes (e.g. a non-finite loss) are
    not saved: their state is not worth resuming.
    """

    def __init__(self, dirpath: str, filename: str = "last") -> None:
        self.dirpath = dirpath
        self.filename = filename

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        interrupted = isinstance(exception, SIGTERMException | KeyboardInterrupt)
        if not interrupted or trainer.state.fn != TrainerFn.FITTING or trainer.sanity_checking:
            return
        path = Path(self.dirpath) / f"{self.filename}.ckpt"
        trainer.save_checkpoint(path)
        rank_zero_info(f"Interrupted by {type(exception).__name__}: saved {path}")
