"""One run, one writer: the process that trains in a run directory holds its lock.

An OS file lock (`flock` on RUN_DIR/train.lock) rather than a marker file: the kernel releases
it when the process ends in any way, kill -9 included, so a crashed run never stays locked.
The holder writes its PID into the file, for the message that names it. Under DDP only the
launching process (rank 0 of node 0) takes the lock; the ranks it starts write into the same
directory under its lock, and would deadlock or fail on it otherwise.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cnnlab.distributed import is_launching_process
from cnnlab.errors import RunInUseError
from cnnlab.runs.atomic import DISK_PROBLEMS, storage_error
from cnnlab.runs.layout import LOCK_FILE


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir`'s lock while training in it; RunInUseError if another process holds it."""
    if not is_launching_process():
        yield
        return
    try:
        descriptor = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        if error.errno in DISK_PROBLEMS:
            raise storage_error(run_dir / LOCK_FILE, error) from None
        raise
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise in_use_error(run_dir, _read_pid(descriptor)) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


def lock_holder(run_dir: Path) -> int | None:
    """The PID of the process training in `run_dir` (0 if unknown), or None if it is free."""
    try:
        descriptor = os.open(run_dir / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(descriptor)
    finally:
        os.close(descriptor)
    return None


def in_use_error(run_dir: Path, pid: int) -> RunInUseError:
    holder = f"process {pid}" if pid else "another process"
    stop = f" (kill {pid})" if pid else ""
    return RunInUseError(
        f"{run_dir} is being trained by {holder}, which holds {LOCK_FILE}; wait for it to "
        f"finish, or stop it{stop} and resume again"
    )


def _read_pid(descriptor: int) -> int:
    text = os.pread(descriptor, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else 0
