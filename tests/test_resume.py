"""Resuming interrupted runs (kill -9, SIGTERM) in their own run directory, as a user does."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from cnnlab.errors import ConfigError
from cnnlab.runs.checkpoint_io import verify_checkpoint
from cnnlab.runs.resume import resumed_config
from tests.conftest import TINY, read_json, run_cli, run_dirs
from tests.faults import FAULTS, tmpfs

# 4 epochs of 30 batches: long enough that a kill right after epoch 1's checkpoint lands in epoch 2
FOUR_EPOCHS = [
    *(o for o in TINY if not o.startswith(("trainer.max_epochs", "trainer.limit_train_batches"))),
    "trainer.max_epochs=4",
    "trainer.limit_train_batches=30",
    "trainer.limit_test_batches=2",
    "data.batch_size=8",
]


def start_training(
    cwd: Path, *args: str, command: tuple[str, ...] = ("-m", "cnnlab.cli.train")
) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, *command, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_first_checkpoint(cwd: Path, process: subprocess.Popen) -> Path:
    """The run dir, once its end-of-epoch-1 last.ckpt is completely written; the trainer is
    then paused (SIGSTOP), so the signal the test sends next lands in epoch 2, however fast
    epoch 2 is and however slowly this process is scheduled (last.ckpt is written every epoch)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        for checkpoint in (cwd / "outputs").rglob("last.ckpt"):
            process.send_signal(signal.SIGSTOP)
            try:
                torch.load(checkpoint, map_location="cpu", weights_only=True)
            except Exception:  # still being written
                process.send_signal(signal.SIGCONT)
                continue
            return checkpoint.parent.parent
        time.sleep(0.01)
    process.kill()
    raise AssertionError(f"no checkpoint appeared:\n{process.communicate()[0][-3000:]}")


def checkpoint_progress(run_dir: Path) -> tuple[int, int]:
    checkpoint = torch.load(
        run_dir / "checkpoints/last.ckpt", map_location="cpu", weights_only=True
    )
    return checkpoint["epoch"], checkpoint["global_step"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    cwd = tmp_path_factory.mktemp("uninterrupted")
    run_cli("train", *FOUR_EPOCHS, cwd=cwd)
    (run_dir,) = run_dirs(cwd / "outputs")
    return read_json(run_dir / "metrics.json")


def test_kill_9_in_epoch_2_then_resume_ends_as_if_never_stopped(
    tmp_path: Path, uninterrupted
) -> None:
    process = start_training(tmp_path, *FOUR_EPOCHS)
    run_dir = wait_for_first_checkpoint(tmp_path, process)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert checkpoint_progress(run_dir) == (0, 30)  # epoch 1 saved, epoch 2 lost
    assert not (run_dir / "metrics.json").exists()
    overrides = (run_dir / ".hydra/overrides.yaml").read_text()
    environment = (run_dir / "environment.json").read_text()

    result = run_cli("train", f"resume={run_dir}", cwd=tmp_path)
    assert f"Resuming {run_dir}" in result.stdout
    assert run_dirs(tmp_path / "outputs") == [run_dir]  # continued in place, no new run dir
    assert read_json(run_dir / "metrics.json") == uninterrupted
    assert (run_dir / ".hydra/overrides.yaml").read_text() == overrides
    assert (run_dir / "environment.json").read_text() == environment


def test_sigterm_saves_a_checkpoint_and_resume_latest_finishes_the_run(tmp_path: Path) -> None:
    process = start_training(tmp_path, *FOUR_EPOCHS)
    run_dir = wait_for_first_checkpoint(tmp_path, process)
    epoch_1 = (run_dir / "checkpoints/last.ckpt").stat().st_mtime_ns
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGCONT)  # paused by wait_for_first_checkpoint
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 128 + signal.SIGTERM, output
    assert "Interrupted by SIGTERMException: saved" in output
    assert f"cnnlab-train resume={run_dir}" in output
    assert (run_dir / "checkpoints/last.ckpt").stat().st_mtime_ns > epoch_1
    assert verify_checkpoint(run_dir / "checkpoints/last.ckpt")  # saved through the same plugin
    assert checkpoint_progress(run_dir)[1] >= 30
    assert not (run_dir / "metrics.json").exists()

    run_cli("train", "resume=latest", cwd=tmp_path)
    assert run_dirs(tmp_path / "outputs") == [run_dir]
    assert set(read_json(run_dir / "metrics.json")) >= {"val/acc", "test/acc"}


def test_kill_9_while_last_ckpt_is_written_keeps_the_previous_one(
    tmp_path: Path, uninterrupted
) -> None:
    """The second save of last.ckpt writes half, then hangs (tests/faults.py); meanwhile a second
    `resume` of the run is refused, naming the trainer's PID. After kill -9 the epoch-1 last.ckpt
    is whole, and resume=latest ends with the metrics of a run that never stopped. The outputs
    folder is a tmpfs where one can be mounted: another file system than the temp folder."""
    marker = tmp_path / "previous.sha256"
    with tmpfs(tmp_path / "outputs") as mounted:
        print(f"outputs on a tmpfs: {mounted}")
        process = start_training(
            tmp_path, *FOUR_EPOCHS, command=("-P", str(FAULTS), "hang", str(marker), "--")
        )
        deadline = time.monotonic() + 300
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), process.communicate(timeout=60)[0][-3000:]
        (run_dir,) = run_dirs(tmp_path / "outputs")
        last = run_dir / "checkpoints/last.ckpt"

        concurrent = run_cli("train", f"resume={run_dir}", cwd=tmp_path, check=False)
        assert concurrent.returncode == 2
        assert f"being trained by process {process.pid}" in concurrent.stderr

        process.send_signal(signal.SIGKILL)
        process.communicate()
        assert hashlib.sha256(last.read_bytes()).hexdigest() == marker.read_text()
        assert verify_checkpoint(last)
        assert checkpoint_progress(run_dir) == (0, 30)

        result = run_cli("train", "resume=latest", cwd=tmp_path)
        assert f"Resuming {run_dir.relative_to(tmp_path)}" in result.stdout
        assert read_json(run_dir / "metrics.json") == uninterrupted
        assert not list(run_dir.rglob("*.tmp"))  # the killed save's half file was cleaned up


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["resume=latest"], "no unfinished run"),
        (["resume=nowhere"], "not a run directory"),
        (["resume=latest", "seed=1"], "takes no other arguments"),
    ],
)
def test_resume_refuses_what_it_cannot_continue(tmp_path: Path, monkeypatch, args, message) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        resumed_config(args)
