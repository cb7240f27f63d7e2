"""What every cnnlab command does around its work: one-line errors instead of tracebacks."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from cnnlab.errors import CnnlabError, ConfigError, exit_with

F = TypeVar("F", bound=Callable[..., Any])


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
