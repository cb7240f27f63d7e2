"""The training path without its per-step costs keeps every guarantee (issue 15).

Real Lightning fits on tiny data: the NaN guard that reads the losses every few steps still
names the first bad step and stops before that epoch's checkpoint; the loss and metrics updated
every few batches equal their per-batch values; pictures follow their frequency setting; no
sanity validation for in-memory data; checkpoints written in a background thread are complete
and verified; the autoencoder's prior is the fit to its validation latents.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from cnnlab.callbacks.guards import NonFiniteLossGuard
from cnnlab.errors import ConfigError, TrainingError
from cnnlab.pipeline import build_datamodule, build_task, build_trainer, train
from cnnlab.runs.checkpoint_io import CrashSafeCheckpointIO, verify_checkpoint
from cnnlab.runs.checkpoints import load_checkpoint
from tests.conftest import TINY


class NanFrom(pl.LightningModule):
    """A linear model whose loss turns NaN from training batch `bad` (0-based) on."""

    def __init__(self, bad: int) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 1)
        self.bad = bad
        self.batches = 0

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        loss = self.layer(batch[0]).pow(2).mean()
        self.batches += 1
        return loss * float("nan") if self.batches > self.bad else loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


def nan_fit(tmp_path: Path, bad: int, batches_per_epoch: int = 12) -> tuple[NanFrom, str]:
    data = DataLoader(TensorDataset(torch.randn(batches_per_epoch, 2)), batch_size=1)
    model = NanFrom(bad)
    trainer = pl.Trainer(
        max_epochs=3,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[
            NonFiniteLossGuard(check_every_n_steps=5),
            pl.callbacks.ModelCheckpoint(
                dirpath=tmp_path, filename="epoch{epoch}", auto_insert_metric_name=False
            ),
        ],
        default_root_dir=tmp_path,
    )
    with pytest.raises(TrainingError) as raised:
        trainer.fit(model, data)
    return model, str(raised.value)


def test_the_guard_names_the_first_non_finite_step_though_it_reads_every_5(tmp_path: Path) -> None:
    model, message = nan_fit(tmp_path, bad=2)
    # batch 2 (global step 3 once it stepped) was the first NaN; the check ran after batch 4
    assert message.startswith("train/loss became nan at epoch 0, step 3:")
    assert model.batches == 5


def test_a_nan_in_an_epochs_last_batches_stops_before_its_checkpoint(tmp_path: Path) -> None:
    model, message = nan_fit(tmp_path, bad=11 + 12, batches_per_epoch=12)  # epoch 1, last batch
    assert "at epoch 1, step 24:" in message
    assert model.batches == 24  # checked at the epoch's last batch, not 5 batches later
    assert sorted(p.name for p in tmp_path.glob("*.ckpt")) == ["epoch0.ckpt"]


def test_the_guard_refuses_a_check_interval_below_1() -> None:
    with pytest.raises(ConfigError, match="check_every_n_steps=0 must be at least 1"):
        NonFiniteLossGuard(check_every_n_steps=0)


def test_train_metrics_skip_argument_checks_and_validation_keeps_them(compose_train) -> None:
    cfg = compose_train(TINY)
    task = build_task(cfg, build_datamodule(cfg.data))
    for stage, checked in (("train", False), ("val", True), ("test", True)):
        metrics = task.metrics[f"{stage}_metrics"].values()
        assert {m.validate_args for m in metrics} == {checked}, stage


def test_step_values_are_logged_at_logging_steps_and_epoch_means_once(compose_train) -> None:
    """2 epochs of 20 steps logged every 4: 10 `train/loss_step` values, 4 steps apart."""
    cfg = compose_train([*TINY, "trainer.limit_train_batches=20", "trainer.log_every_n_steps=4"])
    train(cfg)
    run = Path(cfg.paths.output_dir)
    events = EventAccumulator(str(run), size_guidance={"scalars": 0}).Reload()
    steps = [event.step for event in events.Scalars("train/loss_step")]
    assert len(steps) == 10 and {b - a for a, b in itertools.pairwise(steps)} == {4}
    assert len(events.Scalars("train/loss_epoch")) == 2


def test_pictures_follow_their_frequency_and_the_last_epoch(compose_train) -> None:
    cfg = compose_train([*TINY, "trainer.max_epochs=5", "pictures_every_n_epochs=2"])
    train(cfg)
    run = Path(cfg.paths.output_dir)
    events = EventAccumulator(str(run), size_guidance={"images": 0}).Reload()
    # epochs 2 and 4, the last (5), then the validation of the best weights after fit
    assert len(events.Images("val/predictions")) == 4


def test_in_memory_data_gets_no_sanity_validation_unless_asked(compose_train) -> None:
    cfg = compose_train(TINY)
    data = build_datamodule(cfg.data)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert build_trainer(cfg, resolved, data).num_sanity_val_steps == 0
    assert build_trainer(cfg, resolved).num_sanity_val_steps == 2  # data unknown: Lightning's
    cfg.trainer.num_sanity_val_steps = 1
    assert build_trainer(cfg, resolved, data).num_sanity_val_steps == 1


def test_async_checkpoints_are_complete_verified_and_resumable(compose_train) -> None:
    cfg = compose_train([*TINY, "async_checkpoints=true"])
    run = Path(cfg.paths.output_dir)
    data = build_datamodule(cfg.data)
    trainer = build_trainer(cfg, OmegaConf.to_container(cfg, resolve=True), data)
    assert isinstance(trainer.strategy.checkpoint_io.checkpoint_io, CrashSafeCheckpointIO)
    metrics = train(cfg)
    for name in ("best.ckpt", "last.ckpt"):
        path = run / "checkpoints" / name
        assert verify_checkpoint(path) is True
        assert load_checkpoint(path)["global_step"] > 0
    assert 0.0 <= metrics["test/acc"] <= 1.0
    assert not list((run / "checkpoints").glob(".*.tmp"))


def test_the_autoencoders_prior_is_the_fit_to_its_validation_latents(compose_train) -> None:
    cfg = compose_train(
        [
            "experiment=digits_ae",
            "trainer.max_epochs=2",
            "task.prior_fit_samples=100",
            "callbacks.progress_bar.refresh_rate=0",
        ]
    )
    train(cfg)
    run = Path(cfg.paths.output_dir)
    data = build_datamodule(cfg.data)
    task = build_task(cfg, data)
    task.load_state_dict(load_checkpoint(run / "checkpoints" / "last.ckpt")["state_dict"])
    task.eval()
    with torch.no_grad():  # the validation split in order: its first 100 images
        latents = task.model.encode(data.splits["val"][0][:100])
    stored = task.model.prior_mean.clone(), task.model.prior_scale_tril.clone()
    task.model.fit_prior(latents)
    torch.testing.assert_close(stored[0], task.model.prior_mean, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(stored[1], task.model.prior_scale_tril, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("epochs", [2, 3])
def test_last_is_written_every_epoch_and_linked_to_best_when_both_hold_it(
    compose_train, epochs: int
) -> None:
    """Best checkpoints every 2nd epoch: after 2 epochs last.ckpt is best.ckpt's file (one
    write, two names); after 3 it is epoch 2's own file, while best stays at epoch 1.
    (Lightning 2.6 alone would have left last.ckpt at epoch 1.)"""
    every_2 = ["+callbacks.model_checkpoint.every_n_epochs=2", f"trainer.max_epochs={epochs}"]
    cfg = compose_train([*TINY, *every_2])
    train(cfg)
    run = Path(cfg.paths.output_dir)
    best, last = run / "checkpoints" / "best.ckpt", run / "checkpoints" / "last.ckpt"
    assert verify_checkpoint(best) and verify_checkpoint(last)
    assert (best.stat().st_ino == last.stat().st_ino) == (epochs == 2)
    assert load_checkpoint(best)["epoch"] == 1
    assert load_checkpoint(last)["epoch"] == epochs - 1
