"""Lightning DDP under Hydra on CPU (gloo, 2 processes): single runs and `-m` sweeps, real CLI."""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cnnlab.config.resolvers import unique_dir
from cnnlab.distributed import distributed_job, job_args
from cnnlab.runs.checkpoints import load_checkpoint
from cnnlab.runs.layout import RUN_DIR_ENV
from tests.conftest import TINY, read_json, run_cli, run_dirs

DDP = ["trainer=ddp_cpu", "trainer.devices=2"]


def dirs_outside(root: Path, run_dir: Path) -> set[Path]:
    """Directories under `root` that are not `run_dir` or inside it."""
    return {p for p in root.rglob("*") if p.is_dir() and run_dir not in (p, *p.parents)}


def assert_one_complete_run(run_dir: Path) -> dict[str, float]:
    """Rank 0 wrote the run's files once; rank 1 only left its Hydra job log beside them."""
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert checkpoints == ["best.ckpt", "best.ckpt.sha256", "last.ckpt", "last.ckpt.sha256"]
    assert (run_dir / "train.lock").read_text().strip().isdigit()  # the launching process's PID
    assert (run_dir / "environment.json").is_file()
    assert (run_dir / "train_ddp_process_1.log").is_file()  # rank 1 ran in this directory
    assert not (run_dir / ".pl_hydra_rank_1").exists()
    metrics = read_json(run_dir / "metrics.json")
    assert {"val/acc", "val/loss", "test/acc", "test/loss"} <= set(metrics)
    assert all(math.isfinite(v) for v in metrics.values())
    assert all(0.0 <= metrics[k] <= 1.0 for k in ("val/acc", "test/acc"))
    return metrics


def test_ddp_cpu_run_writes_one_run_dir(tmp_path: Path) -> None:
    run_cli("train", *TINY, *DDP, "trainer.max_epochs=3", cwd=tmp_path)
    (run_dir,) = run_dirs(tmp_path / "outputs")
    # no directory claimed by the second rank, or by Lightning reading hydra.run.dir to relaunch it
    assert dirs_outside(tmp_path / "outputs", run_dir) == {run_dir.parent}
    metrics = assert_one_complete_run(run_dir)
    assert metrics["test/acc"] > 0.2  # 3 short epochs: clearly above chance (0.1)

    # the checkpoint is the DDP model's and its config says how it was trained
    checkpoint = load_checkpoint(run_dir / "checkpoints" / "best.ckpt")
    assert checkpoint["cnnlab_config"]["trainer"]["strategy"] == "ddp"
    assert all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values())

    # one TensorBoard writer (rank 0): each validation epoch's val/acc appears exactly once
    accumulator = EventAccumulator(str(run_dir)).Reload()
    val_steps = [event.step for event in accumulator.Scalars("val/acc")]
    assert len(val_steps) == len(set(val_steps))
    assert {3, 7, 11} <= set(val_steps)  # 4 steps per epoch on each rank


def test_ddp_cpu_sweep_gives_one_dir_per_job_with_ranks_inside(tmp_path: Path) -> None:
    """`-m` with plain ddp: each relaunched rank joins its job instead of rerunning the sweep.

    The two jobs build different models: had a rank composed another job's config, DDP would
    fail on mismatched parameter shapes across ranks.
    """
    run_cli("train", "-m", *TINY, *DDP, "run_name=sweep", "model.channels=[8],[8,16]", cwd=tmp_path)
    outputs = tmp_path / "outputs"
    (sweep_dir,) = (outputs / "multirun" / "sweep").iterdir()
    # nothing else under outputs: no second sweep dir (per rank), no stray run dir
    assert dirs_outside(outputs, sweep_dir) == {outputs / "multirun", sweep_dir.parent}
    jobs = run_dirs(sweep_dir)
    assert [job.name for job in jobs] == ["0", "1"]
    channels = []
    for job in jobs:
        assert_one_complete_run(job)
        config = load_checkpoint(job / "checkpoints" / "last.ckpt")["cnnlab_config"]
        channels.append(config["model"]["channels"])
    assert channels == [[8], [8, 16]]


def test_job_args_compose_the_same_job_as_one_run(compose_train, tmp_path: Path) -> None:
    """What a relaunched rank runs: config flags kept, sweep settings dropped, run dir pinned."""
    compose_train(["seed=3", "hydra.job.chdir=true", "hydra.mode=MULTIRUN"])
    argv = ["-cn", "train", "-m", "seed=3,4"]
    args = job_args(argv, tmp_path / "run")
    assert args == [
        "-cn",
        "train",
        "hydra.job.chdir=true",
        "seed=3",
        f'hydra.run.dir="{tmp_path / "run"}"',
        "hydra.output_subdir=null",
    ]


def test_run_dir_is_reused_only_inside_a_job(tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    with distributed_job(job_dir):
        assert os.environ[RUN_DIR_ENV] == str(job_dir)
        assert unique_dir(str(tmp_path / "other")) == str(job_dir)
    assert RUN_DIR_ENV not in os.environ
    assert unique_dir(str(tmp_path / "other")) == str(tmp_path / "other")
