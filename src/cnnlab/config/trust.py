"""Treat configs from elsewhere as code: `_target_` can instantiate anything importable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlab.errors import ConfigError

TRUSTED_MODULES = (
    "cnnlab",
    "torch",
    "torchvision",
    "torchmetrics",
    "timm",
    "segmentation_models_pytorch",
    "pytorch_lightning",
    "lightning",
    "lightning_fabric",
)


def iter_targets(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Yield (key path, target) for every `_target_` in a plain or OmegaConf container."""
    if hasattr(node, "items"):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            if key == "_target_":
                yield child, str(value)
            else:
                yield from iter_targets(value, child)
    elif isinstance(node, list | tuple) or type(node).__name__ == "ListConfig":
        for index, value in enumerate(node):
            yield from iter_targets(value, f"{path}[{index}]")


def check_trusted(config: Any, source: str, trust: bool = False) -> None:
    """Refuse a config whose `_target_`s reach outside the trusted libraries, unless trusted."""
    if trust:
        return
    foreign = [
        f"{path}={target}"
        for path, target in iter_targets(config)
        if target.split(".")[0] not in TRUSTED_MODULES
    ]
    if foreign:
        raise ConfigError(
            f"{source} instantiates code outside the trusted libraries ({', '.join(foreign)}); "
            "a config can run anything its _target_ names. Read it, then pass --trust "
            "(or trust=true) if you accept it."
        )
