"""cnnlab-export's work: a checkpoint's model as an ONNX or TorchScript file, a JSON sidecar
with what a user needs to feed it without cnnlab, and a parity check against PyTorch.

The batch axis is dynamic; so are height and width for a segmentation model (fully
convolutional: any multiple of its stride). The file is written atomically.
"""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cnnlab.data.base import ImageDataModule
from cnnlab.errors import ConfigError
from cnnlab.inference.kinds import Kind
from cnnlab.inference.palette import class_palette
from cnnlab.inference.sliding_window import model_stride
from cnnlab.runs.atomic import write_atomic

FORMATS = ("onnx", "torchscript")
INPUT_NAME = "images"
OUTPUT_NAMES: dict[Kind, list[str]] = {
    "classification": ["logits"],
    "segmentation": ["logits"],
    "autoencoder": ["reconstruction", "latent"],
}
ONNX_PACKAGES = ("onnx", "onnxruntime", "onnxscript")
ONNX_OPSET = 18


class ExportedModel(nn.Module):
    """The model as the exported file runs it: tensors out (an autoencoder's reconstruction and
    latent, not its NamedTuple), in eval mode (a VAE's latent is its mean)."""

    def __init__(self, model: nn.Module, kind: Kind) -> None:
        super().__init__()
        self.model, self.kind = model, kind
        self.eval()

    def forward(self, images: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        output = self.model(images)
        if self.kind == "autoencoder":
            return output.reconstruction, output.latent
        return output


def check_format(format: str) -> None:
    """One sentence for an unknown format, or for ONNX without the `export` extra installed."""
    if format not in FORMATS:
        raise ConfigError(f"format={format} is not one of {', '.join(FORMATS)}")
    missing = [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]
    if format == "onnx" and missing:
        raise ConfigError(
            f"format=onnx needs {', '.join(missing)}: install them with pip install "
            "'cnnlab[export]' (or export with format=torchscript)"
        )


def export_model(model: ExportedModel, example: Tensor, format: str, out: Path) -> None:
    """Write `model` to `out` with a dynamic batch axis (and height/width when fully
    convolutional), traced on `example`, a real batch of at least two images."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "torchscript":
        with torch.no_grad():
            traced = torch.jit.trace(model, example, check_trace=False)
        write_atomic(out, lambda handle: torch.jit.save(traced, handle))
        return
    import onnx

    axes: dict[int, Any] = {0: torch.export.Dim("batch", min=1, max=65536)}
    if model.kind == "segmentation":
        stride = model_stride(model.model)
        axes[2] = stride * torch.export.Dim("height_steps", min=1, max=4096)
        axes[3] = stride * torch.export.Dim("width_steps", min=1, max=4096)
    with torch.no_grad():
        program = torch.onnx.export(
            model,
            (example,),
            input_names=[INPUT_NAME],
            output_names=OUTPUT_NAMES[model.kind],
            dynamic_shapes={"images": axes},
            opset_version=ONNX_OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    assert program is not None  # no file given: torch returns the program
    write_atomic(out, lambda handle: onnx.save(program.model_proto, handle))


def sidecar_record(
    kind: Kind,
    model: nn.Module,
    datamodule: ImageDataModule,
    format: str,
    out: Path,
    ckpt_path: Path,
) -> dict[str, Any]:
    """Everything needed to use the exported file without cnnlab."""
    size = datamodule.image_size
    fully_convolutional = kind == "segmentation"
    record: dict[str, Any] = {
        "task": kind,
        "format": format,
        "file": out.name,
        "input": {
            "name": INPUT_NAME,
            "shape": ["batch", datamodule.in_channels, size, size],
            "dynamic_axes": ["batch", "height", "width"] if fully_convolutional else ["batch"],
            "height_width_multiple_of": model_stride(model) if fully_convolutional else None,
            "channels": datamodule.in_channels,
            "pixel_range": [0.0, 1.0],
            "resize_to": [size, size],
            "mean": list(datamodule.mean),
            "std": list(datamodule.std),
            "preprocess": "pixels / 255, resized to resize_to, then (x - mean) / std per channel",
        },
        "outputs": OUTPUT_NAMES[kind],
        "class_names": list(datamodule.class_names) if kind != "autoencoder" else None,
        "cnnlab_version": metadata.version("cnnlab"),
        "source_checkpoint": str(ckpt_path.resolve()),
        "source_run": str(ckpt_path.resolve().parent.parent),
    }
    if kind == "segmentation":
        record["palette"] = class_palette(
            getattr(datamodule, "palette", None), len(record["class_names"])
        )
        record["input"]["preprocess"] = (
            "pixels / 255, then (x - mean) / std per channel; any size whose height and width "
            "are multiples of height_width_multiple_of (pad, or tile large images)"
        )
    return record
