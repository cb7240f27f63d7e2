"""What every cnnlab command does around its work: one-line errors instead of tracebacks."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from cnnlab.errors import CnnlabError, exit_with

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
