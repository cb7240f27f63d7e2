"""Checkpoints replaced atomically, with a SHA-256 beside them that every reader verifies."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from cnnlab.errors import CheckpointError, StorageError
from cnnlab.pipeline import build_trainer
from cnnlab.runs.checkpoint_io import CrashSafeCheckpointIO, checksum_file, verify_checkpoint
from cnnlab.runs.checkpoints import load_checkpoint
from tests.faults import flip_tensor_bytes

WEIGHT = torch.full((256,), 1.5)


def save(path: Path, weight: torch.Tensor = WEIGHT) -> Path:
    CrashSafeCheckpointIO().save_checkpoint({"state_dict": {"w": weight}}, path)
    return path


def test_a_checkpoint_is_written_with_its_sha256_in_sha256sum_format(tmp_path: Path) -> None:
    path = save(tmp_path / "checkpoints" / "last.ckpt")
    assert sorted(os.listdir(path.parent)) == ["last.ckpt", "last.ckpt.sha256"]
    check = subprocess.run(["sha256sum", "-c", "last.ckpt.sha256"], cwd=path.parent)
    assert check.returncode == 0
    assert verify_checkpoint(path) is True
    assert torch.equal(load_checkpoint(path)["state_dict"]["w"], WEIGHT)


def test_flipped_tensor_bytes_are_refused_by_every_reader(tmp_path: Path) -> None:
    path = save(tmp_path / "last.ckpt")
    flip_tensor_bytes(path)
    # torch itself reads the damaged file without complaint: only the checksum catches it
    damaged = torch.load(path, weights_only=True)["state_dict"]["w"]
    assert not torch.equal(damaged, WEIGHT)
    message = (
        f"{path} is corrupted: its bytes do not match the SHA-256 recorded in "
        "last.ckpt.sha256; use another checkpoint (e.g. best.ckpt) or train again"
    )
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    assert str(error.value) == message
    with pytest.raises(CheckpointError, match="is corrupted"):  # Lightning's resume path
        CrashSafeCheckpointIO().load_checkpoint(path)


def test_a_checkpoint_caught_between_its_two_renames_loads_unverified(tmp_path: Path) -> None:
    """Save removes the old checksum before renaming the new checkpoint into place, then writes
    the new checksum: a crash in between leaves a whole checkpoint without one, never a stale
    checksum beside a good checkpoint."""
    path = save(tmp_path / "last.ckpt")
    checksum_file(path).unlink()
    assert verify_checkpoint(path) is False
    assert torch.equal(load_checkpoint(path)["state_dict"]["w"], WEIGHT)
    # a checksum of another version (put there by hand) is refused like a damaged file
    checksum_file(path).write_text(f"{'0' * 64}  last.ckpt\n")
    with pytest.raises(CheckpointError, match="is corrupted"):
        load_checkpoint(path)
    checksum_file(path).write_text("not a checksum\n")
    with pytest.raises(CheckpointError, match="does not hold a SHA-256 checksum"):
        load_checkpoint(path)


def test_removing_a_checkpoint_removes_its_checksum(tmp_path: Path) -> None:
    path = save(tmp_path / "best.ckpt")
    CrashSafeCheckpointIO().remove_checkpoint(path)
    assert os.listdir(tmp_path) == []


def test_a_link_gives_the_same_bytes_a_second_verified_name(tmp_path: Path) -> None:
    best = save(tmp_path / "best.ckpt")
    last = save(tmp_path / "last.ckpt", torch.zeros(3))  # an older last.ckpt, replaced
    assert CrashSafeCheckpointIO().link_checkpoint(best, last) is True
    assert os.stat(best).st_ino == os.stat(last).st_ino
    assert verify_checkpoint(last) is True
    assert subprocess.run(["sha256sum", "-c", "last.ckpt.sha256"], cwd=tmp_path).returncode == 0
    save(best, torch.ones(4))  # a new best is a new file: last.ckpt keeps the linked bytes
    assert torch.equal(load_checkpoint(last)["state_dict"]["w"], WEIGHT)
    assert sorted(os.listdir(tmp_path)) == [
        "best.ckpt", "best.ckpt.sha256", "last.ckpt", "last.ckpt.sha256",
    ]  # fmt: skip


def test_no_link_from_a_checkpoint_caught_without_its_checksum(tmp_path: Path) -> None:
    best = save(tmp_path / "best.ckpt")
    last = save(tmp_path / "last.ckpt", torch.zeros(3))
    checksum_file(best).unlink()
    assert CrashSafeCheckpointIO().link_checkpoint(best, last) is False
    assert torch.equal(load_checkpoint(last)["state_dict"]["w"], torch.zeros(3))
    assert os.stat(best).st_ino != os.stat(last).st_ino


def test_a_save_that_hits_a_full_disk_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save(tmp_path / "last.ckpt")
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}

    def half_then_full(obj: object, handle, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        handle.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", half_then_full)
    with pytest.raises(StorageError, match=f"cannot write last.ckpt in {tmp_path}: the disk is"):
        save(path, torch.zeros(256))
    after = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    assert after == before
    assert verify_checkpoint(path) is True


@pytest.mark.parametrize("trainer", ["cpu", "ddp_cpu"])
def test_every_trainer_saves_through_the_crash_safe_plugin(compose_train, trainer: str) -> None:
    cfg = compose_train([f"trainer={trainer}"])
    built = build_trainer(cfg, OmegaConf.to_container(cfg, resolve=True))
    assert type(built.strategy).__name__ == (
        "DDPStrategy" if trainer == "ddp_cpu" else "SingleDeviceStrategy"
    )
    assert isinstance(built.strategy.checkpoint_io, CrashSafeCheckpointIO)
