"""Which of cnnlab's tasks a checkpoint trained: what predict and export do depends on it."""

from __future__ import annotations

from typing import Any, Literal

from hydra.utils import get_object

from cnnlab.errors import CheckpointError

Kind = Literal["classification", "segmentation", "autoencoder"]


def task_kind(run_config: dict[str, Any], source: str) -> Kind:
    """The kind of the task the stored (already trust-checked) config trains; one sentence for
    a task that is none of cnnlab's three, before any model or data is built."""
    from cnnlab.tasks.autoencoder import AutoencoderTask
    from cnnlab.tasks.classification import ClassificationTask
    from cnnlab.tasks.segmentation import SegmentationTask

    target = str((run_config.get("task") or {}).get("_target_"))
    try:
        task_class = get_object(target)
    except Exception:  # whatever an unknown import path raises, the answer is the same
        task_class = None
    kinds: dict[type, Kind] = {
        ClassificationTask: "classification",
        SegmentationTask: "segmentation",
        AutoencoderTask: "autoencoder",
    }
    for base, kind in kinds.items():
        if isinstance(task_class, type) and issubclass(task_class, base):
            return kind
    raise CheckpointError(
        f"{source} is a checkpoint of task {target}, which cnnlab cannot predict with or export: "
        "use a run trained with task=classification, finetune, segmentation or autoencoder"
    )
