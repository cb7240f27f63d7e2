"""What cnnlab-predict writes, one Lightning prediction writer per task kind.

Each batch's per-image files (masks, overlays, reconstructions) are written as the batch
arrives; the tables, which need every image, when prediction ends. Every file is written
atomically. Files that could not be read are listed in errors.csv with the reason.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from PIL import Image
from pytorch_lightning.callbacks import BasePredictionWriter
from torch import Tensor

from cnnlab.inference.palette import mask_image, overlay_image
from cnnlab.runs.atomic import write_atomic, write_text_atomic
from cnnlab.runs.layout import (
    BY_CLASS_DIR,
    CLASS_PIXELS_FILE,
    LATENTS_FILE,
    LATENTS_TABLE,
    MASKS_DIR,
    OVERLAYS_DIR,
    PREDICT_ERRORS_FILE,
    PREDICTIONS_FILE,
    RECONSTRUCTION_ERRORS_FILE,
    RECONSTRUCTIONS_DIR,
)

Batch = dict[str, Any]  # what Predictor.predict_step returns: see cnnlab.inference.predict


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    """A CSV table, written atomically."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text_atomic(path, text.getvalue())


def write_png(path: Path, image: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda handle: image.save(handle, format="PNG"))


class PredictionFiles(BasePredictionWriter):
    """The common part: file names, errors.csv; subclasses save what one batch predicted."""

    def __init__(self, files: list[Path], names: list[Path], out: Path) -> None:
        super().__init__(write_interval="batch")
        self.files, self.names, self.out = files, names, out
        self.stem_counts = Counter(name.with_suffix("") for name in names)
        self.errors: list[list[str]] = []
        self.predicted = 0

    def write_on_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        prediction: Batch,
        batch_indices: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self.errors += [[str(self.files[i]), reason] for i, reason in prediction["failed"]]
        if prediction["indices"]:
            self.predicted += len(prediction["indices"])
            self.write_batch(prediction)

    def write_batch(self, prediction: Batch) -> None:
        """Save one batch's predictions (`indices` name the files)."""
        raise NotImplementedError

    def on_predict_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        write_csv(self.out / PREDICT_ERRORS_FILE, ["file", "reason"], self.errors)
        self.finish()

    def finish(self) -> None:
        """Write the tables that need every image."""

    def png_name(self, index: int) -> Path:
        """The output PNG's name: the input's with .png, or with .png added when another input
        differs only by its suffix (a.jpg and a.png give a.jpg.png and a.png.png)."""
        name = self.names[index]
        unique = self.stem_counts[name.with_suffix("")] == 1
        return name.with_suffix(".png") if unique else name.with_name(name.name + ".png")


class ClassificationFiles(PredictionFiles):
    """predictions.csv: file, class, index, probability, then the top-k classes and theirs."""

    def __init__(
        self,
        files: list[Path],
        names: list[Path],
        out: Path,
        class_names: list[str],
        top_k: int,
        copy_into_class_folders: bool,
    ) -> None:
        super().__init__(files, names, out)
        self.class_names, self.top_k = class_names, top_k
        self.copy_into_class_folders = copy_into_class_folders
        self.rows: list[list[Any]] = []

    def write_batch(self, prediction: Batch) -> None:
        probabilities, classes = prediction["probabilities"].topk(self.top_k, dim=1)
        for index, top_p, top_c in zip(prediction["indices"], probabilities, classes, strict=True):
            names = [self.class_names[c] for c in top_c.tolist()]
            ranked = [value for pair in zip(names, top_p.tolist(), strict=True) for value in pair]
            self.rows.append([str(self.files[index]), names[0], int(top_c[0]), float(top_p[0])])
            self.rows[-1] += ranked
            if self.copy_into_class_folders:
                target = self.out / BY_CLASS_DIR / names[0] / self.names[index]
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(self.files[index], target)

    def finish(self) -> None:
        ranks = [name for k in range(1, self.top_k + 1) for name in (f"top{k}", f"top{k}_p")]
        header = ["file", "class", "class_index", "probability", *ranks]
        write_csv(self.out / PREDICTIONS_FILE, header, self.rows)


class SegmentationFiles(PredictionFiles):
    """A palette mask PNG and an overlay PNG per image; class_pixels.csv with pixel counts."""

    def __init__(
        self,
        files: list[Path],
        names: list[Path],
        out: Path,
        class_names: list[str],
        palette: list[list[int]],
    ) -> None:
        super().__init__(files, names, out)
        self.class_names, self.palette = class_names, palette
        self.rows: list[list[Any]] = []

    def write_batch(self, prediction: Batch) -> None:
        for index, mask, image in zip(
            prediction["indices"], prediction["masks"], prediction["images"], strict=True
        ):
            classes = mask.numpy()
            write_png(
                self.out / MASKS_DIR / self.png_name(index), mask_image(classes, self.palette)
            )
            overlay = overlay_image(image, classes, self.palette)
            write_png(self.out / OVERLAYS_DIR / self.png_name(index), overlay)
            counts = np.bincount(classes.ravel(), minlength=len(self.class_names))
            self.rows.append([str(self.files[index]), *classes.shape, *counts.tolist()])

    def finish(self) -> None:
        header = ["file", "height", "width", *(f"pixels_{name}" for name in self.class_names)]
        write_csv(self.out / CLASS_PIXELS_FILE, header, self.rows)


class AutoencoderFiles(PredictionFiles):
    """Reconstruction PNGs, latents.npy + latents.csv, reconstruction errors (highest first)."""

    def __init__(self, files: list[Path], names: list[Path], out: Path) -> None:
        super().__init__(files, names, out)
        self.indices: list[int] = []
        self.latents: list[Tensor] = []
        self.errors_per_image: list[float] = []

    def write_batch(self, prediction: Batch) -> None:
        for index, image in zip(prediction["indices"], prediction["reconstructions"], strict=True):
            pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8)
            array = pixels.permute(1, 2, 0).squeeze(-1).numpy()
            write_png(self.out / RECONSTRUCTIONS_DIR / self.png_name(index), Image.fromarray(array))
        self.indices += prediction["indices"]
        self.latents.append(prediction["latents"])
        self.errors_per_image += prediction["errors"].tolist()

    def finish(self) -> None:
        files = [str(self.files[i]) for i in self.indices]
        latents = torch.cat(self.latents).numpy() if self.latents else np.zeros((0, 0))
        write_atomic(self.out / LATENTS_FILE, lambda handle: np.save(handle, latents))
        write_csv(self.out / LATENTS_TABLE, ["row", "file"], list(enumerate(files)))
        ranked = sorted(zip(files, self.errors_per_image, strict=True), key=lambda r: -r[1])
        rows = [[rank, file, error] for rank, (file, error) in enumerate(ranked, start=1)]
        write_csv(self.out / RECONSTRUCTION_ERRORS_FILE, ["rank", "file", "mse"], rows)
