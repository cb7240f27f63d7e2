"""Image classification: cross-entropy on logits, accuracy / top-5 / macro F1 per stage."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn
from torchmetrics import Metric
from torchmetrics.classification import MulticlassAccuracy

from cnnlab.errors import ConfigError
from cnnlab.tasks.base import LOSS, PREDS, BaseTask
from cnnlab.tasks.metrics import MacroF1

ACCURACY = "acc"  # logged per stage as `<stage>/acc`; test/acc is what transfer studies compare


class ClassificationTask(BaseTask):
    """Train a classifier whose model maps (N, C, H, W) images to (N, num_classes) logits."""

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        label_smoothing: float = 0.0,
        **base: Any,
    ) -> None:
        super().__init__(model, **base)
        self.num_classes = num_classes
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        metrics: dict[str, Metric] = {
            ACCURACY: MulticlassAccuracy(num_classes, average="micro"),
            "f1": MacroF1(num_classes),
        }
        if num_classes > 5:
            metrics["acc_top5"] = MulticlassAccuracy(num_classes, top_k=5, average="micro")
        self.metrics = self.stage_metrics(metrics)

    def step(self, batch: tuple[Tensor, Tensor], stage: str) -> dict[str, Tensor]:
        images, labels = batch
        logits = self.model(images)
        loss = self.loss_fn(logits, labels)
        self.log_loss(stage, loss, len(labels))
        self.update_metrics(stage, logits, labels)
        return {LOSS: loss, PREDS: logits.detach().argmax(dim=1)}

    def check_batch(self, batch: tuple[Tensor, Tensor]) -> None:
        logits = self.sample_forward(
            batch[0],
            "Build the model for the data's image channels and size.",
        )
        if logits.dim() != 2 or logits.shape[1] != self.num_classes:
            raise ConfigError(
                f"the model outputs {tuple(logits.shape[1:])} per image but `num_classes` is "
                f"{self.num_classes}: set `model.num_classes`={self.num_classes} (a model with "
                f"{self.num_classes} outputs)"
            )
