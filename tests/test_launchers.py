"""Sweep jobs in other processes (joblib's parallel local jobs, submitit's local mode, which runs
jobs the way its SLURM mode does): every job recorded and summarised from its own process."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import TINY, read_json, run_cli


@pytest.mark.slow
@pytest.mark.parametrize(
    ("plugin", "launcher"),
    [
        (
            "hydra_plugins.hydra_joblib_launcher",
            ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
        ),
        ("hydra_plugins.hydra_submitit_launcher", ["hydra/launcher=submitit_local"]),
    ],
)
def test_launcher_runs_every_job_and_the_summary_lists_them(
    tmp_path: Path, plugin, launcher
) -> None:
    pytest.importorskip(plugin)
    run_cli(
        "train",
        "-m",
        *launcher,
        *TINY,
        "trainer.limit_test_batches=2",
        "task.optimizer.lr=0.001,0.01",
        cwd=tmp_path,
    )
    (summary,) = (tmp_path / "outputs" / "multirun").rglob("summary.csv")
    with open(summary) as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["job"] for row in rows) == ["0", "1"]
    assert {row["status"] for row in rows} == {"ok"}
    for row in rows:
        job = summary.parent / row["run_dir"]
        assert read_json(job / "status.json")["status"] == "ok"
        assert float(row["val/acc"]) == pytest.approx(
            read_json(job / "metrics.json")["val/acc"], abs=1e-4
        )
