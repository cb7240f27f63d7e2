"""Oxford-IIIT Pet segmentation through torchvision: 7,349 cat and dog photos with trimaps.

A trimap marks every pixel 1 = pet, 2 = background, 3 = the uncertain border. We renumber them
so that background is class 0 (what the mask overlays leave unpainted): `three_class` gives
0 background, 1 pet, 2 border; `binary` folds the border into the pet (0 background, 1 pet).
Downloading stays torchvision's job; cnnlab adds a fast, clear failure when it cannot happen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from torchvision.datasets import OxfordIIITPet

from cnnlab.data.mask_files import MaskFilesDataModule, check_pair_sizes, lookup_mapping
from cnnlab.errors import ConfigError, DataError

TRIMAP_CLASSES = {
    # trimap value (1 pet, 2 background, 3 border) -> class index
    "three_class": {2: 0, 1: 1, 3: 2},
    "binary": {2: 0, 1: 1, 3: 1},
}
CLASS_NAMES = {"three_class": ["background", "pet", "border"], "binary": ["background", "pet"]}


class OxfordPetsDataModule(MaskFilesDataModule):
    """The official `trainval` split (cut by seed into train and val) and `test` split."""

    def __init__(
        self,
        *,
        root: str,
        download: bool = False,
        trimap: Literal["three_class", "binary"] = "three_class",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        num_classes = self.num_classes
        if trimap not in TRIMAP_CLASSES:
            raise ConfigError(f"`trimap`={trimap!r}: choose one of {list(TRIMAP_CLASSES)}")
        expected = len(CLASS_NAMES[trimap])
        if num_classes != expected:
            raise ConfigError(
                f"`num_classes`={num_classes} but `trimap`={trimap} has {expected} classes: "
                f"set `num_classes`={expected}"
            )
        self.root = Path(root).expanduser()
        self.download = download
        self.trimap = trimap
        self.class_names = list(CLASS_NAMES[trimap])

    def prepare_data(self) -> None:
        """Download once (rank 0 only, as Lightning calls it) when allowed."""
        self._open("trainval")

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        trainval, test = self._open("trainval"), self._open("test")
        for split in (trainval, test):
            # torchvision keeps the file lists in private attributes, parallel lists of paths
            check_pair_sizes(zip(split._images, split._segs, strict=True))
        train, val = self.split_train_val(trainval, self.val_fraction, self.seed)
        self.datasets = {"train": train, "val": val, "test": test}

    def _open(self, split: str) -> OxfordIIITPet:
        transform = self.paired_transform(lookup_mapping(TRIMAP_CLASSES[self.trimap]))
        try:
            return OxfordIIITPet(
                str(self.root), split, "segmentation", transforms=transform, download=self.download
            )
        except Exception as error:  # RuntimeError, URLError, OSError... from torchvision
            how = "the download failed (no network?)" if self.download else "`download` is off"
            raise DataError(
                f"Oxford-IIIT Pet is not under {self.root / 'oxford-iiit-pet'} (images/ and "
                f"annotations/) and {how}: {error}. Put the files there (`root`={self.root}), "
                "or set `download`=true on a machine with internet (about 800 MB)."
            ) from None
