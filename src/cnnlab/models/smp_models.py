"""segmentation-models-pytorch architectures (Unet, UnetPlusPlus, FPN, DeepLabV3Plus, ...) by name.

The model is named by two arguments, `arch` and `encoder_name`; `weights` are the encoder's
(smp's decoders start random). smp downloads pretrained encoder weights from the Hugging Face
Hub, which offline retries for about half a minute before failing; the cache is looked up
first here, and a missing file fails at once with what to do instead (`weights`=PATH, a local
copy of the encoder's weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import segmentation_models_pytorch as smp
from segmentation_models_pytorch.encoders import encoders
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.models.legacy import renamed
from cnnlab.models.timm_models import cached_timm_weights
from cnnlab.models.weights import DEFAULT, load_weights_file, local_file, require_hf_file

TIMM_PREFIX = "tu-"  # smp's name for any timm model used as an encoder


def smp_model(
    arch: str,
    encoder_name: str = "resnet34",
    weights: str | None = None,
    in_channels: int = 3,
    num_classes: int = 1,
    encoder_weights: str | None = None,
    classes: int | None = None,
    weights_file: str | None = None,
    **kwargs: Any,
) -> nn.Module:
    """`smp.create_model(arch, encoder_name, ...)` with clear errors and offline-safe weights.

    `weights`: null, smp's pretrained encoder weights by name (`imagenet`; `default`: the
    encoder's first listed set), or the path of an encoder state dict (e.g. the
    `model.safetensors` of the smp-hub repository, copied from a machine with internet).
    `num_classes`: output channels per pixel. Extra keyword arguments go to the architecture
    (e.g. `decoder_channels`, `encoder_depth`). encoder_weights, weights_file and classes are
    deprecated spellings of `weights` and `num_classes`.
    """
    weights = renamed("encoder_weights", "`weights`", encoder_weights, weights)
    weights = renamed("weights_file", "`weights`=PATH", weights_file, weights)
    num_classes = renamed("classes", "`num_classes`", classes, num_classes)
    architectures = smp.MODEL_ARCHITECTURES_MAPPING
    if arch.lower() not in architectures:
        names = ", ".join(a.__name__ for a in architectures.values())
        raise ConfigError(f"unknown smp architecture `arch`={arch!r}: choose one of {names}")
    if not encoder_name.startswith(TIMM_PREFIX) and encoder_name not in encoders:
        raise ConfigError(
            f"unknown smp encoder `encoder_name`={encoder_name!r}: e.g. resnet18, resnet34, "
            "efficientnet-b0, mobilenet_v2, or any timm model as 'tu-<name>'"
        )
    file = local_file(weights)
    if file is not None:
        return _with_weights_file(arch, encoder_name, in_channels, num_classes, file, kwargs)
    weights = cached_encoder_weights(encoder_name, weights)
    try:
        return smp.create_model(arch, encoder_name, weights, in_channels, num_classes, **kwargs)
    except (KeyError, ValueError, TypeError) as error:
        raise ConfigError(f"smp cannot build {arch} with {encoder_name}: {error}") from None


def cached_encoder_weights(encoder_name: str, weights: str | None) -> str | None:
    """smp's name of the encoder weights `weights` asks for; raise unless they can be had.

    `tu-` encoders are timm models, looked up as timm looks them up.
    """
    if weights is None:
        return None
    if encoder_name.startswith(TIMM_PREFIX):
        cached_timm_weights(encoder_name.removeprefix(TIMM_PREFIX))
        return weights
    available = encoders[encoder_name].get("pretrained_settings", {})
    name = next(iter(available), weights) if weights.lower() == DEFAULT else weights
    if name not in available:
        raise ConfigError(
            f"`weights`={weights!r} is not a weight set of smp's encoder {encoder_name}: choose "
            f"one of default, {', '.join(available) or '(none)'}, or the path of an encoder state "
            "dict"
        )
    settings = available[name]
    what = f"smp encoder {encoder_name} ({name})"
    require_hf_file(settings["repo_id"], ("model.safetensors",), what, settings.get("revision"))
    return name


def _with_weights_file(
    arch: str,
    encoder_name: str,
    in_channels: int,
    num_classes: int,
    file: Path,
    kwargs: dict[str, Any],
) -> nn.Module:
    """Build with a 3-channel encoder, load the file into it, then adapt the first conv.

    This is the order smp itself uses for hub weights, so a 1-channel model keeps the
    pretrained RGB filters (summed) rather than starting its first layer from scratch.
    """
    model = smp.create_model(arch, encoder_name, None, 3, num_classes, **kwargs)
    load_weights_file(model.encoder, file, f"{encoder_name} encoder")
    model.encoder.set_in_channels(in_channels, pretrained=True)
    return model
