"""What every cnnlab command does around its work: one-line errors instead of tracebacks."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from cnnlab.errors import CnnlabError

F = TypeVar("F", bound=Callable[..., Any])


def report_errors(function: F) -> F:
    """Turn a CnnlabError into 'cnnlab: error: <message>' on stderr and exit status 2."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except CnnlabError as error:
            print(f"cnnlab: error: {error}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapper  # type: ignore[return-value]
