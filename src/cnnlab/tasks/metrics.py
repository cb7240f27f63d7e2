"""Macro-averaged torchmetrics whose averages stay inside [0, 1].

torchmetrics averages over classes by dividing each class's score by the number of classes and
then summing, in float32: ten perfect classes sum to 1.0000001, so a perfect classifier reported
`test/f1` above 1. These two reduce in float64 (error about 1e-16) and return float32 as before;
the states, updates and DDP syncing are torchmetrics' own.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor
from torchmetrics.classification import MulticlassF1Score, MulticlassJaccardIndex


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
