"""callbacks.model_speedups: channels-last and torch.compile as config switches, on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from cnnlab.pipeline import build_datamodule, build_task, build_trainer
from cnnlab.runs.checkpoints import load_checkpoint
from tests.conftest import TINY


def fit(compose_train, *overrides: str) -> tuple[nn.Module, dict]:
    """A tiny real fit through cnnlab's builders; returns the model and the last checkpoint."""
    cfg = compose_train([*TINY, "trainer.max_epochs=1", *overrides])
    datamodule = build_datamodule(cfg.data)
    task = build_task(cfg, datamodule)
    trainer = build_trainer(cfg, OmegaConf.to_container(cfg, resolve=True))
    trainer.fit(task, datamodule=datamodule)
    return task.model, load_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")


def conv_weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, nn.Conv2d)]


def test_channels_last_trains_and_keeps_checkpoint_names(compose_train) -> None:
    model, checkpoint = fit(compose_train, "callbacks.model_speedups.channels_last=true")
    weights = conv_weights(model)
    assert weights and all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    assert not any(w.is_contiguous() for w in weights if w.shape[1] > 1)
    assert {f"model.{k}" for k in model.state_dict()} <= set(checkpoint["state_dict"])


def test_speedups_are_off_by_default(compose_train) -> None:
    model, _ = fit(compose_train)
    assert all(w.is_contiguous() for w in conv_weights(model))
    assert "forward" not in vars(model)  # the class's own forward, not the compiled route


@pytest.mark.slow
def test_compile_trains_the_training_step_once_and_keeps_checkpoint_names(compose_train) -> None:
    """One compilation for the whole fit: a static training batch (the last partial one is
    dropped) and eager validation, so no recompiles for batch sizes or no-grad mode."""
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    model, checkpoint = fit(compose_train, "callbacks.model_speedups.compile=true")
    assert "forward" in vars(model)  # routed through torch.compile while training
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1
    assert not any("_orig_mod" in key for key in checkpoint["state_dict"])
    assert {f"model.{k}" for k in model.state_dict()} <= set(checkpoint["state_dict"])


def test_compiling_drops_the_last_partial_training_batch(compose_train) -> None:
    cfg = compose_train([*TINY, "trainer.limit_train_batches=null"])
    datamodule = build_datamodule(cfg.data)
    batches = len(datamodule.train_dataloader())
    datamodule.drop_last_train = True
    loader = datamodule.train_dataloader()
    sizes = {len(images) for images, _ in loader}
    assert len(datamodule.splits["train"][1]) % datamodule.batch_size  # there is a partial one
    assert len(loader) == batches - 1 and sizes == {datamodule.batch_size}
