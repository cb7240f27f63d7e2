"""MNIST, FashionMNIST and CIFAR-10 through torchvision, held in memory once read.

Downloading stays torchvision's job; what cnnlab adds is a fast, clear failure when the files
are absent and cannot be fetched, naming the folder where they must go.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from torchvision import datasets

from cnnlab.data.in_memory import Arrays, InMemoryDataModule
from cnnlab.errors import ConfigError, DataError

DATASETS: dict[str, tuple[type, str]] = {
    # name: (torchvision class, folder torchvision reads under root)
    "mnist": (datasets.MNIST, "MNIST/raw"),
    "fashion_mnist": (datasets.FashionMNIST, "FashionMNIST/raw"),
    "cifar10": (datasets.CIFAR10, "cifar-10-batches-py"),
}


class TorchvisionDataModule(InMemoryDataModule):
    """One of torchvision's classic small data sets, with its official test split."""

    def __init__(
        self,
        *,
        name: Literal["mnist", "fashion_mnist", "cifar10"],
        root: str,
        download: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if name not in DATASETS:
            raise ConfigError(
                f"`name`={name!r} is not a torchvision data set cnnlab reads: choose one of "
                f"{list(DATASETS)}"
            )
        self.name = name
        self.root = Path(root).expanduser().absolute()
        self.download = download

    def prepare_data(self) -> None:
        """Download once (rank 0 only, as Lightning calls it) when allowed."""
        for train in (True, False):
            self._open(train)

    def load(self) -> dict[str, Arrays]:
        return {"train": self._arrays(self._open(True)), "test": self._arrays(self._open(False))}

    def _open(self, train: bool) -> Any:
        dataset_class, folder = DATASETS[self.name]
        try:
            return dataset_class(str(self.root), train=train, download=self.download)
        except Exception as error:  # torchvision raises RuntimeError, URLError, OSError...
            how = "the download failed (no network?)" if self.download else "`download` is off"
            raise DataError(
                f"{self.name} is not under {self.root / folder} and {how}: {error}. Put the "
                f"torchvision files there (`root`={self.root}), or set `download`=true on "
                "a machine with internet."
            ) from None

    @staticmethod
    def _arrays(dataset: Any) -> Arrays:
        images = torch.as_tensor(dataset.data)
        images = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)
        return images.float() / 255.0, torch.as_tensor(dataset.targets, dtype=torch.long)
