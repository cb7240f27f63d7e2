"""torchvision classifiers (ResNet, MobileNet, EfficientNet, ...) by name, sized to the data."""

from __future__ import annotations

from urllib.parse import urlparse

import torch
import torchvision
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.models.legacy import renamed
from cnnlab.models.parts import replace_head
from cnnlab.models.weights import (
    DEFAULT,
    cached_url_file,
    load_weights_file,
    local_file,
    require_download,
)

CLASSIFIER_FAMILIES = ("resnet", "mobilenet", "efficientnet")
IMAGENET = "imagenet"  # torchvision's classification weights are all ImageNet-trained


def torchvision_classifier(
    name: str,
    num_classes: int,
    in_channels: int = 3,
    weights: str | None = None,
    weights_file: str | None = None,
) -> nn.Module:
    """Build `torchvision.models.<name>` with a new head for `num_classes` and `in_channels` input.

    `weights`: null, a torchvision weight set (`IMAGENET1K_V1`, `DEFAULT`; `default` and
    `imagenet` mean DEFAULT), cached in TORCH_HOME (offline and not cached: a fast error), or
    the path of a saved state dict of the same architecture. A grey-scale input keeps
    pretrained first-layer filters by summing them over RGB.
    weights_file: deprecated spelling of `weights`=PATH.
    """
    weights = renamed("weights_file", "`weights`=PATH", weights_file, weights)
    available = torchvision.models.list_models(module=torchvision.models)
    if name not in available:
        raise ConfigError(
            f"`name`={name!r} is not a torchvision model; available include: "
            f"{', '.join(m for m in available if m.startswith(CLASSIFIER_FAMILIES))}"
        )
    file = local_file(weights)
    weight_set = None if file is not None else cached_weight_set(name, weights)
    model = torchvision.models.get_model(name, weights=weight_set)
    if file is not None:
        load_weights_file(model, file)
    if in_channels != 3:
        _adapt_first_conv(model, in_channels)
    replace_head(model, num_classes)
    return model


def cached_weight_set(name: str, weights: str | None) -> str | None:
    """torchvision's name of the weight set `weights` asks for; raise if offline and not cached."""
    if weights is None:
        return None
    weight_set = "DEFAULT" if weights.lower() in (DEFAULT, IMAGENET) else weights
    try:
        enum = torchvision.models.get_model_weights(name)[weight_set]
    except KeyError:
        options = ", ".join(w.name for w in torchvision.models.get_model_weights(name))
        raise ConfigError(
            f"`weights`={weights!r} is not a weight set of torchvision's {name}: choose one "
            f"of default, {options}, or the path of a state dict"
        ) from None
    cached = cached_url_file(enum.url)
    if not cached.is_file():
        host = urlparse(enum.url).hostname
        require_download(f"torchvision {name} ({enum.name})", host, [cached])
    return weight_set


def _adapt_first_conv(model: nn.Module, in_channels: int) -> None:
    name, conv = next((n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d))
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
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent), attr, new)
