"""The errors cnnlab reports to users as one clear sentence instead of a traceback."""


class CnnlabError(Exception):
    """A user-facing error: the message says what was wrong and how to fix it."""


class ConfigError(CnnlabError):
    """The composed configuration cannot work (wrong type, missing value, mismatch)."""


class DataError(CnnlabError):
    """A data set is missing, unreadable or inconsistent with its config."""


class CheckpointError(CnnlabError):
    """A checkpoint is missing, corrupt, untrusted or of the wrong kind."""


class TrainingError(CnnlabError):
    """Training went wrong in a way the user must act on (e.g. a non-finite loss)."""


class StorageError(CnnlabError):
    """A file could not be written (full disk, quota, read-only folder); the old one was kept."""


class RunInUseError(CnnlabError):
    """Another process is training in the run directory (it holds the run's lock)."""
