"""Data sets small enough to hold as tensors: loaded once, split by seed, batched from memory."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from cnnlab.data.base import ImageDataModule
from cnnlab.data.device_batches import DeviceBatches, split_sampler
from cnnlab.data.splits import seeded_split
from cnnlab.errors import ConfigError

Arrays = tuple[Tensor, Tensor]  # images (N, C, H, W) float in [0, 1], targets (N,) or (N, H, W)


class InMemoryDataModule(ImageDataModule):
    """Holds train/val/test as tensors; subclasses only say how to load the raw arrays.

    `load()` returns either {"all": arrays} or {"train": arrays, "test": arrays}; validation (and
    test, when absent) are carved from it with a permutation drawn from `seed`, so the split is
    the same in every run with that seed, whatever else is random.

    `loader="device"` (the default) keeps each split on the training device and slices batches
    there (`DeviceBatches`); `loader="dataloader"` uses a DataLoader over the same tensors. Both
    shuffle with `seed` + epoch and shard across DDP ranks, so they yield the same batches.
    """

    def __init__(
        self,
        *,
        test_fraction: float = 0.15,
        normalize: bool = True,
        classes: list[int] | None = None,
        train_per_class: int | None = None,
        loader: Literal["device", "dataloader"] = "device",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.loader = loader
        self.test_fraction = test_fraction
        self.normalize = normalize
        self.classes = list(classes) if classes is not None else None
        if self.classes is not None:  # renumbered 0..k-1, but shown under their own labels
            self.class_names = [str(c) for c in self.classes]
        self.train_per_class = train_per_class
        self.splits: dict[str, Arrays] = {}
        self.device_splits: dict[str, Arrays] = {}

    @abstractmethod
    def load(self) -> dict[str, Arrays]:
        """Return the raw images in [0, 1] and their targets, as described in the class doc."""

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        loaded = {name: self._resize(*arrays) for name, arrays in self.load().items()}
        if self.classes is not None:
            loaded = {name: self._select_classes(*arrays) for name, arrays in loaded.items()}
        generator = torch.Generator().manual_seed(self.seed)
        if "all" in loaded:
            test, rest = _split(loaded["all"], "test_fraction", self.test_fraction, generator)
        else:
            rest, test = loaded["train"], loaded["test"]
        val, train = _split(rest, "val_fraction", self.val_fraction, generator)
        if self.train_per_class is not None:
            train = _take_per_class(train, self.train_per_class, generator)
        self._check_classes(train[1])
        if self.normalize:
            dims = [0, 2, 3]
            self.mean = train[0].mean(dim=dims).tolist()
            self.std = train[0].std(dim=dims).clamp_min(1e-6).tolist()
        self.splits = {
            name: (self.normalize_images(images), targets)
            for name, (images, targets) in {"train": train, "val": val, "test": test}.items()
        }

    def _resize(self, images: Tensor, targets: Tensor) -> Arrays:
        return self.resize_images(images).contiguous(), targets

    def resize_images(self, images: Tensor) -> Tensor:
        """Plain bilinear interpolation (no antialiasing) to `image_size`, clamped to [0, 1]."""
        if images.shape[-1] != self.image_size or images.shape[-2] != self.image_size:
            size = (self.image_size, self.image_size)
            images = F.interpolate(images, size=size, mode="bilinear", align_corners=False)
        return images.clamp(0, 1)

    def _select_classes(self, images: Tensor, targets: Tensor) -> Arrays:
        """Keep the listed classes only and renumber them 0..k-1 in the listed order."""
        keep = torch.isin(targets, torch.tensor(self.classes))
        remap = torch.full((int(targets.max()) + 1,), -1, dtype=torch.long)
        remap[torch.tensor(self.classes)] = torch.arange(len(self.classes))
        return images[keep], remap[targets[keep]]

    def _check_classes(self, train_targets: Tensor) -> None:
        if train_targets.dim() != 1:
            return
        found = int(train_targets.max()) + 1
        if found != self.num_classes:
            raise ConfigError(
                f"`num_classes`={self.num_classes} but the {type(self).__name__} training split "
                f"has {found} classes: set `num_classes`={found}"
            )

    def dataloader(
        self, split: str, shuffle: bool = False, drop_last: bool = False
    ) -> DeviceBatches | DataLoader:
        """Batches of one split, in the same seeded, rank-sharded order with either `loader`."""
        images, targets = self.splits[split]
        trainer = self.trainer
        world_size, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
        sampler = split_sampler(len(targets), shuffle, self.seed, world_size, rank)
        if self.loader == "dataloader":
            dataset = TensorDataset(images, targets)
            return DataLoader(
                dataset, batch_size=self.batch_size, sampler=sampler, drop_last=drop_last
            )
        images, targets = self._on_device(split, trainer.strategy.root_device if trainer else None)
        return DeviceBatches(images, targets, self.batch_size, sampler, drop_last)

    def _on_device(self, split: str, device: torch.device | None) -> Arrays:
        """A split on the training device, copied there once; `splits` stays on the CPU."""
        images, targets = self.splits[split]
        if device is None or images.device == device:
            return images, targets
        cached = self.device_splits.get(split)
        if cached is None or cached[0].device != device:
            cached = self.device_splits[split] = (images.to(device), targets.to(device))
        return cached

    def train_dataloader(self) -> DeviceBatches | DataLoader:
        # overfit_batches means "the same first batches every epoch": no shuffling then
        shuffle = not (self.trainer and self.trainer.overfit_batches)
        return self.dataloader("train", shuffle, drop_last=self.drop_last_train)

    def val_dataloader(self) -> DeviceBatches | DataLoader:
        return self.dataloader("val")

    def test_dataloader(self) -> DeviceBatches | DataLoader:
        return self.dataloader("test")


def _split(
    arrays: Arrays, name: str, fraction: float, generator: torch.Generator
) -> tuple[Arrays, Arrays]:
    """(held-out `fraction`, the rest) of the samples, by `seeded_split`."""
    images, targets = arrays
    held_out, kept = seeded_split(len(images), {name: fraction}, generator)
    return (images[held_out], targets[held_out]), (images[kept], targets[kept])


def _take_per_class(arrays: Arrays, per_class: int, generator: torch.Generator) -> Arrays:
    """The few-label regime: the first `per_class` samples of each class in a seeded order."""
    images, targets = arrays
    order = torch.randperm(len(targets), generator=generator)
    chosen = torch.cat([order[targets[order] == c][:per_class] for c in targets.unique()])
    return images[chosen], targets[chosen]
