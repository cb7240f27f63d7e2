"""cnnlab-export: ONNX and TorchScript files that compute what PyTorch computes, and a parity
check that notices when they do not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import numpy_helper

from cnnlab.inference.deploy import export_checkpoint
from cnnlab.pipeline import rebuild_from_checkpoint
from tests.conftest import run_cli

# torch.onnx's exporter takes several seconds per model: the default run exports the classifier
# to ONNX (and all three to TorchScript), `pytest -m slow` the U-Net and the autoencoder too
EXPORTS = [
    ("classifier", "onnx"),
    pytest.param("unet", "onnx", marks=pytest.mark.slow),
    pytest.param("autoencoder", "onnx", marks=pytest.mark.slow),
    ("classifier", "torchscript"),
    ("unet", "torchscript"),
    ("autoencoder", "torchscript"),
]


@pytest.mark.parametrize(("model", "format"), EXPORTS)
def test_exports_of_each_task_pass_the_parity_check(
    model: str, format: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    checkpoint: Path = request.getfixturevalue(model)
    out = tmp_path / f"model.{format}"
    parity = export_checkpoint(checkpoint, format, out, batches=2)

    assert parity.passed and parity.max_abs_diff <= 1e-4
    sidecar = json.loads(out.with_name(out.name + ".json").read_text())
    assert sidecar["parity"]["max_abs_diff"] == parity.max_abs_diff
    assert sidecar["source_checkpoint"] == str(checkpoint.resolve())
    # recomputed here: the exported file on a batch size it was not traced with
    task, datamodule = rebuild_from_checkpoint(checkpoint)
    images = datamodule.splits["test"][0][:5]
    assert sidecar["input"]["mean"] == pytest.approx(datamodule.mean)
    if model == "unet":  # fully convolutional: another height and width too
        images = torch.nn.functional.pad(images, (0, 16, 0, 8), mode="replicate")
        assert sidecar["input"]["dynamic_axes"] == ["batch", "height", "width"]
    with torch.no_grad():
        expected = task.eval().model(images)
    expected = expected[0] if model == "autoencoder" else expected  # the reconstruction
    if format == "onnx":
        session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        actual = torch.from_numpy(session.run(None, {"images": images.numpy()})[0])
    else:
        actual = torch.jit.load(str(out))(images)
        actual = actual[0] if model == "autoencoder" else actual
    assert (actual - expected).abs().max() <= 1e-4


def tamper_onnx(path: Path) -> None:
    """Change one weight of the first large initializer, as a bad conversion would."""
    model = onnx.load(str(path))
    weights = next(t for t in model.graph.initializer if np.prod(t.dims) > 100)
    array = numpy_helper.to_array(weights).copy()
    array.flat[0] += 0.5
    weights.CopyFrom(numpy_helper.from_array(array, weights.name))
    onnx.save(model, str(path))


def test_a_tampered_onnx_file_fails_the_check_with_exit_status_1(
    classifier: Path, tmp_path: Path
) -> None:
    out = tmp_path / "classifier.onnx"
    assert export_checkpoint(classifier, "onnx", out, batches=1).passed
    tamper_onnx(out)
    args = [f"ckpt_path={classifier}", "format=onnx", f"out={out}", "batches=1", "check_only=true"]

    result = run_cli("export", *args, cwd=tmp_path, check=False)

    assert result.returncode == 1, result.stderr
    assert "parity check failed" in result.stderr and "above tolerance=0.0001" in result.stderr


def test_a_tampered_torchscript_file_fails_the_check(autoencoder: Path, tmp_path: Path) -> None:
    out = tmp_path / "ae.pt"
    assert export_checkpoint(autoencoder, "torchscript", out, batches=1).passed
    module = torch.jit.load(str(out))
    with torch.no_grad():
        next(module.parameters()).view(-1)[0] += 0.5
    torch.jit.save(module, str(out))

    parity = export_checkpoint(autoencoder, "torchscript", out, batches=1, check_only=True)

    assert not parity.passed and parity.max_abs_diff > 1e-3
