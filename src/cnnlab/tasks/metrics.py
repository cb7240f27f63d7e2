"""Metrics torchmetrics gets slightly wrong or slowly, fixed in the smallest subclass.

torchmetrics averages over classes by dividing each class's score by the number of classes and
then summing, in float32: ten perfect classes sum to 1.0000001, so a perfect classifier reported
`test/f1` above 1. MacroF1 and MacroIoU reduce in float64 (error about 1e-16) and return float32
as before; the states, updates and DDP syncing are torchmetrics' own. WeightedMean is the
batch-size-weighted mean loss of a stage.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.classification import MulticlassF1Score, MulticlassJaccardIndex


class WeightedMean(Metric):
    """sum(value * weight) / sum(weight), summed across processes.

    Not torchmetrics' MeanMetric: its NaN check reads every update's values on the host (a GPU
    sync), and with the check off (`nan_strategy="disable"`, torchmetrics 1.9) it ignores the
    weights. NaN losses are the NaN guard's business (cnnlab.callbacks.guards).
    """

    full_state_update = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state(
            "total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state(
            "weight", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )

    def update(self, value: Tensor, weight: Tensor) -> None:
        self.total += (value.double() * weight.double()).sum()
        self.weight += weight.double().sum()

    def compute(self) -> Tensor:
        return (self.total / self.weight).float()


class MacroF1(MulticlassF1Score):
    """Macro F1 (Dice, for masks) over the classes in the targets or the predictions."""

    def __init__(self, num_classes: int, **kwargs: Any) -> None:
        super().__init__(num_classes=num_classes, average="macro", **kwargs)

    def compute(self) -> Tensor:
        counts = {name: getattr(self, name) for name in ("tp", "fp", "tn", "fn")}
        try:  # torchmetrics' own reduction, from float64 copies of the counts
            for name, value in counts.items():
                setattr(self, name, value.double())
            return super().compute().float()
        finally:
            for name, value in counts.items():
                setattr(self, name, value)


class MacroIoU(MulticlassJaccardIndex):
    """Mean intersection over union over the classes in the targets or the predictions."""

    def __init__(self, num_classes: int, **kwargs: Any) -> None:
        super().__init__(num_classes=num_classes, average="macro", **kwargs)

    def compute(self) -> Tensor:
        # torchmetrics casts the confusion matrix to float32 first, so reduce it here
        confmat = self.confmat.double()
        intersection = confmat.diagonal()
        union = confmat.sum(0) + confmat.sum(1) - intersection
        counted = union > 0
        if self.ignore_index is not None and 0 <= self.ignore_index < len(union):
            counted[self.ignore_index] = False
        return (intersection[counted] / union[counted]).mean().float()
