"""cnnlab-export from end to end: rebuild, export, write the sidecar, check parity."""

from __future__ import annotations

from pathlib import Path

from cnnlab.console import console
from cnnlab.errors import ConfigError
from cnnlab.inference.export import ExportedModel, check_format, export_model, sidecar_record
from cnnlab.inference.kinds import Kind, task_kind
from cnnlab.inference.parity import Parity, compare, load_exported, parity_batches
from cnnlab.pipeline import rebuild_from_checkpoint
from cnnlab.runs.atomic import write_json_atomic
from cnnlab.runs.layout import sidecar


def export_checkpoint(
    ckpt_path: Path,
    format: str,
    out: Path,
    tolerance: float = 1e-4,
    batches: int = 8,
    check_only: bool = False,
    trust: bool = False,
) -> Parity:
    """Export the checkpoint's model to `out` (unless `check_only`: then the file already at
    `out` is checked) and compare it with PyTorch on up to `batches` test batches."""
    check_format(format)
    if tolerance < 0 or batches < 1:
        raise ConfigError(f"tolerance={tolerance} must be >= 0 and batches={batches} >= 1")
    if check_only and not out.is_file():
        raise ConfigError(f"check_only=true checks an exported file, but {out} does not exist")
    kinds: list[Kind] = []
    task, datamodule = rebuild_from_checkpoint(
        ckpt_path, trust, lambda config: kinds.append(task_kind(config, str(ckpt_path)))
    )
    model = ExportedModel(task.model.cpu(), kinds[0])
    datamodule.setup("test")
    test_images = parity_batches(datamodule.test_dataloader(), model, batches)
    record = sidecar_record(kinds[0], task.model, datamodule, format, out, ckpt_path)
    if not check_only:
        export_model(model, test_images[0], format, out)
        console.info(f"Wrote {out}")
    parity = compare(model, load_exported(out, format), test_images, tolerance)
    if not check_only:
        write_json_atomic(sidecar(out), {**record, "parity": parity.record()})
        console.info(f"Wrote {sidecar(out)}")
    agreement = "n/a" if parity.agreement is None else f"{parity.agreement:.4%}"
    console.info(
        f"Parity on {parity.images} test images: max abs diff {parity.max_abs_diff:.3g} "
        f"(tolerance {tolerance:g}), predicted classes agree {agreement}"
    )
    return parity
