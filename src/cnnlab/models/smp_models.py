"""segmentation-models-pytorch architectures (Unet, UnetPlusPlus, FPN, DeepLabV3Plus, ...) by name.

smp downloads pretrained encoder weights from the Hugging Face Hub. On a machine without
internet that download retries for about half a minute before failing with a message about
the Hub; `cnnlab.models.pretrained` looks in the cache first and fails at once with what to do
instead (e.g. `model.weights_file`, a local copy of the encoder's weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import segmentation_models_pytorch as smp
import torch
from safetensors.torch import load_file
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.models.pretrained import require_smp_encoder_weights


def smp_model(
    arch: str,
    encoder_name: str = "resnet34",
    encoder_weights: str | None = None,
    in_channels: int = 3,
    classes: int = 1,
    weights_file: str | None = None,
    **kwargs: Any,
) -> nn.Module:
    """`smp.create_model(arch, encoder_name, ...)` with clear errors and offline-safe weights.

    `encoder_weights` names smp's pretrained weights (e.g. "imagenet"); `weights_file` instead
    loads an encoder state dict from a local file (e.g. the `model.safetensors` of the smp-hub
    repository, copied from a machine with internet). Extra keyword arguments go to the
    architecture (e.g. `decoder_channels`, `encoder_depth`).
    """
    architectures = smp.MODEL_ARCHITECTURES_MAPPING
    if arch.lower() not in architectures:
        names = ", ".join(a.__name__ for a in architectures.values())
        raise ConfigError(f"unknown smp architecture model.arch={arch!r}; choose one of {names}")
    if not encoder_name.startswith("tu-") and encoder_name not in smp.encoders.encoders:
        raise ConfigError(
            f"unknown smp encoder model.encoder_name={encoder_name!r}; e.g. resnet18, resnet34, "
            "efficientnet-b0, mobilenet_v2, or any timm model as 'tu-<name>'"
        )
    if weights_file is not None:
        return _with_weights_file(arch, encoder_name, in_channels, classes, weights_file, kwargs)
    if encoder_weights is not None:
        require_smp_encoder_weights(encoder_name, encoder_weights)
    try:
        return smp.create_model(arch, encoder_name, encoder_weights, in_channels, classes, **kwargs)
    except (KeyError, ValueError, TypeError) as error:
        raise ConfigError(f"smp cannot build {arch} with {encoder_name}: {error}") from None


def _with_weights_file(
    arch: str, encoder_name: str, in_channels: int, classes: int, path: str, kwargs: dict[str, Any]
) -> nn.Module:
    """Build with a 3-channel encoder, load the file into it, then adapt the first conv.

    This is the order smp itself uses for hub weights, so a 1-channel model keeps the
    pretrained RGB filters (summed) rather than starting its first layer from scratch.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(
            f"model.weights_file={path} does not exist: give the path of a weights file"
        )
    model = smp.create_model(arch, encoder_name, None, 3, classes, **kwargs)
    try:
        state = (
            load_file(file)
            if file.suffix == ".safetensors"
            else torch.load(file, weights_only=True)
        )
        model.encoder.load_state_dict(state)
    except Exception as error:  # safetensors, pickle and shape errors alike
        first_line = str(error).splitlines()[0]
        raise ConfigError(
            f"model.weights_file={path} is not an encoder state dict for {encoder_name}: "
            f"{first_line}"
        ) from None
    model.encoder.set_in_channels(in_channels, pretrained=True)
    return model
