"""Freeze policy and unfreeze schedule in real (tiny) trainings: what trains, when, how fast."""

from __future__ import annotations

import copy
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cnnlab.pipeline import build_datamodule, build_task, build_trainer
from tests.conftest import TINY, compose_config

TARGET = ["experiment=digits59_scratch", *TINY]


class Probe(pl.Callback):
    """Records, at every training step, the trainable parameter count and the group rates."""

    def __init__(self) -> None:
        self.steps: list[tuple[int, int, list[float]]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        trainable = sum(p.numel() for p in pl_module.parameters() if p.requires_grad)
        rates = [group["lr"] for group in trainer.optimizers[0].param_groups]
        self.steps.append((trainer.current_epoch, trainable, rates))


def fit(tmp_path: Path, overrides: list[str]) -> tuple[torch.nn.Module, dict, Probe]:
    """Train the composed config; return the model, its weights before training, the probe."""
    cfg = compose_config([*TARGET, *overrides], tmp_path)
    datamodule = build_datamodule(cfg.data)
    task = build_task(cfg, datamodule)
    before = copy.deepcopy(task.model.state_dict())
    trainer = build_trainer(cfg, OmegaConf.to_container(cfg, resolve=True))
    probe = Probe()
    trainer.callbacks.append(probe)
    trainer.fit(task, datamodule=datamodule)
    return task.model, before, probe


def changed(model: torch.nn.Module, before: dict, prefix: str) -> dict[str, bool]:
    after = model.state_dict()
    return {k: not torch.equal(before[k], after[k]) for k in after if k.startswith(prefix)}


def test_frozen_backbone_stays_bit_identical_and_the_head_learns(tmp_path: Path) -> None:
    model, before, probe = fit(tmp_path, ["callbacks.finetuning.freeze=backbone"])
    for prefix in ("features.", "neck."):  # weights and batch-norm running statistics alike
        assert not any(changed(model, before, prefix).values()), prefix
    assert all(changed(model, before, "head.").values())
    head_size = sum(p.numel() for p in model.head.parameters())
    assert {trainable for _, trainable, _ in probe.steps} == {head_size}


def test_train_bn_lets_frozen_batch_norm_statistics_follow_the_new_data(tmp_path: Path) -> None:
    overrides = ["callbacks.finetuning.freeze=backbone", "callbacks.finetuning.train_bn=true"]
    model, before, _ = fit(tmp_path, overrides)
    moved = changed(model, before, "features.")
    assert moved["features.0.1.running_mean"] and moved["features.0.1.weight"]
    assert not moved["features.0.0.weight"]  # the convolution itself stays frozen


def test_unfreeze_at_epoch_thaws_everything_at_a_fraction_of_the_head_rate(tmp_path: Path) -> None:
    overrides = [
        "trainer.max_epochs=3",
        "callbacks.finetuning.freeze=backbone",
        "callbacks.finetuning.unfreeze_at_epoch=1",
        "callbacks.finetuning.backbone_lr_factor=0.25",
    ]
    model, before, probe = fit(tmp_path, overrides)
    total = sum(p.numel() for p in model.parameters())
    head_size = sum(p.numel() for p in model.head.parameters())
    assert {t for epoch, t, _ in probe.steps if epoch == 0} == {head_size}
    assert {t for epoch, t, _ in probe.steps if epoch >= 1} == {total}
    for epoch, _, rates in probe.steps:
        assert len(rates) == (1 if epoch == 0 else 2)
        if epoch >= 1:  # the ratio holds at every step of the one-cycle schedule
            assert abs(rates[1] - 0.25 * rates[0]) <= 1e-9 * rates[0]
    assert len({rates[0] for epoch, _, rates in probe.steps if epoch >= 1}) > 1  # scheduled
    assert any(changed(model, before, "features.").values())

    events = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0})
    events.Reload()
    logged = [e.value for e in events.Scalars("train/trainable_params")]
    assert logged == [head_size, total, total]


def test_all_but_last_n_and_partial_unfreeze(tmp_path: Path) -> None:
    overrides = [
        "model.hidden=[16]",  # blocks: features.0, features.1, neck
        "callbacks.finetuning.freeze=all_but_last_n",
        "callbacks.finetuning.trainable_blocks=1",
        "callbacks.finetuning.unfreeze_at_epoch=1",
        "callbacks.finetuning.unfreeze_blocks=1",
    ]
    model, before, probe = fit(tmp_path, overrides)
    size = {name: sum(p.numel() for p in m.parameters()) for name, m in model.named_children()}
    last_block = sum(p.numel() for p in model.features[1].parameters())
    assert {t for epoch, t, _ in probe.steps if epoch == 0} == {size["neck"] + size["head"]}
    assert {t for epoch, t, _ in probe.steps if epoch == 1} == {
        size["neck"] + size["head"] + last_block
    }
    assert not any(changed(model, before, "features.0.").values())
    assert any(changed(model, before, "features.1.").values())
