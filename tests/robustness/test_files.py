"""Catalogue: damaged checkpoints, busy runs and full disks, through the real commands.

Each case copies one tiny trained run into the `outputs` folder, damages or occupies it, runs the
command a user would, and checks the exit status, the one-sentence message and that every file
that was there before is unchanged.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.runs.checkpoint_io import checksum_file, verify_checkpoint
from tests.conftest import TINY, run_cli, run_dirs
from tests.faults import FAULTS, flip_tensor_bytes, tmpfs
from tests.robustness.conftest import assert_one_sentence_error, assert_unchanged, snapshot

LAST = Path("checkpoints/last.ckpt")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("trained")
    run_cli("train", *TINY, cwd=cwd)
    (run_dir,) = run_dirs(cwd / "outputs")
    return run_dir


def unfinished_copy(trained: Path, outputs: Path, name: str) -> Path:
    """A copy of the trained run without metrics.json: resume= takes it as interrupted."""
    run_dir = outputs / "classification" / name
    shutil.copytree(trained, run_dir)
    (run_dir / "metrics.json").unlink()
    return run_dir


def hold_lock(run_dir: Path) -> subprocess.Popen:
    """Another process that trains in `run_dir`, as far as its lock says."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from cnnlab.runs.lock import run_lock\n"
            "with run_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(600)",
            str(run_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline() == "locked\n"
    return holder


def test_eval_refuses_a_checkpoint_whose_tensor_bytes_were_flipped(
    trained: Path, outputs: Path
) -> None:
    run_dir = shutil.copytree(trained, outputs / "copied")
    flip_tensor_bytes(run_dir / "checkpoints/best.ckpt")
    before = snapshot(run_dir)
    result = run_cli("eval", f"ckpt_path={run_dir}/checkpoints/best.ckpt", cwd=outputs, check=False)
    assert_one_sentence_error(
        result,
        f"{run_dir}/checkpoints/best.ckpt is corrupted: its bytes do not match the SHA-256",
    )
    assert_unchanged(before, run_dir)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (flip_tensor_bytes, "last.ckpt is corrupted: its bytes do not match the SHA-256"),
        (lambda path: path.write_bytes(b""), ""),  # the loader's own message names the file
        (
            lambda path: checksum_file(path).write_text("garbage\n"),
            "last.ckpt.sha256 does not hold a SHA-256 checksum",
        ),
    ],
    ids=["flipped-bytes", "empty", "bad-checksum-file"],
)
def test_resume_of_a_run_with_a_damaged_last_checkpoint(
    trained: Path, outputs: Path, damage, message: str
) -> None:
    run_dir = unfinished_copy(trained, outputs, "damaged")
    damage(run_dir / LAST)
    before = snapshot(outputs)
    result = run_cli("train", f"resume={run_dir}", cwd=outputs, check=False)
    assert_one_sentence_error(result, str(run_dir / LAST), message)
    assert_unchanged(before, outputs)


def test_resume_latest_skips_a_damaged_run_and_resumes_the_newest_intact_one(
    trained: Path, outputs: Path
) -> None:
    intact = unfinished_copy(trained, outputs, "older")
    damaged = unfinished_copy(trained, outputs, "newer")
    flip_tensor_bytes(damaged / LAST)  # also makes it the newest last.ckpt
    before = snapshot(damaged)
    result = run_cli("train", "resume=latest", cwd=outputs)
    assert f"resume=latest: skipping {damaged}: {damaged / LAST} is corrupted" in result.stdout
    assert f"Resuming {intact}" in result.stdout
    assert (intact / "metrics.json").is_file()
    assert_unchanged(before, damaged)


def test_resume_latest_with_only_damaged_runs(trained: Path, outputs: Path) -> None:
    damaged = unfinished_copy(trained, outputs, "damaged")
    flip_tensor_bytes(damaged / LAST)
    before = snapshot(outputs)
    result = run_cli("train", "resume=latest", cwd=outputs, check=False)
    assert_one_sentence_error(result, "no unfinished run under", "can be resumed (1 skipped")
    assert f"skipping {damaged}: {damaged / LAST} is corrupted" in result.stdout
    assert_unchanged(before, outputs)


@pytest.mark.parametrize("spec", ["path", "latest"])
def test_resume_of_a_run_another_process_trains_names_its_pid(
    trained: Path, outputs: Path, spec: str
) -> None:
    run_dir = unfinished_copy(trained, outputs, "busy")
    holder = hold_lock(run_dir)
    try:
        before = snapshot(outputs)
        resume = str(run_dir) if spec == "path" else "latest"
        result = run_cli("train", f"resume={resume}", cwd=outputs, check=False)
    finally:
        holder.kill()
        holder.wait()
    busy = f"{run_dir} is being trained by process {holder.pid}, which holds train.lock"
    if spec == "path":
        assert_one_sentence_error(result, busy, f"(kill {holder.pid})")
    else:
        assert_one_sentence_error(result, "can be resumed (1 skipped")
        assert f"skipping {run_dir}: {busy}" in result.stdout
    assert_unchanged(before, outputs)


def test_a_full_disk_during_a_checkpoint_save_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real ENOSPC on a small tmpfs where one can be mounted (root); simulated elsewhere."""
    outputs, marker = tmp_path / "disk", tmp_path / "previous.sha256"
    with tmpfs(outputs, size="32m") as mounted:
        monkeypatch.setenv("CNNLAB_LOG_DIR", str(outputs))
        mode = "full-disk" if mounted else "enospc"
        result = subprocess.run(
            [sys.executable, "-P", str(FAULTS), mode, str(marker), "--", *TINY],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        (run_dir,) = run_dirs(outputs)
        folder = run_dir / "checkpoints"
        assert_one_sentence_error(
            result,
            f"cannot write last.ckpt in {folder}: the disk is full (No space left on device); "
            "the previous last.ckpt is kept unchanged",
        )
        assert snapshot(folder)["last.ckpt"] == marker.read_text()  # byte for byte
        assert verify_checkpoint(folder / "last.ckpt")
        assert not list(folder.glob(".*.tmp"))
        assert not (run_dir / "metrics.json").exists()
