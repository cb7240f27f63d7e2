"""timm models by name (`timm.create_model`), sized to the data, from cached or local weights.

timm itself replaces the classifier (`reset_classifier`) and adapts the first convolution to
`in_channels` when it loads known weights, from its hub or from a local file alike.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import timm
from timm.models import get_pretrained_cfg, split_model_name_tag
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.models.legacy import renamed
from cnnlab.models.parts import classifier_head
from cnnlab.models.weights import (
    DEFAULT,
    HF_HOST,
    cached_hf_file,
    cached_url_file,
    first_line,
    hf_cache_dir,
    local_file,
    read_state_dict,
    require_download,
    weights_mismatch,
)

HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
IMAGENET = "imagenet"  # timm's default tags of the classic CNNs are ImageNet-trained


def timm_classifier(
    name: str,
    num_classes: int,
    in_channels: int = 3,
    weights: str | None = None,
    pretrained: bool | None = None,
    weights_file: str | None = None,
) -> nn.Module:
    """`timm.create_model(name)` with a head for `num_classes` and `in_channels` input.

    `weights`: null, `default` (or `imagenet`: timm's default pretrained tag of `name`), a tag
    of `name` (`a1_in1k` as in `resnet18.a1_in1k`), or the path of a saved state dict of the
    architecture. Pretrained weights come from the Hugging Face cache (offline and not cached:
    a fast error). pretrained (true: `weights`=default) and weights_file (`weights`=PATH) are
    deprecated spellings.
    """
    flag = renamed("pretrained", "`weights`=default (or null)", pretrained, None)
    if flag is not None:
        weights = DEFAULT if flag else None
    weights = renamed("weights_file", "`weights`=PATH", weights_file, weights)
    if not timm.is_model(name):
        raise ConfigError(
            f"`name`={name!r} is not a timm model: see timm.list_models('{name[:4]}*')"
        )
    file = local_file(weights)
    state = read_state_dict(file) if file is not None else None
    source = file
    if file is None and weights is not None:
        name = tagged_name(name, weights)
        source = cached_timm_weights(name)
    try:
        model = timm.create_model(
            name,
            pretrained=weights is not None,
            num_classes=num_classes,
            in_chans=in_channels,
            pretrained_cfg_overlay={"file": str(source)} if source is not None else None,
        )
    except (RuntimeError, KeyError) as error:  # a tensor of another shape in a local file
        if file is None:
            raise
        raise weights_mismatch(file, f"timm {name}", first_line(error)) from None
    if state is not None:
        require_same_tensors(model, state, file, name)
    return model


def require_same_tensors(model: nn.Module, state: dict, file: Path, name: str) -> None:
    """Raise unless `state` names the tensors of `model`, its head aside.

    timm loads a file leniently (it logs unexpected keys and goes on), which would leave a model
    of another architecture silently random.
    """
    head = f"{classifier_head(model)[0]}."
    expected = {key for key in model.state_dict() if not key.startswith(head)}
    given = {key for key in state if not key.startswith(head)}
    if expected != given:
        odd = sorted(expected ^ given)
        detail = f"{len(odd)} tensor names differ, e.g. {odd[0]}"
        raise weights_mismatch(file, f"timm {name}", detail)


def tagged_name(name: str, weights: str) -> str:
    """`name` with the pretrained tag `weights` asks for (`default`/`imagenet`: timm's own)."""
    if weights.lower() in (DEFAULT, IMAGENET):
        return name
    architecture = split_model_name_tag(name)[0]
    tags = [split_model_name_tag(n)[1] for n in timm.list_pretrained(f"{architecture}.*")]
    if weights not in tags:
        raise ConfigError(
            f"`weights`={weights!r} is not a pretrained tag of timm's {architecture}: choose "
            f"default, {', '.join(tags) or '(none)'}, or the path of a state dict"
        )
    return f"{architecture}.{weights}"


def cached_timm_weights(name: str) -> Path | None:
    """The cached weight file of timm's `name` (None: timm may download it); raise if offline."""
    cfg = get_pretrained_cfg(name)
    if cfg is None or not (cfg.hf_hub_id or cfg.url):
        raise ConfigError(
            f"timm has no pretrained weights for {name!r}: set `weights`=null or the path of a "
            "state dict"
        )
    looked_in = []
    if cfg.hf_hub_id:
        files = (cfg.hf_hub_filename,) if cfg.hf_hub_filename else HF_WEIGHT_FILES
        found = cached_hf_file(cfg.hf_hub_id, files)
        if found is not None:
            return found
        looked_in.append(hf_cache_dir())
    if cfg.url:
        cached = cached_url_file(cfg.url)
        if cached.is_file():
            return cached
        looked_in.append(cached)
    host = HF_HOST if cfg.hf_hub_id else urlparse(cfg.url).hostname
    require_download(f"timm {name}", host, looked_in)
    return None
