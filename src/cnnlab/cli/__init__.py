"""What every cnnlab command does around its work: process set-up, one-line errors.

The library itself changes no global state on import; the commands do it here, once.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from cnnlab.errors import CnnlabError, ConfigError, exit_with

F = TypeVar("F", bound=Callable[..., Any])

# Lightning's advice that does not apply to cnnlab: in-memory data sets are batched from tensors
# (worker processes would only add overhead), and a resumed run writes into its own checkpoints/.
QUIET_WARNINGS = (
    ".*does not have many workers.*",
    ".*Checkpoint directory .* exists and is not empty.*",
)


def prepare_process() -> None:
    """What a cnnlab command sets up before Hydra composes: its resolvers, cnnlab's own Hydra
    plugins (the Optuna sweeper) and warning filters."""
    from cnnlab.config.plugins import expose_hydra_plugins
    from cnnlab.config.resolvers import register_resolvers  # imports torch: not for compare

    register_resolvers()
    expose_hydra_plugins()
    for message in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message)


def report_errors(function: F) -> F:
    """Turn a CnnlabError into 'cnnlab: error: <message>' on stderr and exit status 2; a run
    directory this process claimed and never used (the config was rejected before training) is
    given back first, so it does not show up as an unfinished run."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except CnnlabError as error:
            # imported here: it pulls in torch, which cnnlab-compare does without
            from cnnlab.config.resolvers import release_unused_claims

            release_unused_claims()
            exit_with(error)

    return wrapper  # type: ignore[return-value]


def required(cfg: DictConfig, key: str, example: str) -> Any:
    """`cfg[key]`, or one sentence saying how to give it (a `???` value left unset)."""
    if OmegaConf.is_missing(cfg, key):
        raise ConfigError(f"{key} is required: give it on the command line, e.g. {example}")
    return cfg[key]
