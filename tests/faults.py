"""Faults for the crash-safety tests: a small tmpfs, and `cnnlab-train` with a failing save.

Run as a script, it is `cnnlab-train` whose second write of `last.ckpt` goes wrong halfway:

    python tests/faults.py MODE MARKER -- OVERRIDES...

MODE `hang`: write half the checkpoint, then wait to be killed (kill -9 during a save).
MODE `full-disk`: write half, fill the disk (a real ENOSPC on a tmpfs) and go on writing.
MODE `enospc`: write half, then fail as a full disk does (where no tmpfs can be mounted).
Before the fault, MARKER gets the SHA-256 of the `last.ckpt` in place at that moment. Only
torch.save is patched: everything around it (the temporary file, fsync, rename, the error
message) is cnnlab's real code.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FAULTS = Path(__file__)


@contextmanager
def tmpfs(folder: Path, size: str = "64m") -> Iterator[bool]:
    """Mount a tmpfs of `size` on `folder` (created) while inside; yields whether it could
    (needs root). Either way `folder` exists, so a test can go on with a plain folder."""
    folder.mkdir(parents=True, exist_ok=True)
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
    mounted = os.geteuid() == 0 and subprocess.run(command, capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "--lazy", str(folder)], check=True)


def flip_tensor_bytes(checkpoint: Path) -> None:
    """Change one bit of the first stored weight tensor: the file stays a valid checkpoint that
    torch reads without complaint, with a wrong number in it."""
    import torch

    weights = torch.load(checkpoint, weights_only=True)["state_dict"]
    tensor = next(t for t in weights.values() if t.numel() >= 16 and t.is_floating_point())
    data = bytearray(checkpoint.read_bytes())
    at = data.index(tensor.flatten()[:4].numpy().tobytes())
    data[at + 2] ^= 0x01
    checkpoint.write_bytes(bytes(data))


def _fill_disk(folder: Path) -> None:
    with open(folder / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * (1 << 16))
                filler.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC, error


def _patch_torch_save(mode: str, marker: Path) -> None:
    import torch

    real_save = torch.save
    last_saves = 0

    def save(obj, f, *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal last_saves
        is_last = ".last.ckpt." in str(getattr(f, "name", ""))
        last_saves += is_last
        if not is_last or last_saves < 2:
            return real_save(obj, f, *args, **kwargs)
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        data = buffer.getvalue()
        f.write(data[: len(data) // 2])
        f.flush()
        folder = Path(f.name).parent
        previous = hashlib.sha256((folder / "last.ckpt").read_bytes()).hexdigest()
        marker.write_text(previous)
        if mode == "hang":
            time.sleep(600)
        elif mode == "full-disk":
            _fill_disk(folder)
            f.write(data[len(data) // 2 :])
            f.flush()
        else:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    torch.save = save
    # every save of last.ckpt goes through torch.save: no hard link to best.ckpt instead
    from cnnlab.runs.checkpoint_io import CrashSafeCheckpointIO

    CrashSafeCheckpointIO.link_checkpoint = lambda self, source, target: False  # type: ignore[method-assign]


if __name__ == "__main__":
    mode, marker, separator, *overrides = sys.argv[1:]
    assert mode in ("hang", "full-disk", "enospc") and separator == "--", sys.argv
    _patch_torch_save(mode, Path(marker))
    from cnnlab.cli.train import main

    sys.argv = ["cnnlab-train", *overrides]
    main()
