"""torchvision classifiers (ResNet, MobileNet, EfficientNet, ...) by name, sized to the data."""

from __future__ import annotations

import torch
import torchvision
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.models.pretrained import load_weights_file, require_torchvision_weights

CLASSIFIER_FAMILIES = ("resnet", "mobilenet", "efficientnet")


def torchvision_classifier(
    name: str,
    num_classes: int,
    in_channels: int = 3,
    weights: str | None = None,
    weights_file: str | None = None,
) -> nn.Module:
    """Build `torchvision.models.<name>` with a new head for `num_classes` and `in_channels` input.

    Known weights come from torchvision's `weights` (e.g. IMAGENET1K_V1, cached in TORCH_HOME;
    offline and not cached: a fast error) or from `weights_file`, a saved state dict of the
    same architecture. A grey-scale input keeps pretrained first-layer filters by summing them
    over RGB.
    """
    available = torchvision.models.list_models(module=torchvision.models)
    if name not in available:
        raise ConfigError(
            f"unknown torchvision model {name!r}; available include: "
            f"{', '.join(m for m in available if m.startswith(CLASSIFIER_FAMILIES))}"
        )
    if weights is not None:
        require_torchvision_weights(name, weights)
    model = torchvision.models.get_model(name, weights=weights)
    if weights_file is not None:
        load_weights_file(model, weights_file)
    if in_channels != 3:
        _adapt_first_conv(model, in_channels)
    replace_head(model, num_classes)
    return model


def _adapt_first_conv(model: nn.Module, in_channels: int) -> None:
    parent, attr, conv = _first(model, nn.Conv2d)
    new = nn.Conv2d(
        in_channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        conv.groups,
        conv.bias is not None,
    )
    with torch.no_grad():
        mean_filter = conv.weight.sum(dim=1, keepdim=True) / in_channels
        new.weight.copy_(mean_filter.repeat(1, in_channels, 1, 1))
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    setattr(parent, attr, new)


def replace_head(model: nn.Module, num_classes: int) -> None:
    """Swap the last fully connected layer for a random one with `num_classes` outputs."""
    parent, attr, linear = _last(model, nn.Linear)
    setattr(parent, attr, nn.Linear(linear.in_features, num_classes))


def _first(model: nn.Module, kind: type) -> tuple[nn.Module, str, nn.Module]:
    return next(_modules_of(model, kind))


def _last(model: nn.Module, kind: type) -> tuple[nn.Module, str, nn.Module]:
    found = list(_modules_of(model, kind))
    if not found:
        raise ConfigError(f"{type(model).__name__} has no {kind.__name__} layer to replace")
    return found[-1]


def _modules_of(model: nn.Module, kind: type):
    for name, module in model.named_modules():
        if isinstance(module, kind):
            parent_name, _, attr = name.rpartition(".")
            yield model.get_submodule(parent_name), attr, module
