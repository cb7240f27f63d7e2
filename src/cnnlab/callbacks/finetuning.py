"""The freeze policy and unfreeze schedule of transfer learning, on Lightning's BaseFinetuning.

Lightning calls `freeze_before_training` in `setup`, before `configure_optimizers`, so the
task's optimizer (built from the parameters that require gradients) holds only what is
trainable at the start; `finetune_function` runs at every epoch start and adds thawed blocks to
the optimizer as a new parameter group with `backbone_lr_factor` times the head's learning rate.
Which layers are head and backbone blocks is decided in `cnnlab.models.parts`.
"""

from __future__ import annotations

from typing import Literal

import pytorch_lightning as pl
from pytorch_lightning.callbacks import BaseFinetuning
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.optim import Optimizer

from cnnlab.console import console
from cnnlab.errors import ConfigError
from cnnlab.models.parts import backbone_blocks
from cnnlab.tasks.base import metric_name

# parameters that train this epoch, logged each epoch: a transfer study reads the phases from it
TRAINABLE_PARAMS = metric_name("train", "trainable_params")

FreezePolicy = Literal["none", "backbone", "all_but_last_n"]
# optimizer-group keys that torch schedulers read per group (OneCycleLR, CyclicLR, ...)
SCHEDULED_LR_KEYS = ("initial_lr", "max_lr", "min_lr")


class Finetuning(BaseFinetuning):
    """Freeze (part of) the backbone of `pl_module.model`, then thaw it at `unfreeze_at_epoch`.

    freeze: `none` trains everything; `backbone` trains the head only; `all_but_last_n` also
        trains the last `trainable_blocks` backbone blocks.
    unfreeze_at_epoch: epoch at which frozen blocks thaw (None: never), the last
        `unfreeze_blocks` of them (None: all), at `backbone_lr_factor` x the head's rate; the
        factor holds at every step, also under a learning-rate schedule.
    train_bn: False keeps frozen batch-norm layers in eval mode, so their running statistics
        stay those of the source data; True trains them (and their statistics) from the start.
    """

    def __init__(
        self,
        freeze: FreezePolicy = "backbone",
        trainable_blocks: int = 1,
        unfreeze_at_epoch: int | None = None,
        unfreeze_blocks: int | None = None,
        backbone_lr_factor: float = 0.1,
        train_bn: bool = False,
    ) -> None:
        super().__init__()
        if trainable_blocks < 1 or (unfreeze_blocks is not None and unfreeze_blocks < 1):
            raise ConfigError(
                "`trainable_blocks` and `unfreeze_blocks` count backbone blocks and must be at "
                "least 1 (set `freeze` to backbone to train the head only)"
            )
        self.freeze_policy = freeze
        self.trainable_blocks = trainable_blocks
        self.unfreeze_at_epoch = unfreeze_at_epoch
        self.unfreeze_blocks = unfreeze_blocks
        self.backbone_lr_factor = backbone_lr_factor
        self.train_bn = train_bn
        self.frozen: list[tuple[str, nn.Module]] = []
        self.reported: int | None = None

    def freeze_before_training(self, pl_module: pl.LightningModule) -> None:
        blocks = backbone_blocks(pl_module.model)
        if self.freeze_policy == "backbone":
            self.frozen = blocks
        elif self.freeze_policy == "all_but_last_n":
            self.frozen = blocks[: max(len(blocks) - self.trainable_blocks, 0)]
        else:
            self.frozen = []
        self.freeze([module for _, module in self.frozen], train_bn=self.train_bn)

    def finetune_function(
        self, pl_module: pl.LightningModule, epoch: int, optimizer: Optimizer
    ) -> None:
        if self.unfreeze_at_epoch is None or epoch < self.unfreeze_at_epoch or not self.frozen:
            return
        count = len(self.frozen) if self.unfreeze_blocks is None else self.unfreeze_blocks
        thawed = self.frozen[-count:]
        self.frozen = self.frozen[:-count]
        modules = [module for _, module in thawed]
        self.make_trainable(modules)
        for module in modules:
            module.train()  # out of the eval mode that kept their batch-norm statistics
        # Identity, not BaseFinetuning.filter_on_optimizer's torch.equal: two distinct tensors
        # with equal values (fresh batch-norm weights) must not be mistaken for one another.
        # After a resume the restored groups already hold these parameters.
        present = {id(p) for group in optimizer.param_groups for p in group["params"]}
        params = [p for p in self.filter_params(modules, train_bn=True) if id(p) not in present]
        if params:
            self.add_scaled_group(pl_module.trainer, optimizer, params)

    def add_scaled_group(self, trainer: pl.Trainer, optimizer: Optimizer, params: list) -> None:
        """A parameter group at `backbone_lr_factor` x group 0, also for the schedulers."""
        head = optimizer.param_groups[0]
        # the head's settings, including what schedulers keep per group (OneCycleLR's momenta)
        group = {key: value for key, value in head.items() if key != "params"}
        for key in ("lr", *SCHEDULED_LR_KEYS):
            if key in group:
                group[key] = head[key] * self.backbone_lr_factor
        optimizer.add_param_group({**group, "params": params})
        for config in trainer.lr_scheduler_configs:
            scheduler = config.scheduler
            if getattr(scheduler, "optimizer", None) is not optimizer:
                continue
            for name in ("base_lrs", "max_lrs", "min_lrs"):
                values = getattr(scheduler, name, None)
                if isinstance(values, list) and len(values) == len(optimizer.param_groups) - 1:
                    values.append(values[0] * self.backbone_lr_factor)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_start(trainer, pl_module)
        if not self.train_bn:
            for _, block in self.frozen:
                for module in block.modules():
                    if isinstance(module, _BatchNorm):
                        module.eval()
        self.report_trainable(trainer, pl_module)

    def report_trainable(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """`train/trainable_params` to the loggers each epoch; a console line when it changes."""
        trainable = sum(p.numel() for p in pl_module.parameters() if p.requires_grad)
        for logger in trainer.loggers:
            logger.log_metrics({TRAINABLE_PARAMS: trainable}, step=trainer.global_step)
        if trainable != self.reported and trainer.is_global_zero:
            total = sum(p.numel() for p in pl_module.parameters())
            frozen = ", ".join(name for name, _ in self.frozen) or "nothing"
            console.info(
                f"finetuning, epoch {trainer.current_epoch}: training {trainable:,} of {total:,} "
                f"parameters; frozen: {frozen}"
            )
        self.reported = trainable
