"""The training path in-process: determinism, the NaN guard and the model/data consistency check."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnlab.errors import ConfigError, TrainingError
from cnnlab.pipeline import train
from tests.conftest import TINY, compose_config, read_json


def train_in(directory: Path, overrides: list[str]) -> dict:
    directory.mkdir(parents=True)
    train(compose_config([*TINY, *overrides], directory))
    return read_json(directory / "metrics.json")


@pytest.mark.parametrize("deterministic", ["false", "true"])
def test_same_seed_gives_identical_metrics(tmp_path: Path, deterministic: str) -> None:
    overrides = ["seed=7", f"trainer.deterministic={deterministic}"]
    first = train_in(tmp_path / "a", overrides)
    second = train_in(tmp_path / "b", overrides)
    assert first == second
    third = train_in(tmp_path / "c", ["seed=8", f"trainer.deterministic={deterministic}"])
    assert third != first  # the seed matters: split, init and order all change


def test_nan_loss_stops_with_advice(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"train/loss became nan .* lower the learning rate"):
        train_in(tmp_path / "run", ["task.optimizer.lr=1e30", "~task.scheduler"])


def test_in_channels_mismatch_is_caught_before_training(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot take this data's images"):
        train_in(tmp_path / "run", ["model.in_channels=3"])


def test_runs_without_a_logger(tmp_path: Path) -> None:
    metrics = train_in(tmp_path / "run", ["logger=none"])
    assert 0.0 <= metrics["test/acc"] <= 1.0
    assert not list((tmp_path / "run").rglob("events.out.tfevents.*"))
