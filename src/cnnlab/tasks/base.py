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
from cnnlab.tasks.metrics import WeightedMean

OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[..., Any]
STAGES = ("train", "val", "test")
# What `step` returns: Lightning minimises LOSS; callbacks that draw a task's output read the
# rest (each task names its own, e.g. PREDS here, RECONSTRUCTION in tasks.autoencoder).
LOSS = "loss"
PREDS = "preds"  # classification and segmentation: the predicted class per image / pixel
# batches gathered before one update of a stage's metrics: each torchmetrics update costs about
# 0.2 ms whatever the batch size, a few percent of a small model's step
METRIC_BATCHES = 10


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
        # `<stage>_<name>`: epoch means weighted by batch size (`add_to_mean`), and the
        # (value, batch size) pairs waiting for their next update
        self.epoch_means = nn.ModuleDict()
        self.pending_means: dict[str, list[tuple[Tensor, Tensor]]] = {}
        self.add_epoch_means(LOSS)
        # per stage, the (preds, target) batches waiting for the next metric update
        self.pending_batches: dict[str, list[tuple[Tensor, Tensor]]] = {s: [] for s in STAGES}

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)

    def stage_metrics(
        self, metrics: dict[str, Metric], evaluation_only: tuple[str, ...] = ()
    ) -> nn.ModuleDict:
        """One collection per stage, prefixed `train/`, `val/`, `test/` (the metric-name contract).

        Without compute groups: torchmetrics merges metrics whose states are equal after the
        first update, and when that batch is classified perfectly, unlike metrics (macro F1 and
        top-5 accuracy) look equal and one then reports from the other's state (F1 above 1).
        Keyed `<stage>_metrics`: a ModuleDict key `train` would clash with `Module.train`.
        Training metrics skip torchmetrics' argument checks (`validate_args`): they read the
        targets' values, which waits for the GPU every step, and the loss has already refused
        the same targets; validation and test keep them. `evaluation_only` names metrics too
        costly to compute on every training batch (SSIM: a fifth of an autoencoder's epoch).
        """
        collections = {}
        for stage in STAGES:
            chosen = {
                name: metric
                for name, metric in metrics.items()
                if stage != "train" or name not in evaluation_only
            }
            collection = MetricCollection(
                copy.deepcopy(chosen), prefix=f"{stage}/", compute_groups=False
            )
            if stage == "train":
                for metric in collection.values():
                    if hasattr(metric, "validate_args"):
                        metric.validate_args = False
            collections[f"{stage}_metrics"] = collection
        return nn.ModuleDict(collections)

    def add_epoch_means(self, *names: str) -> None:
        """Per-stage means of these values that `add_to_mean` feeds and `log_epoch` logs as
        `<stage>/<name>` (a mean no batch fed in a stage is not logged there)."""
        for stage in STAGES:
            for name in names:
                self.epoch_means[f"{stage}_{name}"] = WeightedMean()
                self.pending_means[f"{stage}_{name}"] = []

    def add_to_mean(self, stage: str, name: str, value: Tensor, batch_size: int) -> None:
        """Add a batch's value (a scalar tensor) to its epoch mean, weighted by batch size:
        no `self.log` call, and nothing read on the host, per step."""
        value = value.detach()
        pending = self.pending_means[f"{stage}_{name}"]
        pending.append((value, torch.full_like(value, batch_size)))
        if len(pending) >= METRIC_BATCHES:
            self.flush_metrics(stage)

    def log_loss(self, stage: str, loss: Tensor, batch_size: int) -> None:
        """Add a batch's loss to its stage's mean; log the training loss at logging steps.

        Lightning's `self.log` costs about 0.5-1 ms a call, as much as a small model's step, and
        writes step values only every `trainer.log_every_n_steps` steps: `train/loss_step` is
        logged at those steps alone, and the epoch means (`train/loss_epoch`, `val/loss`,
        `test/loss`), weighted by batch size, once per epoch in `log_epoch`. Not in the progress
        bar: Lightning reads a progress-bar value on the host after every batch (a GPU sync per
        step, 1.1 of the U-Net's 1.6 syncs per step on an H100), not only when it refreshes.
        """
        self.add_to_mean(stage, LOSS, loss, batch_size)
        if stage == "train" and self.logs_this_step():
            name = metric_name(stage, LOSS) + "_step"
            self.log(name, loss.detach(), on_step=True, on_epoch=False)

    def logs_this_step(self) -> bool:
        """Whether the loggers record step values at this training step (Lightning's rule,
        from the public step counter: without gradient accumulation the two agree)."""
        trainer = self.trainer
        every = trainer.log_every_n_steps
        return bool(trainer.fast_dev_run) or (every > 0 and (trainer.global_step + 1) % every == 0)

    def update_metrics(self, stage: str, preds: Tensor, target: Tensor) -> None:
        """Add one batch to the stage's metrics, in one update every METRIC_BATCHES batches
        (their states are sums over samples, so the values are those of per-batch updates)."""
        self.pending_batches[stage].append((preds, target))
        if len(self.pending_batches[stage]) >= METRIC_BATCHES:
            self.flush_metrics(stage)

    def flush_metrics(self, stage: str) -> None:
        """Update a stage's epoch means and metrics with the batches waiting for them."""
        for key, pending in self.pending_means.items():
            if pending and key.startswith(f"{stage}_"):
                values, weights = (torch.stack(parts) for parts in zip(*pending, strict=True))
                self.epoch_means[key].update(values, weights)
                pending.clear()
        if batches := self.pending_batches[stage]:
            preds, target = (torch.cat(parts) for parts in zip(*batches, strict=True))
            self.metrics[f"{stage}_metrics"].update(preds, target)
            batches.clear()

    def log_epoch(self, stage: str) -> None:
        """Log a stage's epoch means and metrics: torchmetrics syncs them across processes and
        resets them; `train/loss` keeps Lightning's `_epoch` name beside `_step`."""
        self.flush_metrics(stage)
        for key, mean in self.epoch_means.items():
            name = key.removeprefix(f"{stage}_")
            if name == key or not mean.update_count:
                continue
            logged = metric_name(stage, name) + ("_epoch" if key == f"train_{LOSS}" else "")
            self.log(logged, mean, prog_bar=name == LOSS and stage != "test")
        self.log_dict(self.metrics[f"{stage}_metrics"], prog_bar=stage == "val")

    def on_train_epoch_end(self) -> None:
        self.log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        self.log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self.log_epoch("test")

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
