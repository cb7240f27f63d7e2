"""Catalogue: bad `model.weights` and model sizes end in one sentence, exit 2, nothing lost.

Each case runs `cnnlab.cli.train` as a user types it, offline, with empty weight caches. Errors
raised while the model is built name the config path of the argument (`model.weights`,
`model.encoder.channels`); the U-Net's size check runs on the first batch, after building.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from tests.conftest import run_cli
from tests.robustness.conftest import assert_one_sentence_error, assert_unchanged, snapshot

CLASSIFIER = ["model=resnet18", "data.image_size=32", "trainer.max_epochs=1"]
SEGMENTER = ["task=segmentation", "data=digit_canvas", "data.num_images=40", "trainer.max_epochs=1"]
CASES = {
    "missing_file": (
        [*CLASSIFIER, "model.weights=missing.pth"],
        ["model.weights=missing.pth is not a file", "set model.weights=null"],
    ),
    "missing_file_old_key": (
        [*CLASSIFIER, "model.weights_file=missing.pth"],
        ["model.weights=missing.pth is not a file"],
    ),
    "file_of_another_architecture": (
        [*CLASSIFIER, "model.weights={tmp}/mobilenet.pth"],
        ["mobilenet.pth does not hold the weights of a ResNet", "same architecture"],
    ),
    "unknown_weight_set": (
        [*CLASSIFIER, "model.weights=IMAGENET_V9"],
        [
            "model.weights='IMAGENET_V9' is not a weight set of torchvision's resnet18",
            "IMAGENET1K_V1",
        ],
    ),
    "timm_not_cached_offline": (
        ["model=timm", "data.image_size=32", "model.weights=default"],
        ["timm resnet18 are not cached", "HF_HUB_OFFLINE", "with model.weights=null"],
    ),
    "smp_not_cached_offline": (
        [*SEGMENTER, "model=smp_unet", "data.image_size=32", "model.weights=imagenet"],
        ["smp encoder resnet18 (imagenet) are not cached", "with model.weights=null"],
    ),
    "autoencoder_too_deep": (
        ["experiment=digits_ae", "data.image_size=8", "model.encoder.channels=[8,8,8,8]"],
        ["shrink a 8px image to nothing", "use fewer model.encoder.channels"],
    ),
    "unet_size": (
        [*SEGMENTER, "model=unet", "data.image_size=30"],
        ["depth=3 needs image sides divisible by 8, got 30x30", "32", "lower "],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_model_input_is_one_sentence(
    case: str, outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), tmp_path / "mobilenet.pth")
    (outputs / "earlier_run").mkdir()
    (outputs / "earlier_run" / "metrics.json").write_text('{"test/acc": 0.9}')
    before = snapshot(tmp_path)
    overrides, fragments = CASES[case]
    result = run_cli(
        "train", *(o.format(tmp=tmp_path) for o in overrides), cwd=tmp_path, check=False
    )
    assert_one_sentence_error(result, *fragments)
    assert_unchanged(before, tmp_path)
