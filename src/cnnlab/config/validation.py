"""Checks a composed config before any expensive work starts.

Hydra already rejects unknown groups and keys; what it cannot see is whether a value fits the
constructor that `_target_` names. We read that constructor's signature and type hints, so every
model, data set, task and trainer is checked the same way without a schema per class. Values of
the right type that cannot train (`VALUE_RULES`) are refused next, and legal but suspicious ones
logged as warnings; `validate_devices` checks the config against the machine it runs on.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf

from cnnlab.errors import ConfigError

_HYDRA_KEYS = {"_target_", "_partial_", "_recursive_", "_convert_", "_args_"}

log = logging.getLogger(__name__)

# Keys that are not constructor arguments, with the type each must have.
TOP_LEVEL_TYPES: dict[str, type] = {
    "seed": int,
    "async_checkpoints": bool,
    "pictures_every_n_epochs": int,  # or null
}


class ValueRule(NamedTuple):
    """A number at `key` that `breaks` is refused with `advice` (or, if `warn`, logged)."""

    key: str
    breaks: Callable[[float], bool]
    advice: str
    warn: bool = False


# Values of the right type that train nothing, or that usually mean a typo.
VALUE_RULES = (
    ValueRule("task.optimizer.lr", lambda v: v <= 0, "must be > 0, e.g. task.optimizer.lr=0.001"),
    ValueRule("task.optimizer.lr", lambda v: v > 1, "is above 1, which usually diverges", True),
    ValueRule("data.batch_size", lambda v: v < 1, "must be at least 1"),
    ValueRule("data.image_size", lambda v: v < 1, "must be at least 1 (pixels per side)"),
    ValueRule(
        "trainer.max_epochs",
        lambda v: v == 0 or v < -1,
        "must be at least 1 (or -1: train until stopped)",
    ),
    ValueRule(
        "pictures_every_n_epochs",
        lambda v: v < 1,
        "must be at least 1, or null for about 10 pictures per fit",
    ),
    ValueRule(
        "callbacks.non_finite_loss_guard.check_every_n_steps",
        lambda v: v < 1,
        "must be at least 1 (1: every step)",
    ),
    ValueRule(
        "trainer.max_epochs",
        lambda v: v == -1,
        "trains until stopped (early stopping, trainer.max_steps or Ctrl-C)",
        True,
    ),
)

# Groups whose defaults entry in conf/train.yaml is `optional`, so that choosing none composes;
# Hydra then skips a misspelt option silently instead of refusing it as it does `model=nope`.
OPTIONAL_GROUPS = ("experiment", "hparams_search", "debug")


def validate_config(cfg: DictConfig) -> None:
    """Raise ConfigError for the first missing value, wrong type or unknown argument found."""
    validate_values(cfg)
    _check_node(cfg, "")  # imports each `_target_`'s module to read its signature


def validate_values(cfg: DictConfig) -> None:
    """The checks that need no library (missing values, top-level types, `VALUE_RULES`): a
    command runs them before it imports torch, so these mistakes are reported at once."""
    missing = sorted(_missing_keys(cfg, ""))
    if missing:
        keys = ", ".join(missing)
        example = f"{missing[0]}=..."
        raise ConfigError(f"missing required value(s): {keys}. Set them, e.g. {example}")
    for key, expected in TOP_LEVEL_TYPES.items():
        value = cfg.get(key)
        if value is not None and not _matches(value, expected):
            raise ConfigError(f"{key}={value!r} must be of type {expected.__name__}")
    _check_values(cfg)


def validate_choices(choices: Mapping[str, Any], options: Callable[[str], list[str]]) -> None:
    """Raise ConfigError for an option of an optional group (e.g. `experiment=nope`) that does
    not exist; `choices` are Hydra's runtime choices, `options(group)` lists a group's files."""
    for group in OPTIONAL_GROUPS:
        choice = choices.get(group)
        if choice is not None and choice not in options(group):
            raise ConfigError(
                f"{group}={choice} is not a config in conf/{group}/; choose one of: "
                + ", ".join(sorted(options(group)))
            )


def _check_values(cfg: DictConfig) -> None:
    for rule in VALUE_RULES:
        value = OmegaConf.select(cfg, rule.key, default=None)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        if rule.breaks(value):
            message = f"{rule.key}={value} {rule.advice}"
            if not rule.warn:
                raise ConfigError(message)
            log.warning(message)


def validate_devices(cfg: DictConfig) -> None:
    """Raise ConfigError if `trainer.devices` asks for more CPU processes than this machine has
    cores, or more GPUs than it has: apart from the config, this depends on where it runs."""
    devices = OmegaConf.select(cfg, "trainer.devices", default=None)
    accelerator = OmegaConf.select(cfg, "trainer.accelerator", default=None)
    if isinstance(devices, ListConfig):
        devices = len(devices)
    if not isinstance(devices, int) or isinstance(devices, bool) or devices < 1:
        return  # "auto", -1 (all of them): Lightning counts them itself
    if accelerator == "cpu":
        available, kind = _cpu_count(), "CPU cores"
    elif accelerator in ("gpu", "cuda"):
        import torch  # only for a config that asks for GPUs

        available, kind = torch.cuda.device_count(), "GPUs"
    else:
        return
    if devices > available:
        fix = f"trainer.devices={available} or fewer" if available else "trainer=cpu"
        raise ConfigError(
            f"trainer.devices={devices} asks for more processes than this machine has "
            f"{kind} ({available}): set {fix}"
        )


def _cpu_count() -> int:
    """The cores this process may run on (fewer than the machine's under taskset or cgroups)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _missing_keys(node: Any, path: str) -> list[str]:
    """Keys set to ??? (without resolving interpolations, which would fail on them first)."""
    if isinstance(node, DictConfig):
        children = [(_join(path, str(k)), node._get_node(k)) for k in node]
    elif isinstance(node, ListConfig):
        children = [(f"{path}[{i}]", node._get_node(i)) for i in range(len(node))]
    else:
        return []
    missing = []
    for child_path, child in children:
        if child._is_missing() and not child._is_interpolation():
            missing.append(child_path)
        else:
            missing += _missing_keys(child, child_path)
    return missing


def _check_node(node: Any, path: str) -> None:
    if isinstance(node, DictConfig):
        if "_target_" in node:
            _check_target(node, path)
        for key in node:
            if key not in _HYDRA_KEYS:
                _check_node(node._get_node(key), _join(path, str(key)))
    elif isinstance(node, ListConfig):
        for index in range(len(node)):
            _check_node(node._get_node(index), f"{path}[{index}]")


def _check_target(node: DictConfig, path: str) -> None:
    target = node._target_
    try:
        obj = get_object(target)
    except Exception as error:  # hydra wraps ImportError / AttributeError alike
        raise ConfigError(
            f"{_join(path, '_target_')}={target!r} cannot be imported ({error}). "
            "Check the spelling of the class or function name."
        ) from None
    params, hints, takes_kwargs = _parameters(obj)
    if params is None:
        return
    for key in node:
        if key in _HYDRA_KEYS:
            continue
        if key not in params:
            if takes_kwargs:
                continue
            valid = ", ".join(params)
            raise ConfigError(
                f"{_join(path, str(key))} is not an argument of {target}; valid arguments: {valid}"
            )
        value_node = node._get_node(key)
        if isinstance(value_node, DictConfig) and "_target_" in value_node:
            continue
        value = node[key]
        expected = hints.get(key, params[key])
        if expected is inspect.Parameter.empty or _matches(value, expected):
            continue
        raise ConfigError(
            f"{_join(path, str(key))}={_show(value)} has the wrong type: {target} expects "
            f"{_describe(expected)}"
        )


def _parameters(obj: Any) -> tuple[dict[str, Any] | None, dict[str, Any], bool]:
    """(annotation by parameter name, resolved type hints, accepts unknown keys) of a target.

    A class whose __init__ passes **kwargs on to its parent (e.g. a data module adding one
    argument to its base) is followed up the MRO, so the parent's arguments are checked too.
    """
    functions = (
        [c.__dict__["__init__"] for c in obj.__mro__ if "__init__" in c.__dict__]
        if inspect.isclass(obj)
        else [obj]
    )
    params: dict[str, Any] = {}
    hints: dict[str, Any] = {}
    for function in functions:
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            return None, {}, True
        with contextlib.suppress(Exception):  # unresolvable forward refs: check names only
            hints = {**typing.get_type_hints(function), **hints}
        own = {
            name: p.annotation
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }
        params = {**own, **params}
        if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
            return params, hints, False
    return params, hints, True


def _matches(value: Any, expected: Any) -> bool:
    """Whether a config value fits a type hint; unknown kinds of hint are accepted."""
    if expected is Any or expected is inspect.Parameter.empty:
        return True
    if value is None:
        return expected is None or expected is type(None) or _is_optional(expected)
    if expected is None or expected is type(None):
        return False
    origin = typing.get_origin(expected)
    args = typing.get_args(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is str or expected is Path:
        return isinstance(value, str)
    container = origin or expected
    if container in (list, tuple, Sequence, typing.Sequence):
        if not isinstance(value, ListConfig | list | tuple):
            return False
        if container is tuple and args and args[-1] is not Ellipsis:  # tuple[int, str]
            return len(args) == len(value) and all(map(_matches, value, args))
        item_type = args[0] if args else Any
        return all(_matches(item, item_type) for item in value)
    if container in (dict, Mapping, typing.Mapping):
        return isinstance(value, DictConfig | dict)
    return True


def _is_optional(expected: Any) -> bool:
    return typing.get_origin(expected) in (typing.Union, types.UnionType) and type(
        None
    ) in typing.get_args(expected)


def _describe(expected: Any) -> str:
    """A readable type: 'int or None', "one of 'bf16-mixed', '32-true', ...", 'list[int]'."""
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(_describe(arg) for arg in typing.get_args(expected)))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(arg) for arg in typing.get_args(expected))
    if expected is type(None):
        return "None"
    if isinstance(expected, type) and not typing.get_args(expected):
        return expected.__name__
    return str(expected).replace("typing.", "").replace("collections.abc.", "")


def _show(value: Any) -> str:
    if isinstance(value, DictConfig | ListConfig):
        value = OmegaConf.to_container(value)
    return f"{value!r} ({type(value).__name__})"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
