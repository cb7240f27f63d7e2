"""Treat configs from elsewhere as code: `_target_` can instantiate anything importable.

A config that was not composed here from the installed `conf/` (the config stored in a
checkpoint, a run directory's `.hydra/config.yaml`) is untrusted. Without `trust`, it may only:

- instantiate the exact import paths in `ALLOWED_TARGETS` (the classes and factories cnnlab uses:
  models, data modules, tasks, losses, optimizers, schedulers, callbacks, loggers, the Trainer)
  or a `_target_` written in one of the installed `conf/` files (the installed conf is trusted
  code, so a model YAML you add there is accepted too). Strings are compared exactly and nothing
  is imported first, so `torch.os.system` or `cnnlab.runs.records.subprocess.call` (attribute chains
  to other objects) and interpolated targets (`${...}`) are refused before any import runs;
- use interpolations whose resolvers have no side effects (`SAFE_RESOLVERS`: no
  `cnnlab.unique_dir`, which creates directories, and no `oc.decode`/`oc.create`, which turn text
  into new config nodes), and `${hydra:...}` only for the job's `runtime.` and `job.` values.

Everything is looked at: nested dicts, lists, `_args_`, callbacks and loggers. `trust=true`
(`--trust`) is the explicit escape for configs whose author you trust.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import yaml

from cnnlab.errors import ConfigError

# What cnnlab's code and docs instantiate beyond its conf/ files: the optimizers, schedulers and
# losses a user picks by override (`task.optimizer._target_=torch.optim.SGD`), Lightning's
# callbacks and offline loggers. Each entry is the path of a class defined in its package.
ALLOWED_TARGETS = frozenset(
    {
        "pytorch_lightning.Trainer",
        *(
            f"torch.optim.{name}"
            for name in ("SGD", "Adam", "AdamW", "Adamax", "Adagrad", "NAdam", "RAdam", "RMSprop")
        ),
        *(
            f"torch.optim.lr_scheduler.{name}"
            for name in (
                "StepLR",
                "MultiStepLR",
                "ExponentialLR",
                "CosineAnnealingLR",
                "CosineAnnealingWarmRestarts",
                "OneCycleLR",
                "LinearLR",
                "ConstantLR",
                "PolynomialLR",
                "ReduceLROnPlateau",
            )
        ),
        *(
            f"torch.nn.{name}"
            for name in (
                "CrossEntropyLoss",
                "BCEWithLogitsLoss",
                "NLLLoss",
                "MSELoss",
                "L1Loss",
                "SmoothL1Loss",
                "HuberLoss",
            )
        ),
        *(
            f"segmentation_models_pytorch.losses.{name}"
            for name in (
                "DiceLoss",
                "FocalLoss",
                "JaccardLoss",
                "LovaszLoss",
                "TverskyLoss",
                "SoftBCEWithLogitsLoss",
                "SoftCrossEntropyLoss",
            )
        ),
        *(
            f"pytorch_lightning.callbacks.{name}"
            for name in (
                "ModelCheckpoint",
                "EarlyStopping",
                "LearningRateMonitor",
                "TQDMProgressBar",
                "RichProgressBar",
                "ModelSummary",
                "RichModelSummary",
                "DeviceStatsMonitor",
                "StochasticWeightAveraging",
                "GradientAccumulationScheduler",
                "Timer",
            )
        ),
        "pytorch_lightning.loggers.TensorBoardLogger",
        "pytorch_lightning.loggers.CSVLogger",
        "pytorch_lightning.loggers.MLFlowLogger",
    }
)
# resolvers without side effects; `hydra` is further limited to the job's runtime/job values
SAFE_RESOLVERS = frozenset({"hydra", "now", "oc.env", "oc.select"})
_HYDRA_KEYS = ("runtime.", "job.")
_RESOLVER = re.compile(r"\$\{\s*([^\s:{}$]+)\s*:\s*([^{}$]*)")


def iter_leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (key path, value) for every scalar in a plain or OmegaConf container."""
    if hasattr(node, "items"):
        for key, value in node.items():
            yield from iter_leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list | tuple) or type(node).__name__ == "ListConfig":
        for index, value in enumerate(node):
            yield from iter_leaves(value, f"{path}[{index}]")
    else:
        yield path, node


def iter_targets(node: Any) -> Iterator[tuple[str, str]]:
    """Yield (key path, target) for every `_target_`, however deeply nested."""
    for path, value in iter_leaves(node):
        if path == "_target_" or path.endswith("._target_"):
            yield path, str(value)


@functools.cache
def conf_targets() -> frozenset[str]:
    """Every `_target_` written in the installed conf/ package (trusted: it is cnnlab's code)."""
    found: set[str] = set()
    pending = [resources.files("cnnlab.conf")]
    while pending:
        entry = pending.pop()
        if entry.is_dir():
            pending.extend(entry.iterdir())
        elif entry.name.endswith(".yaml"):
            found.update(target for _, target in iter_targets(yaml.safe_load(entry.read_text())))
    return frozenset(found)


def allowed(target: str) -> bool:
    """An exact import path cnnlab instantiates (no prefix match: no attribute chains)."""
    return target in ALLOWED_TARGETS or target in conf_targets()


def untrusted_values(config: Any) -> list[str]:
    """`key=value` for every target outside the allowlist and every unsafe interpolation."""
    found = [f"{path}={target}" for path, target in iter_targets(config) if not allowed(target)]
    for path, value in iter_leaves(config):
        if not isinstance(value, str) or path.endswith("_target_"):
            continue
        for resolver, argument in _RESOLVER.findall(value):
            hydra_ok = resolver != "hydra" or argument.strip().startswith(_HYDRA_KEYS)
            if resolver not in SAFE_RESOLVERS or not hydra_ok:
                found.append(f"{path}={value}")
                break
    return found


def check_trusted(config: Any, source: str, trust: bool = False) -> None:
    """Refuse an untrusted config that instantiates or resolves more than cnnlab's own, unless
    trusted; nothing in it is imported or resolved before this check."""
    if trust:
        return
    foreign = untrusted_values(config)
    if foreign:
        raise ConfigError(
            f"{source} names code or resolvers that cnnlab does not use itself "
            f"({', '.join(foreign)}), and a config can run anything its _target_ names: "
            "read it, then pass --trust (or trust=true) if you accept it"
        )


def check_no_interpolation(config: Any, source: str, trust: bool = False) -> None:
    """Refuse interpolations in values that must be plain (the saved Hydra runtime and job)."""
    if trust:
        return
    found = [f"{p}={v}" for p, v in iter_leaves(config) if isinstance(v, str) and "${" in v]
    if found:
        raise ConfigError(
            f"{source} has interpolations where cnnlab writes plain values ({', '.join(found)}); "
            "read it, then pass --trust (or trust=true) if you accept it"
        )
