"""Transfer learning: a classifier that starts from the weights of an earlier cnnlab run.

What is frozen, and when it thaws, is the `Finetuning` callback's job (callbacks.finetuning);
pretrained ImageNet weights come with the model (model.weights / model.weights_file). This task
only adds the third source of known weights: a checkpoint of another cnnlab run.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from cnnlab.models.transfer import init_from
from cnnlab.tasks.classification import ClassificationTask


class FinetuneTask(ClassificationTask):
    """ClassificationTask whose model is initialised from `init_from` when fitting starts.

    `init_from` is a .ckpt, a run directory or a folder of runs (the newest is used).
    `init_key_map` renames source tensors (`{"encoder.features.": "features."}` lets an
    autoencoder's encoder seed a classifier). The head is left random unless `init_head`.
    Loading happens in `setup("fit")`, not here, so testing a finished run's checkpoint
    (cnnlab-eval) does not need the source run any more.
    """

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        init_from: str | None = None,
        init_key_map: dict[str, str] | None = None,
        init_head: bool = False,
        **classification: Any,
    ) -> None:
        super().__init__(model, num_classes, **classification)
        self.init_from = init_from
        self.init_key_map = dict(init_key_map or {})
        self.init_head = init_head
        self.initialised = False

    def setup(self, stage: str) -> None:
        if stage == "fit" and self.init_from and not self.initialised:
            init_from(self.model, self.init_from, self.init_key_map, self.init_head)
            self.initialised = True
