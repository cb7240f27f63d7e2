"""New image files as the model's input: found by file, folder or glob, read by PIL, converted
to the training data's channels, resized and normalised by the data module that trained it."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from cnnlab.errors import ConfigError, DataError

# PIL's modes for the channel counts a model can be fed; others cannot be converted to.
CHANNEL_MODES = {1: "L", 3: "RGB"}
# PIL's integer and float modes keep more than 8 bits: scaled to [0, 1] by their full range
WIDE_MODES = {"F": 1.0, "I;16": 65535.0, "I;16B": 65535.0, "I;16L": 65535.0}


def find_images(pattern: str) -> list[Path]:
    """The files `input=` names: one file, every file in a folder (recursively), or a glob.

    Every file is returned, images or not: a file PIL cannot read is reported per file later.
    """
    path = Path(pattern).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        where = f"folder {path}"
    else:
        files = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        where = f"{pattern!r}"
    if not files:
        raise DataError(
            f"no files in {where}: give input= an image file, a folder of images or a glob such "
            "as 'photos/*.png'"
        )
    return files


def output_names(files: list[Path]) -> list[Path]:
    """Each file's path relative to the folder all of them share: how outputs are named."""
    parents = [str(file.resolve().parent) for file in files]
    root = Path(os.path.commonpath(parents))
    return [file.resolve().relative_to(root) for file in files]


def channel_mode(channels: int) -> str:
    """The PIL mode new images are converted to; one sentence when there is none."""
    if channels not in CHANNEL_MODES:
        raise ConfigError(
            f"the model takes {channels}-channel images, which image files cannot be converted "
            "to (only 1-channel grey and 3-channel RGB): predict with a 1- or 3-channel model"
        )
    return CHANNEL_MODES[channels]


def read_image(path: Path, channels: int) -> Tensor:
    """(channels, H, W) float in [0, 1]; grey, RGB and RGBA files converted like training data.

    32-bit float and 16-bit files keep their precision (a float image is taken as [0, 1]).
    Raises DataError (with the reason) for a file that is not an image PIL can read.
    """
    mode = channel_mode(channels)
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in WIDE_MODES:
                grey = np.asarray(image, dtype=np.float32) / WIDE_MODES[image.mode]
                return torch.from_numpy(grey.copy()).clamp(0, 1).expand(channels, -1, -1).clone()
            array = np.asarray(image.convert(mode), dtype=np.float32) / 255.0
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise DataError(f"cannot read {path} as an image: {error}") from None
    tensor = torch.from_numpy(array)
    return tensor.unsqueeze(0) if tensor.dim() == 2 else tensor.permute(2, 0, 1).contiguous()


@dataclass
class Sample:
    """One input file: its model-ready image, or why it could not be read."""

    index: int
    image: Tensor | None
    error: str | None = None


class ImageFiles(Dataset):
    """The input files, each read and prepared on access; unreadable ones carry their reason."""

    def __init__(
        self, files: list[Path], channels: int, prepare: Callable[[Tensor], Tensor]
    ) -> None:
        self.files, self.channels, self.prepare = files, channels, prepare

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Sample:
        try:
            image = read_image(self.files[index], self.channels)
        except DataError as error:
            return Sample(index, None, str(error))
        return Sample(index, self.prepare(image))


def keep_samples(samples: list[Sample]) -> list[Sample]:
    """A DataLoader collate that leaves the batch a list: unreadable files ride along."""
    return samples
