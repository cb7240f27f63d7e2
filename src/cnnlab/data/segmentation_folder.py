"""Your own segmentation data: root/images/<name>.<ext> with root/masks/<name>.png.

A mask is a PNG with the class index of every pixel (grey or palette-mode PNG, as most
annotation tools export), or an RGB PNG whose colours `palette` maps to classes. Names, files
and mask values are all checked in `setup`, before training, with the offending files named.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset, Subset

from cnnlab.data.mask_files import MaskFilesDataModule, PairedTransform, check_pair_sizes
from cnnlab.data.splits import seeded_split
from cnnlab.errors import ConfigError, DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


class MaskPairs(Dataset):
    """(image path, mask path) pairs read and transformed together."""

    def __init__(self, pairs: list[tuple[Path, Path]], transform: PairedTransform) -> None:
        self.pairs = pairs
        self.transform = transform

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        image_path, mask_path = self.pairs[index]
        with Image.open(image_path) as image, Image.open(mask_path) as mask:
            return self.transform(image, mask)


def palette_mapping(palette: Sequence[Sequence[int]]):
    """RGB mask -> class indices, class i being the colour palette[i]; unknown colours -> -1."""
    codes = {(r << 16) | (g << 8) | b: index for index, (r, g, b) in enumerate(palette)}

    def to_classes(values: np.ndarray) -> np.ndarray:
        if values.ndim != 3:
            raise ValueError("a palette needs RGB masks, but this mask has one channel")
        rgb = values[..., :3].astype(np.int64)
        packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        classes = np.full(packed.shape, -1, dtype=np.int64)
        for code, index in codes.items():
            classes[packed == code] = index
        return classes

    return to_classes


class SegmentationFolderDataModule(MaskFilesDataModule):
    """Pairs images/ and masks/ by file name, checks them, and splits them by `seed`."""

    def __init__(
        self,
        *,
        root: str,
        images_dir: str = "images",
        masks_dir: str = "masks",
        palette: list[list[int]] | None = None,
        class_names: list[str] | None = None,
        ignore_index: int | None = None,
        test_fraction: float = 0.15,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        num_classes = self.num_classes
        if palette is not None and len(palette) != num_classes:
            raise ConfigError(
                f"`palette` has {len(palette)} colours but `num_classes` is {num_classes}: "
                "give one [R, G, B] colour per class, in class order"
            )
        if class_names is not None and len(class_names) != num_classes:
            raise ConfigError(
                f"`class_names` has {len(class_names)} names but `num_classes` is {num_classes}: "
                "give one name per class"
            )
        self.root = Path(root).expanduser()
        self.images_dir, self.masks_dir = self.root / images_dir, self.root / masks_dir
        self.palette = palette
        self.ignore_index = ignore_index
        self.test_fraction = test_fraction
        if class_names is not None:
            self.class_names = list(class_names)

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        transform = self.paired_transform(palette_mapping(self.palette) if self.palette else None)
        pairs = self.pairs()
        for _, mask_path in pairs:
            self._check_mask(mask_path, transform)
        check_pair_sizes(pairs)
        dataset = MaskPairs(pairs, transform)
        fractions = {"val_fraction": self.val_fraction, "test_fraction": self.test_fraction}
        val, test, train = seeded_split(len(pairs), fractions, self.seed)
        self.datasets = {
            name: Subset(dataset, part.tolist())
            for name, part in zip(("train", "val", "test"), (train, val, test), strict=True)
        }

    def pairs(self) -> list[tuple[Path, Path]]:
        """(image, mask) paths matched by file stem; any unmatched name is an error naming it."""
        for folder in (self.images_dir, self.masks_dir):
            if not folder.is_dir():
                raise DataError(
                    f"{folder} does not exist: a segmentation folder needs {self.images_dir} and "
                    f"{self.masks_dir} (set `root`, `images_dir`, `masks_dir`)"
                )
        images = _by_stem(self.images_dir, IMAGE_SUFFIXES)
        masks = _by_stem(self.masks_dir, {".png"})
        if not images:
            raise DataError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {self.images_dir}")
        without_mask = sorted(set(images) - set(masks))
        without_image = sorted(set(masks) - set(images))
        if without_mask or without_image:
            problems = []
            if without_mask:
                problems.append(
                    f"images without a mask: {_some(images[s].name for s in without_mask)}"
                )
            if without_image:
                problems.append(
                    f"masks without an image: {_some(masks[s].name for s in without_image)}"
                )
            raise DataError(
                f"images and masks must pair up by name ({self.images_dir}/<name>.<ext> with "
                f"{self.masks_dir}/<name>.png); {'; '.join(problems)}"
            )
        return [(images[stem], masks[stem]) for stem in sorted(images)]

    def _check_mask(self, path: Path, transform: PairedTransform) -> None:
        try:
            with Image.open(path) as mask:
                classes = transform.mask_classes(mask)
        except ValueError as error:
            raise DataError(f"mask {path}: {error}; save masks as RGB or drop `palette`") from None
        except OSError as error:
            raise DataError(
                f"cannot read mask {path}: {error}. Replace or remove the file."
            ) from None
        if classes.ndim != 2:
            raise DataError(
                f"mask {path} has {classes.shape[-1]} channels: save class indices as a grey "
                "(or palette) PNG, or map its colours to classes with `palette`"
            )
        if self.palette is not None and (classes < 0).any():
            with Image.open(path) as mask:
                colours = np.unique(np.asarray(mask.convert("RGB"))[classes < 0], axis=0)
            raise DataError(
                f"mask {path} has colours not in `palette`: "
                f"{_some(map(str, colours.tolist()))}; add them "
                "to `palette` (one [R, G, B] per class) or fix the mask"
            )
        bad = [
            int(v)
            for v in np.unique(classes)
            if not (0 <= v < self.num_classes or v == self.ignore_index)
        ]
        if bad:
            allowed = f"0..{self.num_classes - 1}" + (
                f" or ignore_index {self.ignore_index}" if self.ignore_index is not None else ""
            )
            raise DataError(
                f"mask {path} has values {_some(map(str, bad))} outside the classes {allowed}: fix "
                "the mask, or set `num_classes` (or `ignore_index` for a 'void' value)"
            )


def _by_stem(folder: Path, suffixes: set[str]) -> dict[str, Path]:
    return {p.stem: p for p in folder.iterdir() if p.suffix.lower() in suffixes}


def _some(names: Any, limit: int = 5) -> str:
    names = list(names)
    more = f" (and {len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
