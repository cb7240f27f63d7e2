"""One GPU per sweep job: a real joblib sweep over a pool of two fake GPU ids, and the claims."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from omegaconf import DictConfig

from cnnlab.errors import ConfigError
from cnnlab.runs.gpus import claim_gpus, claimed_ids, release
from cnnlab.runs.layout import GPU_CLAIMS_DIR, GPU_POOL_ENV
from tests.conftest import TINY, read_json, run_cli
from tests.runs.conftest import flocked_by_another_process


def test_parallel_workers_get_different_gpus_recorded_in_environment_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(GPU_POOL_ENV, "7,9")
    sweep = tmp_path / "sweep"
    args = [a for a in TINY if not a.startswith("trainer.max_epochs")]
    run_cli(
        "train", "-m", *args, "trainer.max_epochs=1", "trainer.limit_test_batches=1", "seed=1,2",
        "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )  # fmt: skip
    devices = [read_json(sweep / job / "environment.json")["cuda_visible_devices"] for job in "01"]
    assert sorted(devices) == ["7", "9"]
    assert sorted(p.name for p in (sweep / GPU_CLAIMS_DIR).iterdir()) == ["7.lock", "9.lock"]


def test_a_claim_held_by_another_process_is_not_given_out(tmp_path: Path) -> None:
    with flocked_by_another_process(tmp_path / "0.lock"):
        held = claim_gpus(tmp_path, ["0", "1", "2"], 2, first=0)
        assert claimed_ids(held) == ["1", "2"]
        release(held)
    held = claim_gpus(tmp_path, ["0", "1", "2"], 1, first=0)  # its claim went with the process
    assert claimed_ids(held) == ["0"]
    release(held)


def test_more_gpus_per_job_than_the_pool_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="gpus_per_job=3 but the GPU pool has 2"):
        claim_gpus(tmp_path, ["0", "1"], 3)


def test_the_basic_launcher_leaves_gpus_alone(model_seed_sweep: Path) -> None:
    """Its jobs share one process, where CUDA is set up once: claims would not take effect."""
    for job in sorted(p for p in model_seed_sweep.iterdir() if p.is_dir()):
        assert read_json(job / "environment.json")["cuda_visible_devices"] is None
    assert not (model_seed_sweep / GPU_CLAIMS_DIR).exists()


def test_a_pool_too_small_for_one_job_stops_the_sweep_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(GPU_POOL_ENV, "7,9")
    result = run_cli(
        "train", "-m", *TINY, "seed=1,2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
        "hydra.callbacks.gpus.gpus_per_job=3", f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "gpus_per_job=3 but the GPU pool has 2 (7,9)" in result.stderr
    assert not list(tmp_path.rglob("metrics.json"))


def test_a_worker_whose_cuda_is_set_up_claims_its_own_gpus_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Joblib reuses workers; CUDA reads CUDA_VISIBLE_DEVICES once per process. (No GPU here:
    whether CUDA is set up is the one thing this test decides.)"""
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from cnnlab.runs import gpus

    monkeypatch.setenv(GPU_POOL_ENV, "7,9")
    monkeypatch.setattr(gpus, "_process_ids", [])

    launcher = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"}

    def job(number: int) -> DictConfig:
        hydra = {"mode": RunMode.MULTIRUN, "job": {"num": number}, "launcher": launcher}
        return OmegaConf.create({"hydra": {**hydra, "sweep": {"dir": str(tmp_path)}}})

    callback = gpus.GpuPerJob()
    callback.on_job_start(job(0))
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "7"
    callback.on_job_end(job(0))
    monkeypatch.setattr(gpus, "cuda_initialised", lambda: False)
    callback.on_job_start(job(1))  # CUDA not set up yet: the id job 1 points at
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "9"
    callback.on_job_end(job(1))
    monkeypatch.setattr(gpus, "cuda_initialised", lambda: True)
    callback.on_job_start(job(2))  # set up with 9: 9 again, not the 7 job 2 points at
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "9"
    callback.on_job_end(job(2))
