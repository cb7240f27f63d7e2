"""Mixed precision as a plain override: `trainer.precision=bf16-mixed` trains every task on CPU."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from cnnlab.pipeline import train
from cnnlab.runs.checkpoints import load_checkpoint
from tests.conftest import read_json

CONF = Path(__file__).resolve().parents[1] / "conf"
# one offline recipe per task (conf/task/<name>.yaml)
TASK_EXPERIMENTS = {
    "classification": ["experiment=digits_cnn", "data.image_size=8"],
    "finetune": ["experiment=digits59_scratch", "data.image_size=8"],
    "autoencoder": ["experiment=digits_ae"],
    "segmentation": ["experiment=canvas_unet", "data.image_size=32", "data.num_images=120"],
}
SHORT = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "callbacks.progress_bar.refresh_rate=0",
]


def test_every_task_has_a_precision_case() -> None:
    assert {p.stem for p in (CONF / "task").glob("*.yaml")} <= set(TASK_EXPERIMENTS)


@pytest.mark.parametrize("task", sorted(TASK_EXPERIMENTS))
def test_bf16_mixed_trains_each_task_on_cpu(task: str, compose_train) -> None:
    overrides = TASK_EXPERIMENTS[task]
    if not (CONF / "experiment" / f"{overrides[0].split('=')[1]}.yaml").is_file():
        pytest.skip(f"{overrides[0]} does not exist (yet)")
    cfg = compose_train([*overrides, *SHORT, "trainer.precision=bf16-mixed"])
    metrics = train(cfg)
    assert metrics and all(math.isfinite(v) for v in metrics.values())
    run_dir = Path(cfg.paths.output_dir)
    assert read_json(run_dir / "metrics.json") == pytest.approx(metrics)
    checkpoint = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert checkpoint["cnnlab_config"]["trainer"]["precision"] == "bf16-mixed"
    # weights stay float32 (autocast computes in bf16): the checkpoint loads into any precision
    assert {t.dtype for t in checkpoint["state_dict"].values() if t.is_floating_point()} == {
        torch.float32
    }
