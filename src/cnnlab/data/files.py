"""What data sets read lazily from disk share: fixed normalisation stats and worker loaders."""

from __future__ import annotations

from typing import Any

from torch.utils.data import DataLoader, Dataset

from cnnlab.data.base import ImageDataModule

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class FileDataModule(ImageDataModule):
    """Base for data modules whose `setup` fills `self.datasets` ({"train", "val", "test"}).

    Files are decoded in DataLoader worker processes (`num_workers`, `pin_memory`,
    `persistent_workers`). Colour images are normalised with ImageNet statistics by default,
    as pretrained backbones expect; grey ones to [-1, 1].
    """

    def __init__(
        self,
        *,
        mean: list[float] | None = None,
        std: list[float] | None = None,
        num_workers: int = 2,
        pin_memory: bool = False,
        persistent_workers: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        colour, channels = self.in_channels == 3, self.in_channels
        self.mean = list(mean or (IMAGENET_MEAN if colour else [0.5] * channels))
        self.std = list(std or (IMAGENET_STD if colour else [0.5] * channels))
        self.loader_options = {
            "num_workers": num_workers,
            "pin_memory": pin_memory,
            "persistent_workers": persistent_workers and num_workers > 0,
        }
        self.datasets: dict[str, Dataset] = {}

    def _loader(self, split: str, shuffle: bool = False, drop_last: bool = False) -> DataLoader:
        return DataLoader(
            self.datasets[split],
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
            **self.loader_options,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True, drop_last=self.drop_last_train)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
