"""The errors cnnlab reports to users as one clear sentence instead of a traceback.

Library code (models, data, tasks, callbacks) does not know under which config key it was
built, so its messages name its own arguments in backticks: "`depth`=5 halves 30 px ...; lower
`depth`". The pipeline, which knows the config node it instantiated, calls `error.at("model")`
and the user reads `model.depth`; a library caller who never saw a config reads `depth`.
"""

from __future__ import annotations

import re
import sys
from typing import NoReturn

_ARGUMENT = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)`")


class CnnlabError(Exception):
    """A user-facing error: the message says what was wrong and how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.located = False

    def at(self, node_path: str, **filled_from: str) -> CnnlabError:
        """The same error with each `argument` named by its config path, `node_path.argument`.

        An argument that the pipeline filled from another node (a task's `model`, built from
        `model`) is named by that node's path: `filled_from={"model": "model"}`.
        """
        if self.located:  # the innermost node that knew the argument has named it already
            return self

        def path(match: re.Match[str]) -> str:
            argument, _, rest = match[1].partition(".")
            if argument in filled_from and rest:
                return f"`{filled_from[argument]}.{rest}`"
            return f"`{node_path}.{match[1]}`" if node_path else match[0]

        located = type(self)(_ARGUMENT.sub(path, self.message))
        located.located = True
        return located

    def inside(self, argument: str) -> CnnlabError:
        """The same error as seen by the object holding the raiser in `argument`: `depth` becomes
        `model.depth` when a task's `model` raised it (not yet a config path: see `at`)."""
        if self.located:
            return self
        return type(self)(_ARGUMENT.sub(lambda m: f"`{argument}.{m[1]}`", self.message))

    def __str__(self) -> str:
        return _ARGUMENT.sub(lambda m: m[1], self.message)


class ConfigError(CnnlabError):
    """The composed configuration cannot work (wrong type, missing value, mismatch)."""


class DataError(CnnlabError):
    """A data set is missing, unreadable or inconsistent with its config."""


class CheckpointError(CnnlabError):
    """A checkpoint is missing, corrupt, untrusted or of the wrong kind."""


class RunRecordError(CnnlabError):
    """A run directory's record (metrics.json, status.json, .hydra/) is damaged."""


class TrainingError(CnnlabError):
    """Training went wrong in a way the user must act on (e.g. a non-finite loss)."""


class StorageError(CnnlabError):
    """A file could not be written (full disk, quota, read-only folder); the old one was kept."""


class RunInUseError(CnnlabError):
    """Another process is training in the run directory (it holds the run's lock)."""


class RunPruned(Exception):
    """A hyperparameter search stopped this run early: its metric at `epoch` was worse than
    the other trials' (not a CnnlabError: nothing went wrong, the sweep summary says pruned)."""

    def __init__(self, epoch: int, value: float) -> None:
        super().__init__(f"pruned by the search after epoch {epoch} ({value:.4g})")
        self.epoch, self.value = epoch, value

    def __reduce__(self) -> tuple[type, tuple[int, float]]:
        # parallel launchers (joblib) pickle a job's exception back to the sweeper
        return type(self), (self.epoch, self.value)


def exit_with(error: CnnlabError) -> NoReturn:
    """Print 'cnnlab: error: <message>' on stderr and exit with status 2.

    Also for errors raised where an exception would end in someone else's traceback (inside
    Hydra's composition, e.g. when the run directory cannot be created).
    """
    print(f"cnnlab: error: {error}", file=sys.stderr)
    raise SystemExit(2) from None
