"""Catalogue: bad inputs to cnnlab-predict and cnnlab-export.

Each case ends in one sentence (exit 2) before any prediction or export, and leaves the run it
read unchanged. A parity failure is not such a mistake: it exits 1 (tests/inference).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from cnnlab.errors import CheckpointError, ConfigError
from cnnlab.inference.deploy import export_checkpoint
from cnnlab.inference.images import read_image
from cnnlab.inference.predict import PredictOptions, predict
from cnnlab.runs.checkpoints import CONFIG_KEY
from tests.conftest import run_cli
from tests.robustness.conftest import assert_one_sentence_error, assert_unchanged, snapshot

BEST = Path("checkpoints/best.ckpt")


def test_predict_on_a_folder_without_files(finished_run: Path, outputs: Path) -> None:
    empty = outputs / "empty"
    empty.mkdir()
    before = snapshot(finished_run)
    result = run_cli(
        "predict", f"ckpt_path={finished_run}", f"input={empty}", cwd=outputs, check=False
    )
    assert_one_sentence_error(result, f"no files in folder {empty}", "give input= an image file")
    assert_unchanged(before, finished_run)


def test_export_to_an_unknown_format(finished_run: Path, outputs: Path) -> None:
    result = run_cli(
        "export", f"ckpt_path={finished_run}", "format=keras", cwd=outputs, check=False
    )
    assert_one_sentence_error(result, "format=keras is not one of onnx, torchscript")


def test_a_checkpoint_of_a_task_cnnlab_cannot_predict_with(
    finished_run: Path, tmp_path: Path
) -> None:
    checkpoint = torch.load(finished_run / BEST, weights_only=True)
    checkpoint[CONFIG_KEY]["task"]["_target_"] = "collections.OrderedDict"
    foreign = tmp_path / "foreign.ckpt"
    torch.save(checkpoint, foreign)
    Image.new("L", (8, 8)).save(tmp_path / "image.png")
    with pytest.raises(CheckpointError) as raised:
        predict(
            str(foreign), str(tmp_path / "image.png"), tmp_path / "out", PredictOptions(trust=True)
        )
    assert str(raised.value) == (
        f"{foreign} is a checkpoint of task collections.OrderedDict, which cnnlab cannot "
        "predict with or export: use a run trained with task=classification, finetune, "
        "segmentation or autoencoder"
    )
    assert not (tmp_path / "out").exists()


def test_an_image_for_a_model_whose_channels_files_cannot_have(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "image.png")
    with pytest.raises(ConfigError, match="2-channel images, which image files cannot be"):
        read_image(tmp_path / "image.png", channels=2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (PredictOptions(overlap=1.0), "`overlap`=1.0 must be at least 0 and below 1"),
        (PredictOptions(top_k=0), "top_k=0 and batch_size=32 must be at least 1"),
        (PredictOptions(device="tpu"), "device=tpu is not one of auto, cpu, cuda, gpu"),
    ],
)
def test_predict_options_out_of_range(
    options: PredictOptions, message: str, finished_run: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=None) as raised:
        predict(str(finished_run / BEST), str(tmp_path), tmp_path / "out", options)
    assert message.replace("`", "") in str(raised.value)


def test_check_only_without_an_exported_file(finished_run: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="check_only=true checks an exported file, but"):
        export_checkpoint(finished_run / BEST, "torchscript", tmp_path / "none.pt", check_only=True)


def test_check_only_on_a_file_that_is_no_exported_model(finished_run: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "model.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match=f"cannot load the exported model {garbage}"):
        export_checkpoint(finished_run / BEST, "onnx", garbage, check_only=True)
