"""Does the exported file compute what the PyTorch model computes? Both run on real batches of
the run's own test data; the largest absolute difference of any output decides (mmsegmentation
#2558, #3005: exported segmentation models whose outputs silently differ)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from cnnlab.errors import CheckpointError
from cnnlab.inference.export import INPUT_NAME, ExportedModel
from cnnlab.inference.sliding_window import model_stride

Runner = Callable[[Tensor], list[Tensor]]


@dataclass
class Parity:
    """The comparison's result: what cnnlab-export prints and records in the sidecar."""

    max_abs_diff: float
    agreement: float | None  # predicted classes (per image or pixel) that are the same
    images: int
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.max_abs_diff <= self.tolerance

    def record(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def load_exported(path: Path, format: str) -> Runner:
    """A function running the exported file on a batch, the way a deployment would: onnxruntime
    for ONNX, `torch.jit.load` for TorchScript. One sentence if the file cannot be loaded."""
    try:
        if format == "onnx":
            import onnxruntime

            session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            return lambda images: [
                torch.from_numpy(output)
                for output in session.run(None, {INPUT_NAME: images.numpy()})
            ]
        module = torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as error:  # onnxruntime and torch.jit raise their own types for bad files
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        raise CheckpointError(
            f"cannot load the exported model {path} ({first_line}): export it again"
        ) from None

    def run(images: Tensor) -> list[Tensor]:
        with torch.no_grad():
            output = module(images)
        return list(output) if isinstance(output, tuple) else [output]

    return run


def parity_batches(loader: Iterable[Any], model: ExportedModel, limit: int) -> list[Tensor]:
    """Up to `limit` test batches' images on the CPU; a fully convolutional model also gets
    the first batch grown by one stride, so its dynamic height and width are checked too."""
    batches = [batch[0].cpu() for _, batch in zip(range(limit), loader, strict=False)]
    if model.kind == "segmentation" and batches:
        stride = model_stride(model.model)
        batches.append(F.pad(batches[0], (0, stride, 0, stride), mode="replicate"))
    return batches


def compare(
    model: ExportedModel, exported: Runner, batches: list[Tensor], tolerance: float
) -> Parity:
    """Largest |exported - PyTorch| over every output and image, and the agreement of the
    predicted classes (classifiers: per image, segmentation: per pixel)."""
    largest, same, total, images = 0.0, 0, 0, 0
    for batch in batches:
        with torch.no_grad():
            expected = model(batch)
        expected = list(expected) if isinstance(expected, tuple) else [expected]
        actual = exported(batch)
        for want, got in zip(expected, actual, strict=True):
            if want.shape != got.shape:
                largest = math.inf
                continue
            difference = float((want - got.to(want.dtype)).abs().max())
            largest = max(largest, difference if math.isfinite(difference) else math.inf)
        if model.kind != "autoencoder" and expected[0].shape == actual[0].shape:
            agree = expected[0].argmax(dim=1) == actual[0].argmax(dim=1)
            same, total = same + int(agree.sum()), total + agree.numel()
        images += len(batch)
    agreement = same / total if total else None
    return Parity(largest, agreement, images, tolerance)
