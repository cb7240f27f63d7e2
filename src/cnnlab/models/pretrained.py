"""Pretrained weights without waiting: find them in the caches first, fail fast when offline.

torchvision, timm and smp download missing weights on first use. Offline, timm spends about
50 s and smp about 26 s in hub retries before failing. Here every source is looked up in its
cache (TORCH_HOME for torchvision and timm URLs, the Hugging Face cache for timm and smp hub
weights) before the library is called; when the file is absent and the host cannot be reached
(or HF_HUB_OFFLINE / CNNLAB_OFFLINE is set), the user gets one sentence naming the cache and
`model.weights_file` within a second or two. A local weights file (a saved state dict) always
works offline.

`require_smp_encoder_weights` is the same check for segmentation-models-pytorch encoders.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import timm
import torch
import torchvision
from huggingface_hub import try_to_load_from_cache
from torch import nn

from cnnlab.errors import CheckpointError, ConfigError

HF_HOST = "huggingface.co"
PROBE_TIMEOUT_S = 1.5
HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
SMP_TURN_OFF = "model.encoder_weights=null"  # smp models train without encoder weights
_TRUE = {"1", "true", "yes", "on"}


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment at call time."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = (
        os.environ.get("HF_HOME")
        or Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "huggingface"
    )
    return Path(home).expanduser() / "hub"


def torch_cache_dir() -> Path:
    """Where torch.hub keeps downloads (torchvision, timm URLs): $TORCH_HOME/hub/checkpoints."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def declared_offline() -> bool:
    """HF_HUB_OFFLINE=1 or CNNLAB_OFFLINE=1: the user says there is no network; do not try."""
    return any(os.environ.get(k, "").lower() in _TRUE for k in ("HF_HUB_OFFLINE", "CNNLAB_OFFLINE"))


def reachable(host: str) -> bool:
    """One short TCP connect: False offline, within PROBE_TIMEOUT_S instead of minutes of retries.

    Behind a proxy a direct connect says nothing, so the download is left to the library.
    """
    if declared_offline():
        return False
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    try:
        socket.create_connection((host, 443), timeout=PROBE_TIMEOUT_S).close()
    except OSError:
        return False
    return True


def require_download(what: str, host: str, looked_in: list[Path], turn_off: str) -> None:
    """Raise CheckpointError unless `host` can be reached to download `what`.

    turn_off: the override that builds the model without these weights, e.g. model.weights=null.
    """
    if reachable(host):
        return
    why = (
        "HF_HUB_OFFLINE / CNNLAB_OFFLINE is set" if declared_offline() else f"{host} is unreachable"
    )
    raise CheckpointError(
        f"the pretrained weights of {what} are not cached "
        f"(looked in {', '.join(map(str, looked_in))}; "
        f"TORCH_HOME / HF_HOME move these caches) and {why}: download them once on a machine "
        "that is online, or set model.weights_file=PATH to a saved state dict "
        f"(or train from random weights: {turn_off})"
    )


def _cached_hf_file(
    repo_id: str, filenames: tuple[str, ...], revision: str | None = None
) -> Path | None:
    for filename in filenames:
        found = try_to_load_from_cache(
            repo_id, filename, cache_dir=hf_cache_dir(), revision=revision
        )
        if isinstance(found, str):
            return Path(found)
    return None


def load_weights_file(model: nn.Module, path: str | Path) -> None:
    """Load a saved state dict (weights_only, no code runs) into a freshly built `model`."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"model.weights_file={path} does not exist: check the path")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"cannot read weights file {path}: {error}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise CheckpointError(
            f"{path} does not hold the weights of a {type(model).__name__} with the architecture "
            f"named in the model config ({first_line})"
        ) from None


def require_torchvision_weights(name: str, weights: str) -> None:
    """Fail fast unless torchvision's `weights` for `name` are cached or can be downloaded."""
    try:
        enum = torchvision.models.get_model_weights(name)[weights]
    except KeyError:
        options = ", ".join(w.name for w in torchvision.models.get_model_weights(name))
        raise ConfigError(
            f"model.weights={weights!r} is not a weight set of torchvision's {name}; choose one "
            f"of: DEFAULT, {options}"
        ) from None
    cached = torch_cache_dir() / Path(urlparse(enum.url).path).name
    if not cached.is_file():
        host = urlparse(enum.url).hostname
        require_download(f"torchvision {name} ({enum.name})", host, [cached], "model.weights=null")


def timm_classifier(
    name: str,
    num_classes: int,
    in_channels: int = 3,
    pretrained: bool = False,
    weights_file: str | None = None,
) -> nn.Module:
    """`timm.create_model(name)` with a head for `num_classes`, from cached or local weights.

    timm itself replaces the classifier (`reset_classifier`) and adapts the first convolution
    to `in_channels` when it loads pretrained weights.
    """
    if name not in timm.list_models():
        raise ConfigError(f"unknown timm model {name!r}: see timm.list_models('{name[:4]}*')")
    file = Path(weights_file).expanduser() if weights_file else None
    if file is None and pretrained:
        file = cached_timm_weights(name)
    if file is not None and not file.is_file():
        raise CheckpointError(f"model.weights_file={file} does not exist: check the path")
    overlay = {"file": str(file)} if file is not None else None
    return timm.create_model(
        name,
        pretrained=pretrained or file is not None,
        num_classes=num_classes,
        in_chans=in_channels,
        pretrained_cfg_overlay=overlay,
    )


def cached_timm_weights(name: str, turn_off: str = "model.pretrained=false") -> Path | None:
    """The cached weight file of timm's `name` (None: timm may download it); raise if offline.

    turn_off: the override that does without the weights (smp's timm encoders have another).
    """
    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None or not (cfg.hf_hub_id or cfg.url):
        raise ConfigError(f"timm has no pretrained weights for {name!r}: set {turn_off}")
    looked_in = []
    if cfg.hf_hub_id:
        files = (cfg.hf_hub_filename,) if cfg.hf_hub_filename else HF_WEIGHT_FILES
        found = _cached_hf_file(cfg.hf_hub_id, files)
        if found is not None:
            return found
        looked_in.append(hf_cache_dir())
    if cfg.url:
        cached = torch_cache_dir() / Path(urlparse(cfg.url).path).name
        if cached.is_file():
            return cached
        looked_in.append(cached)
    host = HF_HOST if cfg.hf_hub_id else urlparse(cfg.url).hostname
    require_download(f"timm {name}", host, looked_in, turn_off)
    return None


def require_smp_encoder_weights(encoder_name: str, encoder_weights: str | None) -> None:
    """For segmentation-models-pytorch: fail fast unless the encoder's weights are available.

    Call it before `smp.create_model(..., encoder_weights=...)`; `tu-` encoders are timm models.
    """
    if encoder_weights is None:
        return
    if encoder_name.startswith("tu-"):
        cached_timm_weights(encoder_name.removeprefix("tu-"), SMP_TURN_OFF)
        return
    from segmentation_models_pytorch.encoders import encoders

    settings = encoders.get(encoder_name, {}).get("pretrained_settings", {}).get(encoder_weights)
    if settings is None:
        raise ConfigError(
            f"segmentation-models-pytorch has no {encoder_weights!r} weights for encoder "
            f"{encoder_name!r}: set {SMP_TURN_OFF} or choose another encoder"
        )
    found = _cached_hf_file(settings["repo_id"], ("model.safetensors",), settings.get("revision"))
    if found is None:
        require_download(
            f"smp encoder {encoder_name} ({encoder_weights})",
            HF_HOST,
            [hf_cache_dir()],
            SMP_TURN_OFF,
        )
