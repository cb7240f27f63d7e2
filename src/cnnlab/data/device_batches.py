"""Batches sliced straight from tensors that already sit on the training device.

For data sets that fit in memory, a DataLoader costs per step: it indexes one sample at a time,
collates, and (on a GPU) copies every batch to the device. The fastest small-image trainers
instead move the whole split to the device once and index it there. `DeviceBatches` does that
and keeps what Lightning expects of a loader: `len`, and a `sampler` whose `set_epoch` Lightning
calls each epoch. The order comes from the same sampler a DataLoader would use (`split_sampler`),
so both paths yield the same samples, and DDP ranks get disjoint shards.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import DistributedSampler, Sampler, SequentialSampler


def split_sampler(
    num_samples: int, shuffle: bool, seed: int, world_size: int = 1, rank: int = 0
) -> Sampler[int]:
    """Sample order for one split: seeded per epoch (`set_epoch`), sharded by rank like DDP's.

    Unshuffled single-process splits get a SequentialSampler, which is what Lightning checks for
    to leave a loader's order alone (e.g. with `trainer.overfit_batches`).
    """
    if world_size == 1 and not shuffle:
        return SequentialSampler(range(num_samples))
    return DistributedSampler(
        range(num_samples), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed
    )


class DeviceBatches:
    """Iterate (images, targets) batches of `batch_size` in `sampler`'s order, on their device."""

    batch_sampler = None  # as on a DataLoader without one: Lightning reads `sampler` instead

    def __init__(
        self,
        images: Tensor,
        targets: Tensor,
        batch_size: int,
        sampler: Sampler[int],
        drop_last: bool = False,
    ) -> None:
        self.images = images
        self.targets = targets
        self.batch_size = batch_size
        self.sampler = sampler
        self.drop_last = drop_last  # leave out a last batch smaller than batch_size

    def __len__(self) -> int:
        samples = len(self.sampler)  # type: ignore[arg-type]
        if self.drop_last:
            return samples // self.batch_size
        return math.ceil(samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        order = torch.tensor(list(self.sampler), dtype=torch.long, device=self.images.device)
        for batch in order.split(self.batch_size)[: len(self)]:
            yield self.images[batch], self.targets[batch]
