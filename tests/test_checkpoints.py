"""Checkpoints load without running code, and bad ones say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cnnlab.config.trust import check_trusted
from cnnlab.errors import CheckpointError, ConfigError
from cnnlab.runs.checkpoints import checkpoint_config, load_checkpoint


class Payload:
    """A pickled object: weights_only loading must refuse it instead of running its code."""


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "extra": Payload()}, path)
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(path)


def test_truncated_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "cut.ckpt"
    torch.save({"state_dict": {"w": torch.ones(1000)}}, path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="corrupt, truncated"):
        load_checkpoint(path)


def test_random_bytes_of_any_length_are_one_clear_error(tmp_path: Path) -> None:
    """Garbage makes torch's restricted unpickler fail with many exception types (IndexError,
    KeyError, UnicodeDecodeError, ...); each must become the same CheckpointError."""
    generator = torch.Generator().manual_seed(0)
    path = tmp_path / "random.ckpt"
    for size in range(1, 4000, 37):
        data = torch.randint(0, 256, (size,), dtype=torch.uint8, generator=generator)
        path.write_bytes(data.numpy().tobytes())
        with pytest.raises(CheckpointError, match="corrupt, truncated or not a PyTorch checkpoint"):
            load_checkpoint(path)


def test_directory_and_foreign_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="is a directory"):
        load_checkpoint(tmp_path)
    path = tmp_path / "plain.pt"
    torch.save({"weight": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match="not a Lightning checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="not written by cnnlab"):
        checkpoint_config({"state_dict": {}}, path)


def test_foreign_targets_refused_unless_trusted() -> None:
    config = {
        "model": {"_target_": "cnnlab.models.simple_cnn.SimpleCNN"},
        "callbacks": {"x": {"_target_": "os.system", "_args_": ["echo hi"]}},
    }
    with pytest.raises(ConfigError, match=r"callbacks\.x\._target_=os\.system"):
        check_trusted(config, "run.ckpt")
    check_trusted(config, "run.ckpt", trust=True)
    check_trusted({"model": config["model"]}, "run.ckpt")
