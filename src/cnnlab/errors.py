"""The errors cnnlab reports to users as one clear sentence instead of a traceback."""

from __future__ import annotations

import sys
from typing import NoReturn


class CnnlabError(Exception):
    """A user-facing error: the message says what was wrong and how to fix it."""


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


def exit_with(error: CnnlabError) -> NoReturn:
    """Print 'cnnlab: error: <message>' on stderr and exit with status 2.

    Also for errors raised where an exception would end in someone else's traceback (inside
    Hydra's composition, e.g. when the run directory cannot be created).
    """
    print(f"cnnlab: error: {error}", file=sys.stderr)
    raise SystemExit(2) from None
