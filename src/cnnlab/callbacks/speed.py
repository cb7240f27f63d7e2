"""Opt-in speed-ups of the model itself: channels-last memory format and torch.compile."""

from __future__ import annotations

import pytorch_lightning as pl
import torch


class ModelSpeedups(pl.Callback):
    """Convert the task's model to channels-last and/or compile it, once, before training.

    channels_last lets cuDNN (and oneDNN on recent CPUs) pick faster convolution kernels, mostly
    with mixed precision on tensor-core GPUs. `compile` uses `nn.Module.compile`, which compiles
    in place: parameter names and checkpoints stay exactly as without it. The first steps are
    slower while torch.compile traces and builds kernels; it pays off on long GPU runs.
    """

    def __init__(self, channels_last: bool = False, compile: bool = False) -> None:
        self.channels_last = channels_last
        self.compile = compile
        self.applied = False

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.applied:
            return
        model = pl_module.model
        if self.channels_last:
            model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        if self.compile:
            model.compile()
        self.applied = True
