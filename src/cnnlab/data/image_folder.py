"""Class-per-folder images of any size (root/<class>/<image>), read lazily from disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Subset
from torchvision import datasets
from torchvision.transforms import v2

from cnnlab.data.files import FileDataModule
from cnnlab.data.splits import seeded_split
from cnnlab.errors import ConfigError, DataError


def load_image(path: str) -> Image.Image:
    """Open an image, naming the file when it cannot be read."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DataError(f"cannot read image {path}: {error}. Replace or remove the file.") from None


class ImageFolderDataModule(FileDataModule):
    """torchvision's ImageFolder with resizing, normalisation and a seeded or given val split.

    With `val_dir` set, validation comes from that folder; otherwise `val_fraction` of `train_dir`.
    `test_dir` defaults to the validation data. Every file's header is read in `setup`, so a
    corrupt image stops the run before training, with its path in the message.
    """

    def __init__(
        self,
        *,
        root: str,
        train_dir: str = "train",
        val_dir: str | None = "val",
        test_dir: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.root = Path(root).expanduser()
        self.train_dir, self.val_dir, self.test_dir = train_dir, val_dir, test_dir

    def _transform(self) -> v2.Compose:
        steps: list[Any] = [v2.Resize((self.image_size, self.image_size), antialias=True)]
        if self.in_channels == 1:
            steps.append(v2.Grayscale())
        steps += [
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(self.mean, self.std),
        ]
        return v2.Compose(steps)

    def _folder(self, name: str) -> datasets.ImageFolder:
        path = self.root / name
        if not path.is_dir():
            raise DataError(
                f"image folder {path} does not exist: expected {self.root}/{name}/<class>/<image> "
                "(set `root`, or `train_dir` / `val_dir` / `test_dir`)"
            )
        try:
            folder = datasets.ImageFolder(str(path), transform=self._transform(), loader=load_image)
        except FileNotFoundError as error:
            raise DataError(f"{path}: {error}") from None
        for file, _ in folder.samples:
            _check_header(file)
        return folder

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        train = self._folder(self.train_dir)
        if len(train.classes) != self.num_classes:
            raise ConfigError(
                f"`num_classes`={self.num_classes} but {self.root / self.train_dir} has "
                f"{len(train.classes)} class folders ({', '.join(train.classes)}): set "
                f"`num_classes`={len(train.classes)}"
            )
        self.class_names = list(train.classes)
        if self.val_dir is not None:
            val = self._folder(self.val_dir)
            if val.classes != train.classes:
                raise DataError(
                    f"{self.root / self.val_dir} has classes {val.classes} but "
                    f"{self.root / self.train_dir} has {train.classes}: use the same class folders"
                )
        else:
            val_part, train_part = seeded_split(
                len(train), {"val_fraction": self.val_fraction}, self.seed
            )
            train, val = Subset(train, train_part.tolist()), Subset(train, val_part.tolist())
        test = self._folder(self.test_dir) if self.test_dir is not None else val
        self.datasets = {"train": train, "val": val, "test": test}


def _check_header(path: str) -> None:
    try:
        with Image.open(path) as image:
            image.verify()
    except Exception as error:
        raise DataError(f"cannot read image {path}: {error}. Replace or remove the file.") from None
