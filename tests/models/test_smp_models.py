"""segmentation-models-pytorch models by config: shapes and errors (weights: test_weights.py)."""

from __future__ import annotations

import pytest
import torch

from cnnlab.errors import ConfigError
from cnnlab.models.smp_models import smp_model


@pytest.mark.parametrize("arch", ["Unet", "UnetPlusPlus", "FPN", "DeepLabV3Plus"])
def test_architectures_by_name_give_per_pixel_logits(arch):
    model = smp_model(arch, "resnet18", None, in_channels=1, num_classes=11).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, 64, 64)).shape == (1, 11, 64, 64)


def test_unknown_architecture_or_encoder_is_a_config_error_naming_the_argument():
    with pytest.raises(ConfigError, match=r"unknown smp architecture arch='Unetz'.*Unet"):
        smp_model("Unetz", "resnet18")
    with pytest.raises(ConfigError, match=r"unknown smp encoder encoder_name='resnet17'.*resnet18"):
        smp_model("Unet", "resnet17")
