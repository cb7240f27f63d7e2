"""Known weights from torchvision/timm/smp: cached or local files load; missing ones fail fast."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import timm
import torch
import torchvision
from safetensors.torch import save_file

from cnnlab.errors import CheckpointError, ConfigError
from cnnlab.models.pretrained import reachable, require_smp_encoder_weights, timm_classifier
from cnnlab.models.torchvision_models import torchvision_classifier

FAST_S = 5.0


@pytest.fixture
def empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty TORCH_HOME and Hugging Face caches on a machine that declares itself offline."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def test_torchvision_resnet18_from_a_local_weights_file(tmp_path: Path) -> None:
    source = torchvision.models.resnet18()
    torch.save(source.state_dict(), tmp_path / "resnet18.pth")
    model = torchvision_classifier("resnet18", 2, weights_file=str(tmp_path / "resnet18.pth"))
    assert torch.equal(model.layer4[1].conv2.weight, source.layer4[1].conv2.weight)
    assert torch.equal(model.bn1.running_var, source.bn1.running_var)
    assert model.fc.out_features == 2


def test_a_weights_file_of_another_architecture_is_a_clear_error(tmp_path: Path) -> None:
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), tmp_path / "m.pth")
    with pytest.raises(CheckpointError, match="does not hold the weights of a ResNet"):
        torchvision_classifier("resnet18", 2, weights_file=str(tmp_path / "m.pth"))


def test_timm_model_from_a_local_weights_file_with_new_head_and_grey_input(tmp_path: Path) -> None:
    source = timm.create_model("resnet18")
    torch.save(source.state_dict(), tmp_path / "timm_resnet18.pth")
    model = timm_classifier(
        "resnet18", 3, in_channels=1, weights_file=str(tmp_path / "timm_resnet18.pth")
    )
    assert torch.equal(model.layer1[0].conv1.weight, source.layer1[0].conv1.weight)
    assert model.conv1.in_channels == 1 and model.get_classifier().out_features == 3


def test_timm_weights_found_in_the_hub_cache_load_offline(empty_caches: Path) -> None:
    source = timm.create_model("resnet18")
    snapshot = empty_caches / "hf" / "hub" / "models--timm--resnet18.a1_in1k"
    (snapshot / "snapshots" / "abc123").mkdir(parents=True)
    (snapshot / "refs").mkdir()
    (snapshot / "refs" / "main").write_text("abc123")
    save_file(source.state_dict(), snapshot / "snapshots" / "abc123" / "model.safetensors")
    start = time.perf_counter()
    model = timm_classifier("resnet18", 5, pretrained=True)
    assert time.perf_counter() - start < FAST_S
    assert torch.equal(model.layer3[1].conv2.weight, source.layer3[1].conv2.weight)
    assert model.get_classifier().out_features == 5


@pytest.mark.parametrize(
    ("build", "cache_named", "turn_off"),
    [
        (
            lambda: torchvision_classifier("resnet18", 2, weights="IMAGENET1K_V1"),
            "torch/hub",
            "model.weights=null",
        ),
        (
            lambda: timm_classifier("resnet18", 2, pretrained=True),
            "hf/hub",
            "model.pretrained=false",
        ),
        (
            lambda: require_smp_encoder_weights("resnet18", "imagenet"),
            "hf/hub",
            "model.encoder_weights=null",
        ),
        (
            lambda: require_smp_encoder_weights("tu-resnet18", "imagenet"),
            "hf/hub",
            "model.encoder_weights=null",
        ),
    ],
    ids=["torchvision", "timm", "smp", "smp_timm_encoder"],
)
def test_missing_pretrained_weights_offline_fail_fast(
    empty_caches: Path, build, cache_named: str, turn_off: str
) -> None:
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as error:
        build()
    assert time.perf_counter() - start < FAST_S
    message = str(error.value)
    assert f"{empty_caches}/{cache_named}" in message
    assert "model.weights_file=PATH" in message and "HF_HUB_OFFLINE" in message
    assert f"train from random weights: {turn_off})" in message  # the key of this model family


def test_an_unreachable_host_is_detected_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HF_HUB_OFFLINE", "CNNLAB_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    start = time.perf_counter()
    assert not reachable("weights.invalid")  # .invalid never resolves (RFC 2606)
    assert time.perf_counter() - start < FAST_S


def test_unknown_weight_names_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="IMAGENET1K_V1"):
        torchvision_classifier("resnet18", 2, weights="IMAGENET_V9")
    with pytest.raises(ConfigError, match=r"no 'instagram' weights.*model\.encoder_weights=null"):
        require_smp_encoder_weights("resnet18", "instagram")
