"""Catalogue: everyday mistakes given to the real commands end in one sentence, not a traceback.

Also: a config rejected before training leaves no run directory behind, a damaged run is a row
of cnnlab-compare (not the end of its table), and train.log holds what the console showed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import TINY, run_cli, run_dirs
from tests.robustness.conftest import assert_one_sentence_error, assert_unchanged, snapshot


def checkpoint_file(finished_run: Path, folder: Path, kind: str) -> Path:
    """A file given as ckpt_path: missing, random bytes, or a checkpoint cut short."""
    path = folder / f"{kind}.ckpt"
    if kind == "random":
        path.write_bytes(os.urandom(4096))
    elif kind == "cut":
        path.write_bytes((finished_run / "checkpoints/best.ckpt").read_bytes()[:5000])
    return path


CHECKPOINTS = {
    "missing": "does not exist",
    "random": "corrupt, truncated or not a PyTorch checkpoint",
    "cut": "corrupt, truncated or not a PyTorch checkpoint",
}


@pytest.mark.parametrize("command", ["eval", "train"])
@pytest.mark.parametrize(("kind", "message"), CHECKPOINTS.items(), ids=CHECKPOINTS.keys())
def test_a_bad_checkpoint_file(
    finished_run: Path, tmp_path: Path, outputs: Path, command: str, kind: str, message: str
) -> None:
    """cnnlab-eval ckpt_path=..., and cnnlab-train ckpt_path=... (checked before any data)."""
    path = checkpoint_file(finished_run, tmp_path, kind)
    before = snapshot(tmp_path)
    args = [*TINY] if command == "train" else []
    result = run_cli(command, *args, f"ckpt_path={path}", cwd=tmp_path, check=False)
    assert_one_sentence_error(result, str(path), message)
    assert_unchanged(before, tmp_path)
    assert run_dirs(outputs) == []


@pytest.mark.parametrize("command", ["eval", "generate"])
def test_no_ckpt_path(tmp_path: Path, outputs: Path, command: str) -> None:
    result = run_cli(command, cwd=tmp_path, check=False)
    assert_one_sentence_error(result, "ckpt_path is required", "ckpt_path=RUN_DIR/")
    assert run_dirs(outputs) == []


REJECTED = {
    "wrong type": (["trainer.max_epochs=abc"], "trainer.max_epochs='abc'"),
    "missing data settings": (["data=image_folder"], "data.root"),
    # found by the first real batch, after the run directory was locked
    "model that does not fit the data": (["model.num_classes=3"], "task.num_classes is 10"),
}


@pytest.mark.parametrize(("args", "message"), REJECTED.values(), ids=REJECTED.keys())
def test_a_rejected_config_leaves_no_run_directory(
    tmp_path: Path, outputs: Path, args: list[str], message: str
) -> None:
    (outputs / "earlier").mkdir()  # folders that were there stay
    result = run_cli("train", *args, cwd=tmp_path, check=False)
    assert_one_sentence_error(result, message)
    assert [p.name for p in outputs.iterdir()] == ["earlier"]


def unwritable_log_dir(tmp_path: Path) -> Path:
    """A folder this user cannot create anything in; root ignores file modes, so for root sysfs."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o555)
        return folder / "outputs"
    try:
        os.mkdir("/sys/cnnlab-probe")
    except OSError:
        return Path("/sys/cnnlab-outputs")
    os.rmdir("/sys/cnnlab-probe")
    pytest.skip("no read-only folder for root here")


@pytest.mark.parametrize("where", ["read-only", "below a file"])
def test_an_unwritable_log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    if where == "read-only":
        log_dir = unwritable_log_dir(tmp_path)
    else:
        (tmp_path / "a-file").write_text("")
        log_dir = tmp_path / "a-file" / "outputs"
    monkeypatch.setenv("CNNLAB_LOG_DIR", str(log_dir))
    result = run_cli("train", *TINY, cwd=tmp_path, check=False)
    assert_one_sentence_error(result, "cannot create the run directory", "CNNLAB_LOG_DIR")
    assert not log_dir.exists()


