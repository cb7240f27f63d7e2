"""The in-memory data path: batches sliced on the device equal the DataLoader's, bit for bit."""

from __future__ import annotations

from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from cnnlab.data.device_batches import DeviceBatches, split_sampler
from cnnlab.pipeline import build_datamodule, build_task
from tests.conftest import TINY


class BatchRecorder(pl.Callback):
    """Keeps every training batch exactly as the task receives it (after augmentation)."""

    def __init__(self) -> None:
        self.batches: list[tuple[int, Tensor, Tensor]] = []

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        images, labels = batch
        self.batches.append((trainer.current_epoch, images.clone(), labels.clone()))


def fit_and_record(compose_train, loader: str) -> tuple[list, Any]:
    # Augmentation off: each DataLoader iterator draws a number from the global RNG, so the
    # random crops that follow differ between the paths even though the samples do not.
    overrides = [*TINY, f"data.loader={loader}", "data.augment.crop_padding=0"]
    cfg = compose_train(overrides)
    pl.seed_everything(cfg.seed)
    datamodule = build_datamodule(cfg.data)
    task = build_task(cfg, datamodule)
    recorder = BatchRecorder()
    trainer = pl.Trainer(
        accelerator="cpu", max_epochs=3, limit_train_batches=4, limit_val_batches=1,
        logger=False, enable_checkpointing=False, enable_progress_bar=False, callbacks=[recorder],
    )  # fmt: skip
    trainer.fit(task, datamodule=datamodule)
    return recorder.batches, trainer.train_dataloader


def test_device_path_trains_on_the_same_batches_as_the_dataloader_path(compose_train) -> None:
    device_batches, device_loader = fit_and_record(compose_train, "device")
    loader_batches, data_loader = fit_and_record(compose_train, "dataloader")
    assert isinstance(device_loader, DeviceBatches)
    assert isinstance(data_loader, DataLoader)
    assert len(device_batches) == len(loader_batches) == 12
    for (epoch_a, images_a, labels_a), (epoch_b, images_b, labels_b) in zip(
        device_batches, loader_batches, strict=True
    ):
        assert epoch_a == epoch_b
        assert torch.equal(images_a, images_b)
        assert torch.equal(labels_a, labels_b)
    # Lightning's set_epoch reached the sampler: each epoch has its own order
    first_of_epoch = [labels for epoch, _, labels in device_batches[::4]]
    assert not torch.equal(first_of_epoch[0], first_of_epoch[1])


def numbered(n: int) -> tuple[Tensor, Tensor]:
    """Images whose pixels hold the sample's index, so a batch shows which samples it holds."""
    index = torch.arange(n, dtype=torch.float32)
    return index.view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous(), torch.arange(n)


@pytest.mark.parametrize("shuffle", [True, False])
def test_ranks_get_disjoint_shards_identical_to_the_dataloaders(shuffle: bool) -> None:
    images, targets = numbered(21)
    seen = []
    for rank in (0, 1):
        sampler = split_sampler(len(targets), shuffle, seed=7, world_size=2, rank=rank)
        sampler.set_epoch(2)  # type: ignore[attr-defined]
        device = list(DeviceBatches(images, targets, 4, sampler))
        loader = list(DataLoader(TensorDataset(images, targets), batch_size=4, sampler=sampler))
        assert len(device) == len(loader) == len(DeviceBatches(images, targets, 4, sampler)) == 3
        for (a_images, a_targets), (b_images, b_targets) in zip(device, loader, strict=True):
            assert torch.equal(a_images, b_images) and torch.equal(a_targets, b_targets)
        seen.append(torch.cat([t for _, t in device]))
    # 21 samples over 2 ranks: 11 each, one sample repeated to even them out (like DDP's sampler)
    assert len(seen[0]) == len(seen[1]) == 11
    assert set(torch.cat(seen).tolist()) == set(range(21))
    ordered = torch.cat(seen).sort().values
    assert (ordered.diff() == 0).sum() == 1
    if not shuffle:
        assert seen[0].tolist() == list(range(0, 21, 2))


def test_unshuffled_single_process_order_is_sequential() -> None:
    images, targets = numbered(10)
    batches = DeviceBatches(images, targets, 4, split_sampler(10, False, seed=0))
    assert [t.tolist() for _, t in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_device_path_keeps_splits_on_the_gpu(compose_train) -> None:
    cfg = compose_train([*TINY, "trainer.accelerator=gpu"])
    datamodule = build_datamodule(cfg.data)
    device = torch.device("cuda", 0)
    first = datamodule._on_device("train", device)
    assert first[0].device.type == "cuda"
    assert datamodule._on_device("train", device)[0] is first[0]  # copied once
    assert datamodule.splits["train"][0].device.type == "cpu"
