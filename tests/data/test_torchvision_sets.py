"""MNIST / FashionMNIST / CIFAR-10 through torchvision's real readers, on tiny files we write."""

from __future__ import annotations

import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets import CIFAR10

from cnnlab.data.torchvision_sets import TorchvisionDataModule
from cnnlab.errors import ConfigError, DataError


def write_idx(path: Path, array: np.ndarray) -> None:
    """The IDX format of the MNIST files: magic, dims, then raw uint8 data."""
    magic = 0x0800 | array.ndim  # unsigned byte data, ndim dimensions
    path.write_bytes(struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes())


def write_mnist(root: Path, folder: str, n_train: int = 60, n_test: int = 20) -> None:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(
            raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        )
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))


@pytest.mark.parametrize(
    ("name", "folder"), [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")]
)
def test_mnist_like_files_load(tmp_path: Path, name: str, folder: str) -> None:
    write_mnist(tmp_path, folder)
    datamodule = TorchvisionDataModule(
        name=name, root=str(tmp_path), num_classes=10, in_channels=1, image_size=28,
        val_fraction=0.2, batch_size=8,
    )  # fmt: skip
    datamodule.prepare_data()
    datamodule.setup()
    images, labels = datamodule.splits["train"]
    assert images.shape == (48, 1, 28, 28)
    assert len(datamodule.splits["val"][0]) == 12
    assert len(datamodule.splits["test"][0]) == 20  # the official test split, not carved
    assert labels.dtype == torch.long
    batch = next(iter(datamodule.train_dataloader()))
    assert batch[0].shape == (8, 1, 28, 28)


def test_cifar10_files_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)

    def write(name: str, payload: dict) -> list[str]:
        (folder / name).write_bytes(pickle.dumps(payload))
        return [name, hashlib.md5((folder / name).read_bytes()).hexdigest()]

    train = [
        write(
            f"data_batch_{i}",
            {
                "data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
                "labels": [(4 * i + k) % 10 for k in range(4)],
            },
        )
        for i in range(1, 6)
    ]
    test = [
        write(
            "test_batch",
            {"data": rng.integers(0, 256, (6, 3072), dtype=np.uint8), "labels": list(range(6))},
        )
    ]
    meta = write("batches.meta", {"label_names": [f"class{i}" for i in range(10)]})
    # torchvision verifies the real files' md5 sums; point the check at our tiny files' sums
    monkeypatch.setattr(CIFAR10, "train_list", train)
    monkeypatch.setattr(CIFAR10, "test_list", test)
    monkeypatch.setattr(
        CIFAR10, "meta", {"filename": meta[0], "key": "label_names", "md5": meta[1]}
    )
    datamodule = TorchvisionDataModule(
        name="cifar10", root=str(tmp_path), num_classes=10, in_channels=3, image_size=32,
        val_fraction=0.25,
    )  # fmt: skip
    datamodule.setup()
    assert datamodule.splits["train"][0].shape == (15, 3, 32, 32)
    assert len(datamodule.splits["test"][0]) == 6


@pytest.mark.parametrize("download", [False, True])
def test_absent_files_fail_fast_saying_where_they_go(tmp_path: Path, download: bool) -> None:
    datamodule = TorchvisionDataModule(
        name="mnist", root=str(tmp_path / "data"), num_classes=10, in_channels=1, image_size=28,
        download=download,
    )  # fmt: skip
    with pytest.raises(DataError) as error:
        datamodule.prepare_data()
    message = str(error.value)
    assert str(tmp_path / "data" / "MNIST" / "raw") in message
    assert "root=" in message and "download=true" in message
    assert "`data.download`=true" in error.value.at("data").message  # named by config path


def test_unknown_name_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="name='svhn' is not a torchvision data set"):
        TorchvisionDataModule(
            name="svhn", root=str(tmp_path), num_classes=10, in_channels=3, image_size=32
        )  # type: ignore[arg-type]
