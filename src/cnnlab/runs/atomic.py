"""Crash-safe files: a reader finds the previous version of a file or the new one, never half.

Every write goes to a temporary file in the target's own folder, is flushed and fsynced, and
then replaces the target with `os.replace`, which is atomic within one file system. The folder
is fsynced last, so the rename itself survives a power cut. A temporary file elsewhere (e.g.
in /tmp) would not do: moving it onto another file system is a copy that truncates the target
first. A write that fails, on a full disk say, removes its temporary file and leaves the
previous file as it was; a process killed mid-write leaves a `.NAME.PID.*.tmp` file, which the
next write of the same file removes.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from cnnlab.errors import StorageError
from cnnlab.runs.layout import LOG_DIR_ENV

# the write failures a user fixes on their side: what happened, and what to do
_FULL = f"free some space there or set {LOG_DIR_ENV} to another disk"
_READ_ONLY = f"make the folder writable or set {LOG_DIR_ENV} to a writable one"
DISK_PROBLEMS = {
    errno.ENOSPC: ("the disk is full", _FULL),
    errno.EDQUOT: ("the disk quota is exceeded", _FULL),
    errno.EROFS: ("the file system is read-only", _READ_ONLY),
    errno.EACCES: ("permission is denied", _READ_ONLY),
    errno.EPERM: ("permission is denied", _READ_ONLY),
}


def write_atomic(
    path: Path,
    write: Callable[[BinaryIO], None],
    before_replace: Callable[[Path], None] | None = None,
) -> Path:
    """Write `path` through `write(file)` so that it is replaced whole or not at all.

    `before_replace(temporary)` runs once the new bytes are on disk, just before the rename
    (cnnlab.runs.checkpoint_io hashes the checkpoint there). Disk problems (full, read-only, no
    permission) raise a StorageError naming the folder and what was kept.
    """
    path = Path(path)
    _remove_leftovers(path)
    temporary = temporary_path(path)
    try:
        # "x": created here (O_EXCL), never a file or link that someone else put there
        with open(temporary, "xb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if before_replace is not None:
            before_replace(temporary)
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):  # absent, or a read-only folder: the error says why
            temporary.unlink()
        if isinstance(error, OSError) and error.errno in DISK_PROBLEMS:
            raise storage_error(path, error) from None
        raise
    fsync_folder(path.parent)
    return path


def temporary_path(path: Path) -> Path:
    """Where a new version of `path` is made before it replaces `path`: in the same folder, named
    `.NAME.PID.RANDOM.tmp` so that a later write can remove what a killed writer left."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def write_text_atomic(path: Path, text: str) -> Path:
    """Crash-safe `path.write_text(text)` (UTF-8)."""
    return write_atomic(path, lambda handle: handle.write(text.encode()))


def write_json_atomic(path: Path, data: Any) -> Path:
    """Crash-safe JSON record, indented, with a final newline."""
    return write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def fsync_folder(folder: Path) -> None:
    """Make a rename or removal in `folder` durable (file systems that cannot are skipped)."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    except OSError as error:
        if error.errno != errno.EINVAL:
            raise
    finally:
        os.close(descriptor)


def storage_error(path: Path, error: OSError) -> StorageError:
    """One sentence: which folder could not be written, why, and what was kept."""
    kept = (
        f"the previous {path.name} is kept unchanged"
        if path.is_file()
        else f"no {path.name} was written"
    )
    problem, advice = DISK_PROBLEMS[error.errno]
    return StorageError(
        f"cannot write {path.name} in {path.parent}: {problem} ({os.strerror(error.errno)}); "
        f"{kept}; {advice}, then run the command again"
    )


def _remove_leftovers(path: Path) -> None:
    """Delete temporary files of `path` left by writers that were killed mid-write."""
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        pid = leftover.name[len(path.name) + 2 :].split(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _is_running(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