def two_runs(finished_run: Path, tmp_path: Path) -> tuple[Path, Path]:
    good, bad = tmp_path / "runs" / "good", tmp_path / "runs" / "bad"
    shutil.copytree(finished_run, good)
    shutil.copytree(finished_run, bad)
    return good, bad


DAMAGE = {
    "metrics.json": ("metrics.json", '{"val/acc": 0.9', "metrics.json is damaged"),
    "status.json": ("status.json", "{not json", "status.json is damaged"),
    "config.yaml": (".hydra/config.yaml", "model: [unclosed", "config.yaml is damaged"),
}


@pytest.mark.parametrize(("file", "content", "problem"), DAMAGE.values(), ids=DAMAGE.keys())
def test_compare_shows_a_damaged_run_as_a_row(
    finished_run: Path, tmp_path: Path, file: str, content: str, problem: str
) -> None:
    good, bad = two_runs(finished_run, tmp_path)
    (bad / file).write_text(content)
    before = snapshot(tmp_path)
    result = run_cli("compare", str(tmp_path / "runs"), "--format", "csv", cwd=tmp_path)
    rows = {line.split(",")[0]: line for line in result.stdout.splitlines()[1:]}
    assert set(rows) == {str(good), str(bad)}
    assert ",damaged," in rows[str(bad)] and problem in rows[str(bad)]
    accuracy = json.loads((good / "metrics.json").read_text())["val/acc"]
    assert ",ok," in rows[str(good)] and repr(accuracy) in rows[str(good)]
    assert_unchanged(before, tmp_path)


def test_reproduce_checks_the_original_metrics_before_rerunning(
    finished_run: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "runs" / "original"
    shutil.copytree(finished_run, run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    (run_dir / "metrics.json").write_text(json.dumps({**metrics, "val/acc": "high"}))
    before = snapshot(tmp_path)
    result = run_cli("reproduce", str(run_dir), cwd=tmp_path, check=False)
    assert_one_sentence_error(result, "metrics.json is damaged", "val/acc is 'high', not a number")
    assert_unchanged(before, tmp_path)
    assert [p.name for p in run_dir.parent.iterdir()] == ["original"]  # nothing was rerun


def test_reproduce_of_a_folder_that_is_no_run(tmp_path: Path) -> None:
    result = run_cli("reproduce", str(tmp_path), cwd=tmp_path, check=False)
    assert_one_sentence_error(result, "is not a cnnlab run directory")


def test_a_failed_sweep_ends_with_its_summary_not_a_traceback(tmp_path: Path) -> None:
    result = run_cli("train", "-m", *TINY, "seed=1,abc", cwd=tmp_path, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    (summary,) = (tmp_path / "outputs" / "multirun").rglob("summary.md")
    assert f"1 of 2 sweep jobs failed; see {summary.relative_to(tmp_path)}" in result.stdout
    assert "seed='abc' must be of type int" in summary.read_text()


def test_train_log_holds_what_the_console_showed(finished_run: Path) -> None:
    log = (finished_run / "train.log").read_text()
    assert "[lightning_fabric.utilities.seed][INFO] Seed set to 42" in log  # Lightning's info
    assert "[py.warnings][WARNING]" in log  # Python warnings
    assert "Final metrics:" in log and "test/acc" in log  # cnnlab's summary


def test_train_log_holds_the_error_of_a_failed_run(tmp_path: Path, outputs: Path) -> None:
    result = run_cli("train", *TINY, "task.optimizer.lr=1e30", cwd=tmp_path, check=False)
    message = assert_one_sentence_error(result, "train/loss became nan")
    (run_dir,) = run_dirs(outputs)  # it trained, so it stays, with its log
    log = (run_dir / "train.log").read_text()
    assert "GPU available" in log  # what Lightning printed before the failure
    assert f"[cnnlab][ERROR] the run failed: {message.removeprefix('cnnlab: error: ')}" in log
