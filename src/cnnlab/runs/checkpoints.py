"""Reading cnnlab checkpoints safely, and the config that every checkpoint carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from cnnlab.errors import CheckpointError
from cnnlab.runs.checkpoint_io import verify_checkpoint
from cnnlab.runs.layout import BEST_CHECKPOINT

CONFIG_KEY = "cnnlab_config"


class ConfigInCheckpoint(pl.Callback):
    """Store the run's resolved config in every checkpoint, so a lone .ckpt rebuilds its model."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[CONFIG_KEY] = self.config


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """torch.load with weights_only=True (no code runs), with clear errors for bad files.

    A checkpoint with a recorded SHA-256 beside it (cnnlab.runs.checkpoint_io) is verified first.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise CheckpointError(
            f"{path} is a directory; give a checkpoint file such as {path / BEST_CHECKPOINT}"
        )
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist: check the path (ckpt_path=...)")
    verify_checkpoint(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError as error:
        raise CheckpointError(
            f"cannot read checkpoint {path} ({error.strerror}): check its permissions"
        ) from None
    except Exception as error:
        # A file of arbitrary bytes makes the restricted unpickler fail in arbitrary ways
        # (UnpicklingError, EOFError, IndexError on a garbled opcode stream, OSError on a cut
        # zip archive...): whichever it is, the file is not a checkpoint we can read. Of the
        # error we keep its first sentence: torch's weights_only advice after it does not apply.
        text = str(error).strip()
        first_line = type(error).__name__ + (
            f": {text.splitlines()[0].split('. ')[0]}" if text else ""
        )
        raise CheckpointError(
            f"cannot read checkpoint {path}: it is corrupt, truncated or not a PyTorch checkpoint "
            f"({first_line})"
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} is not a Lightning checkpoint (no 'state_dict' in it)")
    return checkpoint


def checkpoint_config(checkpoint: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """The run config stored in a cnnlab checkpoint."""
    if CONFIG_KEY not in checkpoint:
        raise CheckpointError(
            f"{path} was not written by cnnlab (it has no stored run config), so cnnlab cannot "
            "rebuild its model"
        )
    config = checkpoint[CONFIG_KEY]
    if not isinstance(config, dict):  # e.g. YAML text, which would be parsed unchecked
        raise CheckpointError(f"{path} has a damaged run config (not a mapping of config keys)")
    return config
