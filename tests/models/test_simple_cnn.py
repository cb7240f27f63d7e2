"""The configurable classifier adapts to any input size and swaps its head."""

from __future__ import annotations

import pytest
import torch

from cnnlab.models.simple_cnn import SimpleCNN


@pytest.mark.parametrize(
    ("in_channels", "size", "channels"), [(1, 8, [16]), (3, 32, [8, 16, 32]), (1, 28, [4, 8])]
)
def test_output_shape_for_any_input(in_channels: int, size: int, channels: list[int]) -> None:
    model = SimpleCNN(in_channels, 7, size, channels=channels, hidden=[32, 16])
    assert model(torch.rand(5, in_channels, size, size)).shape == (5, 7)


def test_options_change_the_layers() -> None:
    plain = SimpleCNN(1, 10, 16, batch_norm=False, pool="avg", hidden=[])
    kinds = {type(m).__name__ for m in plain.modules()}
    assert "BatchNorm2d" not in kinds and "AvgPool2d" in kinds
    assert plain.neck[-1].__class__.__name__ == "Flatten"  # no hidden layers: straight to the head


def test_reset_classifier_keeps_features() -> None:
    model = SimpleCNN(1, 10, 16).eval()  # eval: the forward below must not move BN statistics
    features = {k: v.clone() for k, v in model.features.state_dict().items()}
    model.reset_classifier(3)
    assert model.get_classifier().out_features == 3
    assert model(torch.rand(2, 1, 16, 16)).shape == (2, 3)
    assert all(torch.equal(v, model.features.state_dict()[k]) for k, v in features.items())


@pytest.mark.parametrize("global_pool", ["max", "avg"])
def test_global_pooling_sees_what_not_where(global_pool: str) -> None:
    model = SimpleCNN(1, 5, 32, channels=[8, 16], hidden=[], global_pool=global_pool).eval()
    assert model.get_classifier().in_features == 16  # one number per feature map
    blob = torch.zeros(1, 1, 32, 32)
    blob[..., 4:12, 4:12] = torch.rand(8, 8)
    moved = blob.roll(shifts=(12, 8), dims=(2, 3))  # by multiples of the 4-pixel pooling stride
    with torch.no_grad():
        assert torch.allclose(model(blob), model(moved), atol=1e-6)
        flat = SimpleCNN(1, 5, 32, channels=[8, 16], hidden=[]).eval()
        assert not torch.allclose(flat(blob), flat(moved), atol=1e-3)
