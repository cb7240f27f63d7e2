"""cnnlab-predict's work: a checkpoint's model and preprocessing applied to new image files.

The model, its data module (image size, channels, mean/std, class names, palette) and the task
are rebuilt from the checkpoint alone; the files go through Lightning's predict loop (batched,
with a progress bar, on any accelerator), and a prediction writer per task saves the results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader

from cnnlab.console import console
from cnnlab.data.base import ImageDataModule
from cnnlab.errors import ConfigError
from cnnlab.inference.images import (
    ImageFiles,
    Sample,
    channel_mode,
    find_images,
    keep_samples,
    output_names,
)
from cnnlab.inference.kinds import Kind, task_kind
from cnnlab.inference.palette import class_palette
from cnnlab.inference.sliding_window import check_overlap, model_stride, sliding_window_logits
from cnnlab.inference.writers import (
    AutoencoderFiles,
    ClassificationFiles,
    PredictionFiles,
    SegmentationFiles,
)
from cnnlab.pipeline import rebuild_from_checkpoint
from cnnlab.tasks.base import BaseTask

DEVICES = {"auto": "auto", "cpu": "cpu", "cuda": "gpu", "gpu": "gpu"}


@dataclass
class PredictOptions:
    """What `conf/predict.yaml` sets beside the checkpoint and the input."""

    top_k: int = 5
    copy_into_class_folders: bool = False
    overlap: float = 0.5
    batch_size: int = 32
    device: str = "auto"
    trust: bool = False


class Predictor(pl.LightningModule):
    """A trained task in Lightning's predict loop: a batch of files in, what writers save out.

    Classification and autoencoder inputs were resized to the training size, so they are
    stacked and predicted together; a segmentation input keeps its size and is predicted tile
    by tile (`sliding_window_logits`), its tiles `batch_size` at a time.
    """

    def __init__(
        self, task: BaseTask, kind: Kind, datamodule: ImageDataModule, options: PredictOptions
    ) -> None:
        super().__init__()
        self.task, self.kind, self.denormalize = task, kind, datamodule.denormalize
        self.tile, self.overlap = datamodule.image_size, options.overlap
        self.batch_size = options.batch_size
        self.stride = model_stride(task.model)

    def predict_step(self, batch: list[Sample], batch_idx: int = 0) -> dict[str, Any]:
        good = [sample for sample in batch if sample.image is not None]
        result: dict[str, Any] = {
            "indices": [sample.index for sample in good],
            "failed": [(sample.index, sample.error) for sample in batch if sample.image is None],
        }
        if good:
            result.update(getattr(self, f"predict_{self.kind}")([s.image for s in good]))
        return result

    def predict_classification(self, images: list[Tensor]) -> dict[str, Tensor]:
        logits = self.task(torch.stack(images).to(self.device))
        return {"probabilities": logits.float().softmax(dim=1).cpu()}

    def predict_autoencoder(self, images: list[Tensor]) -> dict[str, Tensor]:
        inputs = torch.stack(images).to(self.device)
        output = self.task.model(inputs)
        errors = F.mse_loss(output.reconstruction, inputs, reduction="none").flatten(1).mean(1)
        return {
            "reconstructions": output.reconstruction.cpu(),
            "latents": output.latent.cpu(),
            "errors": errors.cpu(),
        }

    def predict_segmentation(self, images: list[Tensor]) -> dict[str, Any]:
        masks = []
        for image in images:
            logits = sliding_window_logits(
                self.task,
                image.to(self.device),
                self.tile,
                self.overlap,
                self.stride,
                self.batch_size,
            )
            masks.append(self.task.predict_masks(logits[None])[0].to(torch.uint8).cpu())
        shown = [self.denormalize(image[None])[0] for image in images]
        return {"masks": masks, "images": shown}


def predict(ckpt_path: str, pattern: str, out: Path, options: PredictOptions) -> tuple[int, int]:
    """Predict every file `pattern` names; write the task's outputs and errors.csv into `out`.

    Returns (files predicted, files that could not be read).
    """
    if options.top_k < 1 or options.batch_size < 1:
        raise ConfigError(
            f"top_k={options.top_k} and batch_size={options.batch_size} must be at least 1"
        )
    if options.device not in DEVICES:
        raise ConfigError(f"device={options.device} is not one of {', '.join(DEVICES)}")
    check_overlap(options.overlap)
    files = find_images(pattern)
    kinds: list[Kind] = []
    task, datamodule = rebuild_from_checkpoint(
        ckpt_path, options.trust, lambda config: kinds.append(task_kind(config, ckpt_path))
    )
    kind = kinds[0]
    channel_mode(datamodule.in_channels)  # a model no image file can feed: one sentence now
    out.mkdir(parents=True, exist_ok=True)
    writer = _writer(kind, files, output_names(files), out, datamodule, options)
    predictor = Predictor(task, kind, datamodule, options)
    dataset = ImageFiles(files, datamodule.in_channels, _preparation(datamodule, kind))
    loader = DataLoader(
        dataset,
        batch_size=1 if kind == "segmentation" else options.batch_size,
        collate_fn=keep_samples,
    )
    trainer = pl.Trainer(
        accelerator=DEVICES[options.device],
        devices=1,
        logger=False,
        enable_checkpointing=False,
        callbacks=[writer],
    )
    trainer.predict(predictor, dataloaders=loader, return_predictions=False)
    console.info(f"Predicted {writer.predicted} of {len(files)} files into {out}")
    return writer.predicted, len(writer.errors)


def _preparation(datamodule: ImageDataModule, kind: Kind) -> Callable[[Tensor], Tensor]:
    """Image (C, H, W) in [0, 1] -> the model's input, by the data module's own transforms:
    resized to the training size (except for segmentation, which tiles any size), normalised."""

    def prepare(image: Tensor) -> Tensor:
        batch = image[None] if kind == "segmentation" else datamodule.resize_images(image[None])
        return datamodule.normalize_images(batch)[0]

    return prepare


def _writer(
    kind: Kind,
    files: list[Path],
    names: list[Path],
    out: Path,
    datamodule: ImageDataModule,
    options: PredictOptions,
) -> PredictionFiles:
    class_names = list(datamodule.class_names)
    if kind == "classification":
        top_k = min(options.top_k, len(class_names))
        return ClassificationFiles(
            files, names, out, class_names, top_k, options.copy_into_class_folders
        )
    if kind == "segmentation":
        palette = class_palette(getattr(datamodule, "palette", None), len(class_names))
        return SegmentationFiles(files, names, out, class_names, palette)
    return AutoencoderFiles(files, names, out)
