"""What file-backed segmentation sets share: a paired image+mask transform and the loaders.

Images and masks are read lazily (these sets do not fit in memory at full size). Every sample
is resized to `image_size` — the image bilinearly, the mask with nearest neighbours so class
indices are never blended — and the image normalised. That resizing would also hide a mask made
for another image size, so `check_pair_sizes` refuses such pairs when the data is set up.
Random flips and crops happen later, on whole batches, in
`ImageDataModule.on_after_batch_transfer`, with the same draw for both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset, Subset
from torchvision import tv_tensors
from torchvision.transforms import v2

from cnnlab.data.files import FileDataModule
from cnnlab.data.splits import seeded_split
from cnnlab.errors import DataError

MaskMapping = Callable[[np.ndarray], np.ndarray]


class PairedTransform:
    """(PIL image, PIL mask) -> (float image (C, S, S), long mask (S, S)).

    `mask_mapping` turns the mask file's pixel values into class indices (e.g. a trimap's 1/2/3,
    or a colour palette); by default the values are the classes.
    """

    def __init__(
        self,
        image_size: int,
        in_channels: int,
        mean: Sequence[float],
        std: Sequence[float],
        mask_mapping: MaskMapping | None = None,
    ) -> None:
        self.mode = "L" if in_channels == 1 else "RGB"
        self.mask_mapping = mask_mapping
        self.transform = v2.Compose(
            [
                v2.ToImage(),
                v2.Resize((image_size, image_size), antialias=True),
                v2.ToDtype({tv_tensors.Image: torch.float32, "others": None}, scale=True),
                v2.Normalize(list(mean), list(std)),
            ]
        )

    def mask_classes(self, mask: Image.Image) -> np.ndarray:
        """The mask's class index per pixel, before resizing."""
        values = np.asarray(mask)
        return self.mask_mapping(values) if self.mask_mapping is not None else values

    def __call__(self, image: Image.Image, mask: Image.Image) -> tuple[Tensor, Tensor]:
        classes = tv_tensors.Mask(torch.from_numpy(self.mask_classes(mask).astype(np.uint8)))
        image, classes = self.transform(image.convert(self.mode), classes)
        return image.as_subclass(Tensor), classes.as_subclass(Tensor).long()


def check_pair_sizes(pairs: Iterable[tuple[Path, Path]]) -> None:
    """Raise DataError naming the first image whose mask has another size in pixels.

    Only the file headers are read. Image and mask are resized to `image_size` separately, so a
    mask of another size would otherwise be stretched onto its image and trained on, unnoticed.
    """
    for image_path, mask_path in pairs:
        with Image.open(image_path) as image, Image.open(mask_path) as mask:
            if image.size != mask.size:
                raise DataError(
                    f"mask {mask_path} is {_size(mask)} pixels but its image {image_path} is "
                    f"{_size(image)}: a mask must have its image's size, so fix or remove the pair"
                )


def _size(image: Image.Image) -> str:
    return "{}x{}".format(*image.size)


def lookup_mapping(table: dict[int, int], fill: int = 255) -> MaskMapping:
    """A mask mapping from a {file value: class} table; unlisted values become `fill`."""
    lookup = np.full(256, fill, dtype=np.uint8)
    for value, index in table.items():
        lookup[value] = index
    return lambda values: lookup[values]


class MaskFilesDataModule(FileDataModule):
    """Base for segmentation sets read from disk: holds the splits and builds their loaders.

    Subclasses fill `self.datasets` ({"train", "val", "test"}: datasets of (image, mask)) in
    `setup`, using `self.paired_transform(...)` so images and masks are resized together.
    """

    def paired_transform(self, mask_mapping: MaskMapping | None = None) -> PairedTransform:
        return PairedTransform(self.image_size, self.in_channels, self.mean, self.std, mask_mapping)

    def split_train_val(
        self, dataset: Dataset, val_fraction: float, seed: int
    ) -> tuple[Subset, Subset]:
        size = len(dataset)  # type: ignore[arg-type]
        val, train = seeded_split(size, {"val_fraction": val_fraction}, seed)
        return Subset(dataset, train.tolist()), Subset(dataset, val.tolist())
