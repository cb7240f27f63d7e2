"""The contract every cnnlab data module keeps, whatever the task."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor
from torchvision.transforms.v2.functional import InterpolationMode, resize

from cnnlab.data.augment import BatchAugment


class ImageDataModule(pl.LightningDataModule):
    """A LightningDataModule of images that declares its shape and applies train augmentation.

    `num_classes` and `in_channels` are declared in the config (so models can interpolate them)
    and checked against the data in `setup`, which turns a mismatch into one clear sentence.

    These arguments are every data module's and are declared here only: subclasses take their
    own arguments by keyword and pass the rest on as `**kwargs`, so no order can drift apart.
    `seed` draws the split (`cnnlab.data.splits`) and the shuffling; `val_fraction` of the
    training data is held out for validation where the data set has no validation split.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int,
        image_size: int,
        batch_size: int = 64,
        augment: dict[str, Any] | None = None,
        seed: int = 0,
        val_fraction: float = 0.15,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.image_size = image_size
        self.batch_size = batch_size
        self.augment = BatchAugment(**(augment or {}))
        self.seed = seed
        self.val_fraction = val_fraction
        self.class_names: list[str] = [str(i) for i in range(num_classes)]
        self.mean: list[float] = [0.0] * in_channels
        self.std: list[float] = [1.0] * in_channels
        # drop each epoch's last partial training batch: set when the training step is compiled
        # (cnnlab.callbacks.speed), so that it sees one batch size
        self.drop_last_train = False

    def resize_images(self, images: Tensor) -> Tensor:
        """Images (N, C, H, W) in [0, 1] at `image_size`, resized as this data set resizes its
        own (antialiased bilinear, like torchvision's Resize), so new images match training."""
        size = [self.image_size, self.image_size]
        return resize(images, size, InterpolationMode.BILINEAR, antialias=True).clamp(0, 1)

    def normalize_images(self, images: Tensor) -> Tensor:
        """Standardise images in [0, 1] with the data set's per-channel mean and std."""
        return (images - _per_channel(self.mean, images)) / _per_channel(self.std, images)

    def denormalize(self, images: Tensor) -> Tensor:
        """Undo `normalize_images`, back to [0, 1], for showing images."""
        return images * _per_channel(self.std, images) + _per_channel(self.mean, images)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Augment training batches only, after they reached the training device."""
        if self.augment.enabled and self.trainer is not None and self.trainer.training:
            images, target = batch
            masks = target if target.dim() == images.dim() - 1 else None
            images, masks = self.augment(images, masks)
            batch = (images, target if masks is None else masks)
        return batch


def _per_channel(values: list[float], images: Tensor) -> Tensor:
    return torch.tensor(values, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
