"""`cnnlab-train -m <overrides> resume=SWEEP_DIR`: a real sweep made unfinished, then resumed.

The default-run test takes the shared 6-job sweep, makes job 1 unfinished (its metrics.json and
status.json gone: as if killed before testing) and job 5 missing, and resumes it; the slow test
kills a sweep with SIGKILL while job 2 trains and resumes that.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from cnnlab.errors import CnnlabError
from cnnlab.runs.sweep_resume import JobAction, job_action
from tests.conftest import TINY, read_json, run_cli
from tests.runs.conftest import SWEEP_ARGS, flocked_by_another_process


def fingerprint(job_dir: Path) -> dict[str, tuple[int, str]]:
    """Every file of a job directory: (mtime in ns, sha256)."""
    return {
        str(path.relative_to(job_dir)): (
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(job_dir.rglob("*"))
        if path.is_file()
    }


def read_if_there(path: Path) -> str | None:
    """A file's text, or None while it is missing (a checkpoint's checksum is being replaced)."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


@pytest.fixture(scope="module")
def resumed(model_seed_sweep: Path, tmp_path_factory: pytest.TempPathFactory):
    """(complete sweep, the interrupted copy after resuming, fingerprints before, output)."""
    sweep = tmp_path_factory.mktemp("resume") / "sweep"
    shutil.copytree(model_seed_sweep, sweep)  # copy2: mtimes kept
    for name in ("metrics.json", "status.json"):
        (sweep / "1" / name).unlink()
    shutil.rmtree(sweep / "5")
    before = {job: fingerprint(sweep / job) for job in ("0", "2", "3", "4")}
    result = run_cli("train", "-m", *SWEEP_ARGS, f"resume={sweep}", cwd=sweep.parent)
    return model_seed_sweep, sweep, before, result.stdout + result.stderr


def test_finished_jobs_are_skipped_and_left_untouched(resumed) -> None:
    _, sweep, before, output = resumed
    for job, files in before.items():
        assert fingerprint(sweep / job) == files, f"job {job} was touched"
        assert f"sweep job {job}: skip" in output


def test_unfinished_job_continues_from_its_own_checkpoint(resumed) -> None:
    _, sweep, _, output = resumed
    checkpoint = sweep / "1" / "checkpoints" / "last.ckpt"
    assert "sweep job 1: resume" in output
    assert f"Restored all states from the checkpoint at {checkpoint}" in output
    assert read_json(sweep / "1" / "status.json")["status"] == "ok"
    assert (sweep / "1" / "metrics.json").is_file()
    assert "ckpt_path" not in (sweep / "1" / ".hydra" / "overrides.yaml").read_text()


def test_missing_job_runs_and_the_summary_equals_an_uninterrupted_sweep(resumed) -> None:
    complete, sweep, _, output = resumed
    assert "sweep job 5: run" in output
    assert read_json(sweep / "5" / "status.json")["status"] == "ok"
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == [str(n) for n in range(6)]
    assert (sweep / "summary.csv").read_text() == (complete / "summary.csv").read_text()


def test_resume_latest_without_any_sweep_is_one_clear_error(tmp_path: Path) -> None:
    result = run_cli("train", "-m", *SWEEP_ARGS, "resume=latest", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "resume=latest: no sweep under outputs/multirun/" in result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda args: [a for a in args if a != "seed=1,2,3"] + ["seed=1,2"], "missing: seed=1,2,3"),
        (lambda args: [*args, "optimizer=sgd"], "not in the sweep: optimizer=sgd"),
    ],
)
def test_other_overrides_than_the_sweeps_are_refused(model_seed_sweep, tmp_path, change, message):
    result = run_cli(
        "train", "-m", *change(SWEEP_ARGS), f"resume={model_seed_sweep}", cwd=tmp_path, check=False
    )
    assert result.returncode == 2
    assert message in result.stderr and "give exactly: " in result.stderr
    assert "Traceback" not in result.stderr


def test_resume_of_a_run_dir_with_m_is_refused(model_seed_sweep, tmp_path) -> None:
    job = model_seed_sweep / "0"
    result = run_cli("train", "-m", *SWEEP_ARGS, f"resume={job}", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert f"resume={job} with -m: not a sweep directory (no multirun.yaml in it)" in result.stderr


KILL_ARGS = [
    *(a for a in TINY if not a.startswith("trainer.max_epochs")),
    "trainer.max_epochs=4",
    "trainer.limit_test_batches=2",
    "seed=1,2,3,4",
]


@pytest.mark.slow
def test_sweep_killed_during_job_3_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    complete = tmp_path / "complete"
    run_cli("train", "-m", *KILL_ARGS, f"hydra.sweep.dir={complete}", cwd=tmp_path)
    sweep = tmp_path / "killed"
    command = [sys.executable, "-m", "cnnlab.cli.train", "-m", *KILL_ARGS]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [*command, f"hydra.sweep.dir={sweep}"], cwd=tmp_path, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    checkpoint = sweep / "2" / "checkpoints" / "last.ckpt"
    checksum = checkpoint.with_name("last.ckpt.sha256")
    deadline = time.monotonic() + 300
    first = None
    while True:  # until job 3 (number 2) has saved its second epoch's checkpoint
        saved = read_if_there(checksum)
        if first is None:
            first = saved
        elif saved not in (None, first):
            break
        assert process.poll() is None and time.monotonic() < deadline, "job 3 never saved twice"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (sweep / "2" / "metrics.json").exists() and not (sweep / "3").exists()
    epoch = torch.load(checkpoint, map_location="cpu", weights_only=False)["epoch"]
    before = {job: fingerprint(sweep / job) for job in ("0", "1")}
    result = run_cli("train", "-m", *KILL_ARGS, f"resume={sweep}", cwd=tmp_path)
    assert 0 < epoch < 3, f"killed at epoch {epoch}, not during job 3's training"
    assert {job: fingerprint(sweep / job) for job in before} == before
    assert (
        f"Restored all states from the checkpoint at {checkpoint}" in result.stdout + result.stderr
    )
    assert (sweep / "summary.csv").read_text() == (complete / "summary.csv").read_text()


@pytest.fixture
def unfinished_job(model_seed_sweep: Path, tmp_path: Path) -> Path:
    """A copy of a finished job of the shared sweep, its metrics.json and status.json gone."""
    job = tmp_path / "0"
    shutil.copytree(model_seed_sweep / "0", job)
    for name in ("metrics.json", "status.json"):
        (job / name).unlink()
    return job


def test_job_actions_follow_each_jobs_own_records(unfinished_job: Path) -> None:
    assert job_action(unfinished_job) == JobAction.RESUME
    (unfinished_job / "status.json").write_text('{"status": "failed", "error": "E: x"}')
    assert job_action(unfinished_job) == JobAction.RUN  # a failed job starts again
    (unfinished_job / "status.json").write_text('{"status": "ok", "error": null}')
    assert job_action(unfinished_job) == JobAction.SKIP
    assert job_action(unfinished_job.parent / "never_started") == JobAction.RUN


def test_a_damaged_checkpoint_runs_the_job_again(unfinished_job: Path) -> None:
    checkpoint = unfinished_job / "checkpoints" / "last.ckpt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    assert job_action(unfinished_job) == JobAction.RUN


def test_a_job_another_process_trains_in_is_an_error(unfinished_job: Path) -> None:
    with (
        flocked_by_another_process(unfinished_job / "train.lock"),
        pytest.raises(CnnlabError, match="train"),
    ):
        job_action(unfinished_job)
