"""Checkpoints written crash-safely, each with its SHA-256 beside it, and verified when read.

Lightning's TorchCheckpointIO writes a temporary file in the system's temp folder and moves it
into place; when that folder is on another file system, the move truncates the target first,
so a kill or a full disk during a save destroys the previous `last.ckpt`. CrashSafeCheckpointIO
writes through cnnlab.runs.atomic instead and records `NAME.ckpt.sha256` (`sha256sum` format):

1. the new checkpoint goes to a temporary file in the same folder, hashed as its bytes are
   written (reading a large checkpoint back to hash it cost a quarter of the save), and fsynced;
2. the old checksum file is removed; 3. the checkpoint is renamed into place;
4. the new checksum file is written (atomically too).

A crash between 2 and 4 leaves a whole checkpoint, old or new, without a checksum file, which
loads unverified; a checksum file never describes another version of its checkpoint, so a good
checkpoint is never refused as stale and a damaged one never passes.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from cnnlab.errors import CheckpointError
from cnnlab.runs.atomic import fsync_folder, temporary_path, write_atomic, write_text_atomic
from cnnlab.runs.layout import BEST_CHECKPOINT, CHECKSUM_SUFFIX

_SHA256 = re.compile(r"[0-9a-f]{64}")


def checksum_file(checkpoint: Path) -> Path:
    """Where the SHA-256 of `checkpoint` is recorded: `NAME.ckpt.sha256` beside it."""
    return checkpoint.with_name(checkpoint.name + CHECKSUM_SUFFIX)


def sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify_checkpoint(path: Path) -> bool:
    """Check a checkpoint against its recorded SHA-256: True if verified, False if none exists.

    A checkpoint without a checksum file (written before cnnlab recorded them, or caught by a
    crash between the two renames) is not refused: torch.load still rejects a cut file.
    """
    path = Path(path)
    recorded_file = checksum_file(path)
    if not recorded_file.is_file():
        return False
    recorded = recorded_file.read_text().split()[:1]
    if not recorded or not _SHA256.fullmatch(recorded[0]):
        raise CheckpointError(
            f"{recorded_file} does not hold a SHA-256 checksum, so {path.name} cannot be "
            "verified; delete the checksum file to load the checkpoint unverified"
        )
    if sha256_of(path) != recorded[0]:
        raise CheckpointError(
            f"{path} is corrupted: its bytes do not match the SHA-256 recorded in "
            f"{recorded_file.name}; use another checkpoint (e.g. {BEST_CHECKPOINT.name}) or "
            "train again"
        )
    return True


class HashingWriter:
    """A binary file that feeds every byte written through it into `digest` too."""

    def __init__(self, handle: BinaryIO, digest: hashlib._Hash) -> None:
        self.handle = handle
        self.digest = digest

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()

    @property
    def name(self) -> str:
        """The file's path, as on the file itself."""
        return self.handle.name  # type: ignore[return-value]


class CrashSafeCheckpointIO(TorchCheckpointIO):
    """TorchCheckpointIO that replaces checkpoints atomically and verifies them on load."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        recorded = checksum_file(path)
        digest = hashlib.sha256()

        def save(handle: BinaryIO) -> None:
            torch.save(checkpoint, HashingWriter(handle, digest))

        write_atomic(path, save, lambda _: recorded.unlink(missing_ok=True))
        write_text_atomic(recorded, f"{digest.hexdigest()}  {path.name}\n")

    def load_checkpoint(
        self,
        path: str | Path,
        map_location: Callable | None = lambda storage, loc: storage,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        """Lightning's resume (`trainer.fit(ckpt_path=...)`) reads through here: verify first."""
        if Path(path).is_file():
            verify_checkpoint(Path(path))
        return super().load_checkpoint(path, map_location, weights_only)

    def link_checkpoint(self, source: str | Path, target: str | Path) -> bool:
        """Give the checkpoint file `source` a second name, `target`, without writing it again.

        A hard link, made under a temporary name and renamed over `target` like a save (then its
        checksum file, copied from `source`'s): a crash leaves the previous `target` or the
        new one. A later save of `source` writes a new file, so `target` keeps these bytes.
        False, with nothing changed, where the file system has no hard links.
        """
        source, target = Path(source), Path(target)
        try:
            digest = checksum_file(source).read_text()
        except FileNotFoundError:  # caught between its renames: write it again
            return False
        temporary = temporary_path(target)
        try:
            os.link(source, temporary)
        except OSError as error:
            if error.errno in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK):
                return False
            raise
        checksum_file(target).unlink(missing_ok=True)
        os.replace(temporary, target)
        fsync_folder(target.parent)
        write_text_atomic(checksum_file(target), digest.replace(source.name, target.name))
        return True

    def remove_checkpoint(self, path: str | Path) -> None:
        super().remove_checkpoint(path)
        checksum_file(Path(path)).unlink(missing_ok=True)
        fsync_folder(Path(path).parent)
