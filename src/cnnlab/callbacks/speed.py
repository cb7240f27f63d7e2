"""Opt-in speed-ups of the model itself: channels-last memory format and torch.compile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn


class ModelSpeedups(pl.Callback):
    """Convert the task's model to channels-last and/or compile its training step, once.

    channels_last lets cuDNN (and oneDNN on recent CPUs) pick faster convolution kernels, mostly
    with mixed precision on tensor-core GPUs. `compile` compiles the forward pass of training
    only, where the time goes, with one batch size: the data module drops each epoch's last
    partial training batch (`drop_last_train`). Validation, test and prediction run eagerly, so
    their batch sizes and no-grad mode never trigger recompilation: one compilation per run
    (several before, for train and eval mode, grad and no-grad, full and partial batches, which
    took minutes for a U-Net). Parameter names and checkpoints stay exactly as without it.
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
            compile_training_forward(model)
            if hasattr(trainer.datamodule, "drop_last_train"):
                trainer.datamodule.drop_last_train = True
        self.applied = True


def compile_training_forward(model: nn.Module) -> None:
    """Route `model`'s forward through torch.compile while it trains with gradients."""
    eager: Callable[..., Any] = model.forward
    compiled = torch.compile(eager)

    def forward(*args: Any, **kwargs: Any) -> Any:
        training = model.training and torch.is_grad_enabled()
        return (compiled if training else eager)(*args, **kwargs)

    model.forward = forward  # type: ignore[method-assign]
