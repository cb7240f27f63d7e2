"""segmentation-models-pytorch models by config: shapes, errors, offline weights, local weights."""

from __future__ import annotations

import time

import pytest
import torch
from safetensors.torch import save_file

from cnnlab.errors import CnnlabError, ConfigError
from cnnlab.models.smp_models import smp_model


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize("arch", ["Unet", "UnetPlusPlus", "FPN", "DeepLabV3Plus"])
def test_architectures_by_name_give_per_pixel_logits(arch):
    model = smp_model(arch, "resnet18", None, in_channels=1, classes=11).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, 64, 64)).shape == (1, 11, 64, 64)


def test_unknown_architecture_or_encoder_is_a_config_error():
    with pytest.raises(ConfigError, match=r"unknown smp architecture.*Unet"):
        smp_model("Unetz", "resnet18")
    with pytest.raises(ConfigError, match=r"unknown smp encoder.*resnet18"):
        smp_model("Unet", "resnet17")


def test_imagenet_weights_offline_fail_fast_naming_the_cache_and_weights_file(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    start = time.monotonic()
    with pytest.raises(CnnlabError) as raised:
        smp_model("Unet", "resnet18", "imagenet", in_channels=3, classes=2)
    assert time.monotonic() - start < 5
    message = str(raised.value)
    assert str(tmp_path / "empty-cache") in message
    assert "model.weights_file" in message


def test_a_local_encoder_weights_file_is_loaded_and_adapted_to_grey_input(tmp_path):
    source = smp_model("Unet", "resnet18", None, in_channels=3, classes=2)
    path = tmp_path / "model.safetensors"
    save_file(source.encoder.state_dict(), str(path))

    model = smp_model(
        "Unet", "resnet18", "imagenet", in_channels=1, classes=2, weights_file=str(path)
    )

    assert torch.equal(model.encoder.layer1[0].conv1.weight, source.encoder.layer1[0].conv1.weight)
    # the first conv's RGB filters are summed into one grey channel, as smp does for hub weights
    grey = source.encoder.conv1.weight.sum(dim=1, keepdim=True)
    assert torch.allclose(model.encoder.conv1.weight, grey)
    assert model.eval()(torch.randn(1, 1, 64, 64)).shape == (1, 2, 64, 64)


def test_a_weights_file_of_another_encoder_is_a_config_error(tmp_path):
    other = smp_model("Unet", "resnet34", None)
    path = tmp_path / "resnet34.pth"
    torch.save(other.encoder.state_dict(), path)
    with pytest.raises(
        ConfigError, match=r"resnet34.pth is not an encoder state dict for resnet18"
    ):
        smp_model("Unet", "resnet18", None, weights_file=str(path))
