"""What every task shares: optimizer/scheduler from config, per-stage metric logging."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection

from cnnlab.errors import CnnlabError, ConfigError

OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[..., Any]
STAGES = ("train", "val", "test")
# What `step` returns: Lightning minimises LOSS; callbacks that draw a task's output read the
# rest (each task names its own, e.g. PREDS here, RECONSTRUCTION in tasks.autoencoder).
LOSS = "loss"
PREDS = "preds"  # classification and segmentation: the predicted class per image / pixel


def metric_name(stage: str, metric: str) -> str:
    """`stage/metric` (e.g. `test/acc`): the name of every logged value and metrics.json key."""
    return f"{stage}/{metric}"


class BaseTask(pl.LightningModule):
    """A LightningModule around an already-built `model`; subclasses define the loss and metrics.

    `optimizer` and `scheduler` arrive as partials from Hydra (`_partial_: true`), so the config
    chooses them and the task only binds parameters. `monitor`/`monitor_mode` name the metric that
    picks the best checkpoint and drives plateau schedulers.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: Literal["epoch", "step"] = "epoch",
        monitor: str = metric_name("val", LOSS),
        monitor_mode: Literal["min", "max"] = "min",
    ) -> None:
        super().__init__()
        self.model = model
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval
        self.monitor = monitor
        self.monitor_mode = monitor_mode

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)

    def stage_metrics(self, metrics: dict[str, Metric]) -> nn.ModuleDict:
        """One collection per stage, prefixed `train/`, `val/`, `test/` (the metric-name contract).

        Without compute groups: torchmetrics merges metrics whose states are equal after the
        first update, and when that batch is classified perfectly, unlike metrics (macro F1 and
        top-5 accuracy) look equal and one then reports from the other's state (F1 above 1).
        Keyed `<stage>_metrics`: a ModuleDict key `train` would clash with `Module.train`.
        """
        return nn.ModuleDict(
            {
                f"{stage}_metrics": MetricCollection(
                    copy.deepcopy(metrics), prefix=f"{stage}/", compute_groups=False
                )
                for stage in STAGES
            }
        )

    def log_loss(self, stage: str, loss: Tensor, batch_size: int) -> None:
        self.log(
            metric_name(stage, LOSS),
            loss,
            on_step=stage == "train",
            on_epoch=True,
            prog_bar=stage != "test",
            batch_size=batch_size,
            sync_dist=stage != "train",
        )

    def update_metrics(self, stage: str, preds: Tensor, target: Tensor) -> None:
        """Add one batch to the stage's metrics; validation and test log them per epoch here.

        Training metrics are logged once, in `on_train_epoch_end`: each `self.log` call costs
        Lightning about 1 ms, which was 15% of a small training step.
        """
        metrics = self.metrics[f"{stage}_metrics"]
        metrics.update(preds, target)
        if stage != "train":
            self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=stage == "val")

    def on_train_epoch_end(self) -> None:
        self.log_dict(self.metrics["train_metrics"])

    def step(self, batch: Any, stage: str) -> dict[str, Tensor]:
        """Loss, metrics and logging of one batch in `stage` (train/val/test): the task's core."""
        raise NotImplementedError

    def training_step(self, batch: Any, batch_idx: int) -> dict[str, Tensor]:
        return self.step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> dict[str, Tensor]:
        return self.step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> dict[str, Tensor]:
        return self.step(batch, "test")

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.trainable_parameters())
        if self.scheduler_factory is None:
            return optimizer
        if self.scheduler_interval == "step":
            scheduler = self.scheduler_factory(
                optimizer, total_steps=int(self.trainer.estimated_stepping_batches)
            )
        else:
            scheduler = self.scheduler_factory(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {
                "scheduler": scheduler,
                "interval": self.scheduler_interval,
                "monitor": self.monitor,
            },
        }

    def check_batch(self, batch: Any) -> None:
        """Run one forward pass on a sample batch and raise ConfigError if shapes do not fit."""
        raise NotImplementedError

    def sample_forward(self, images: Tensor, fix: str) -> Any:
        """The model's output for two sample images, in eval mode (BN statistics untouched).

        A model that cannot take the images at all fails here with `fix` as the advice. The
        images go to the model's device first: a data module that already served a GPU trainer
        hands out batches on the GPU, while a freshly built model is still on the CPU.
        """
        self.model.eval()
        weights = next(self.model.parameters(), None)
        try:
            with torch.no_grad():
                return self.model(images[:2] if weights is None else images[:2].to(weights.device))
        except CnnlabError as error:  # the model's own check names the model's arguments
            raise error.inside("model") from None
        except RuntimeError as error:
            raise ConfigError(
                f"the model cannot take this data's images {tuple(images.shape[1:])}: "
                f"{str(error).splitlines()[0]}. {fix}"
            ) from None
        finally:
            self.model.train()
