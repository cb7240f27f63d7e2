"""Known weights for every model family: local files, cache look-ups, fast failure offline.

Every factory (torchvision, timm, smp) takes one argument, `weights`:

- null: random initialisation;
- a path (it contains '/', ends in .pt/.pth/.safetensors/.bin, or exists): a saved state dict,
  loaded without network (`weights_only`, so no code in the file runs);
- a name: the library's pretrained weights. `default` means the family's default set
  (ImageNet-trained for the classifiers and encoders cnnlab's configs name); each family also
  takes its own names (torchvision `IMAGENET1K_V1`, timm tags such as `a1_in1k`, smp `imagenet`).

torchvision, timm and smp download missing weights on first use; offline, timm spends about
50 s and smp about 26 s in hub retries before failing. Each family module looks its weights up
in the caches here (TORCH_HOME for URLs, the Hugging Face cache for hub repositories) first;
when they are absent and the host cannot be reached (or HF_HUB_OFFLINE / CNNLAB_OFFLINE is
set), the user reads one sentence naming the caches and `weights` within a second or two.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import torch
from huggingface_hub import try_to_load_from_cache
from safetensors.torch import load_file
from torch import Tensor, nn

from cnnlab.errors import CheckpointError
from cnnlab.runs.layout import OFFLINE_ENV

DEFAULT = "default"  # every family: its default pretrained weights
FILE_SUFFIXES = (".pt", ".pth", ".safetensors", ".bin")
HF_HOST = "huggingface.co"
PROBE_TIMEOUT_S = 1.5
_TRUE = {"1", "true", "yes", "on"}


def local_file(weights: str | None) -> Path | None:
    """The state-dict file `weights` names, or None when it names pretrained weights (or none)."""
    if weights is None:
        return None
    path = Path(weights).expanduser()
    if "/" in str(weights) or path.suffix in FILE_SUFFIXES or path.exists():
        return path
    return None


def read_state_dict(path: Path) -> dict[str, Tensor]:
    """The tensors of a saved state dict (.safetensors or torch.save; a {"state_dict": ...} too)."""
    if not path.is_file():
        raise CheckpointError(
            f"`weights`={path} is not a file: check the path, or set `weights`=null for random "
            "weights"
        )
    try:
        state = (
            load_file(path)
            if path.suffix == ".safetensors"
            else torch.load(path, map_location="cpu", weights_only=True)
        )
    except Exception as error:  # safetensors, pickle and zip errors alike
        raise CheckpointError(
            f"`weights`={path} cannot be read as a state dict ({first_line(error)}): save one "
            "with torch.save(model.state_dict(), PATH)"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    return state


def load_weights_file(model: nn.Module, path: Path, what: str | None = None) -> None:
    """Load the state dict saved at `path` into `model`, every tensor, or fail naming the file.

    what: the architecture in words for the error (default: the model's class name).
    """
    state = read_state_dict(path)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as error:
        raise weights_mismatch(path, what or type(model).__name__, first_line(error)) from None


def weights_mismatch(path: Path, what: str, detail: str) -> CheckpointError:
    """The one error for a weights file saved from another architecture, in every family."""
    return CheckpointError(
        f"`weights`={path} does not hold the weights of a {what} ({detail}): give a state dict "
        "saved from the same architecture"
    )


def first_line(error: Exception) -> str:
    """The first line of a library's (often multi-line) error message."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment at call time."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = (
        os.environ.get("HF_HOME")
        or Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "huggingface"
    )
    return Path(home).expanduser() / "hub"


def cached_hf_file(
    repo_id: str, filenames: tuple[str, ...], revision: str | None = None
) -> Path | None:
    """The first of `filenames` of a hub repository found in the local cache, else None."""
    for filename in filenames:
        found = try_to_load_from_cache(
            repo_id, filename, cache_dir=hf_cache_dir(), revision=revision
        )
        if isinstance(found, str):
            return Path(found)
    return None


def require_hf_file(
    repo_id: str, filenames: tuple[str, ...], what: str, revision: str | None = None
) -> Path | None:
    """The cached file of a hub repository; None if it can be downloaded; raise if offline."""
    found = cached_hf_file(repo_id, filenames, revision)
    if found is None:
        require_download(what, HF_HOST, [hf_cache_dir()])
    return found


def cached_url_file(url: str) -> Path:
    """Where torch.hub keeps the download of `url` (torchvision, timm URLs); it may not exist."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name


def declared_offline() -> bool:
    """HF_HUB_OFFLINE=1 or CNNLAB_OFFLINE=1: the user says there is no network; do not try."""
    return any(os.environ.get(k, "").lower() in _TRUE for k in ("HF_HUB_OFFLINE", OFFLINE_ENV))


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


def require_download(what: str, host: str, looked_in: list[Path]) -> None:
    """Raise CheckpointError unless `host` can be reached to download `what`."""
    if reachable(host):
        return
    why = (
        f"HF_HUB_OFFLINE / {OFFLINE_ENV} is set" if declared_offline() else f"{host} is unreachable"
    )
    raise CheckpointError(
        f"the pretrained weights of {what} are not cached "
        f"(looked in {', '.join(map(str, looked_in))}; TORCH_HOME / HF_HOME move these caches) "
        f"and {why}: download them once on a machine that is online, set `weights` to the path "
        "of a saved state dict, or train from random weights with `weights`=null"
    )
