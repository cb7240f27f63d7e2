"""`optimizer=` and `scheduler=` choose the task's optimizer and schedule, for every task."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cnnlab.pipeline import train
from tests.conftest import TINY, compose_config

# one tiny real training per task: seconds each, on 8x8 digits or 16x16 canvases
TASKS = {
    "classification": [],
    "finetune": ["task=finetune"],
    "segmentation": ["experiment=canvas_unet", "data.image_size=16", "data.num_images=60"],
    "autoencoder": ["experiment=digits_vae"],
}
INTERVALS = {"onecycle": "step", "cosine": "epoch", "plateau": "epoch", "none": "epoch"}


@pytest.mark.parametrize(
    ("optimizer", "expected"),
    [("adamw", torch.optim.AdamW), ("adam", torch.optim.Adam), ("sgd", torch.optim.SGD)],
)
def test_optimizer_option_builds_its_optimizer_under_task_optimizer(
    optimizer: str, expected: type, tmp_path: Path
) -> None:
    cfg = compose_config([f"optimizer={optimizer}", "task.optimizer.lr=0.02"], tmp_path)
    built = instantiate(cfg.task.optimizer)([torch.nn.Parameter(torch.zeros(1))])
    assert type(built) is expected
    assert built.param_groups[0]["lr"] == 0.02  # the key users type still sets it


@pytest.mark.parametrize("scheduler", sorted(INTERVALS))
def test_scheduler_option_steps_at_its_own_interval(scheduler: str, tmp_path: Path) -> None:
    cfg = compose_config([f"scheduler={scheduler}"], tmp_path)
    assert cfg.task.scheduler_interval == INTERVALS[scheduler]
    assert (cfg.task.scheduler is None) == (scheduler == "none")


def test_an_experiment_keeps_its_learning_rate_under_another_optimizer(tmp_path: Path) -> None:
    cfg = compose_config(["experiment=canvas_unet", "optimizer=sgd"], tmp_path)
    assert cfg.task.optimizer._target_ == "torch.optim.SGD"
    assert cfg.task.optimizer.lr == 0.01  # the recipe's lr, set after the option


@pytest.mark.parametrize("task", sorted(TASKS))
def test_sgd_with_cosine_schedule_trains_every_task(task: str, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    overrides = [*TINY, *TASKS[task], "optimizer=sgd", "scheduler=cosine", "trainer.max_epochs=2"]
    metrics = train(compose_config(overrides, run))
    assert all(torch.isfinite(torch.tensor(value)) for value in metrics.values())
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    lr = [event.value for event in events.Scalars("lr-SGD")]
    # SGD's lr, cosine-annealed per epoch over max_epochs=2: full, then half
    assert lr == pytest.approx([0.01, 0.005])


@pytest.mark.parametrize(("optimizer", "scheduler"), [("adam", "plateau"), ("sgd", "none")])
def test_other_optimizer_and_scheduler_options_train(
    optimizer: str, scheduler: str, tmp_path: Path
) -> None:
    overrides = [*TINY, f"optimizer={optimizer}", f"scheduler={scheduler}"]
    metrics = train(compose_config(overrides, tmp_path))
    assert 0.0 <= metrics["test/acc"] <= 1.0
