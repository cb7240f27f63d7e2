"""The from-scratch U-Net: shapes, real skip concatenations, clear errors for bad sizes."""

from __future__ import annotations

import pytest
import torch

from cnnlab.errors import ConfigError
from cnnlab.models.unet import UNet


@pytest.mark.parametrize(
    ("depth", "size", "upsampling"),
    [(1, 6, "transpose"), (2, 20, "bilinear"), (3, 32, "transpose"), (4, 48, "bilinear")],
)
def test_output_has_the_input_size_and_one_channel_per_class(depth, size, upsampling):
    model = UNet(in_channels=3, num_classes=5, depth=depth, base_channels=4, upsampling=upsampling)
    out = model(torch.randn(2, 3, size, size))
    assert out.shape == (2, 5, size, size)


def test_non_square_inputs_work():
    model = UNet(in_channels=1, num_classes=2, depth=2, base_channels=4)
    assert model(torch.randn(1, 1, 16, 28)).shape == (1, 2, 16, 28)


@pytest.mark.parametrize("upsampling", ["transpose", "bilinear"])
def test_every_decoder_level_concatenates_the_encoder_features_of_its_resolution(upsampling):
    model = UNet(in_channels=1, num_classes=3, depth=3, base_channels=8, upsampling=upsampling)
    encoder_outputs, decoder_inputs = [], []
    for module in [model.stem, *model.down]:
        module.register_forward_hook(lambda m, i, o: encoder_outputs.append(o.shape))
    for up in model.up:
        up.conv.register_forward_hook(lambda m, i, o: decoder_inputs.append(i[0].shape))
    model(torch.randn(1, 1, 32, 32))

    # encoder: 8 @32, 16 @16, 32 @8, bottleneck 64 @4; decoder levels run from deep to shallow
    assert [s[1:] for s in encoder_outputs] == [(8, 32, 32), (16, 16, 16), (32, 8, 8), (64, 4, 4)]
    skips = list(reversed(encoder_outputs[:-1]))
    for decoder_input, skip in zip(decoder_inputs, skips, strict=True):
        # half the channels come from upsampling, the other half are the skip's
        assert decoder_input[1] == 2 * skip[1]
        assert decoder_input[2:] == skip[2:]
    assert [up.conv[0].in_channels for up in model.up] == [64, 32, 16]


def test_the_skip_carries_information_the_decoder_uses():
    """Zeroing the first skip changes the output: the concatenation is not decorative."""
    torch.manual_seed(0)
    model = UNet(in_channels=1, num_classes=2, depth=2, base_channels=4).eval()
    x = torch.randn(1, 1, 16, 16)
    reference = model(x)
    model.up[-1].register_forward_pre_hook(lambda m, args: (args[0], torch.zeros_like(args[1])))
    assert not torch.allclose(model(x), reference)


def test_a_size_not_divisible_by_two_to_the_depth_is_a_clear_config_error():
    model = UNet(in_channels=1, num_classes=2, depth=3, base_channels=4)
    with pytest.raises(ConfigError, match=r"divisible by 8, got 30x30.*multiple of 8.*32") as error:
        model(torch.randn(1, 1, 30, 30))
    # the message names the argument, which the pipeline turns into its config path
    assert "`depth`=3" in error.value.message and error.value.message.endswith("lower `depth`")
    assert "model.depth=3" in str(error.value.at("model")) and "model." not in str(error.value)


def test_invalid_constructor_arguments_are_config_errors():
    with pytest.raises(ConfigError, match=r"^depth=0"):
        UNet(in_channels=1, num_classes=2, depth=0)
    with pytest.raises(ConfigError, match="transpose"):
        UNet(in_channels=1, num_classes=2, upsampling="nearest")  # type: ignore[arg-type]
