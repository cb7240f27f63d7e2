"""torchvision classifiers by name, adapted to the data's channels and classes."""

from __future__ import annotations

import pytest
import torch

from cnnlab.errors import ConfigError
from cnnlab.models.torchvision_models import torchvision_classifier


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "efficientnet_b0"])
@pytest.mark.parametrize("in_channels", [1, 3])
def test_families_take_channels_and_classes(name: str, in_channels: int) -> None:
    model = torchvision_classifier(name, num_classes=4, in_channels=in_channels).eval()
    with torch.no_grad():
        assert model(torch.rand(2, in_channels, 32, 32)).shape == (2, 4)


def test_unknown_name_lists_options() -> None:
    with pytest.raises(ConfigError) as error:
        torchvision_classifier("resnet7", num_classes=2)
    assert str(error.value.at("model")).startswith("model.name='resnet7' is not a torchvision")
    assert "resnet18" in str(error.value)
