"""The catalogue's shared checks: a bad input ends in one sentence, an exit code, nothing lost.

Every catalogue test runs the real command (a subprocess, as a user types it) or the real
library call, then asserts three things: the exit status, a one-sentence `cnnlab: error: ...`
message that names the problem, and that no file that existed before was changed or removed.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest


def snapshot(root: Path) -> dict[str, str]:
    """SHA-256 of every file under `root`, by relative path: what 'nothing lost' compares."""
    if not root.exists():
        return {}
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def assert_unchanged(before: dict[str, str], root: Path) -> None:
    """Every file of `before` is still there with the same bytes (new files are allowed)."""
    after = snapshot(root)
    changed = [name for name, digest in before.items() if after.get(name) != digest]
    assert not changed, f"files changed or removed under {root}: {changed}"


def assert_one_sentence_error(
    result: subprocess.CompletedProcess, *fragments: str, status: int = 2
) -> str:
    """Exit `status`, no traceback, and one `cnnlab: error:` line containing every fragment."""
    output = result.stdout + result.stderr
    assert result.returncode == status, f"exit {result.returncode}, wanted {status}:\n{output}"
    assert "Traceback" not in output, output
    errors = [line for line in result.stderr.splitlines() if line.startswith("cnnlab: error:")]
    assert len(errors) == 1, f"wanted one 'cnnlab: error:' line on stderr:\n{result.stderr}"
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in: {errors[0]}"
    return errors[0]


@pytest.fixture
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An outputs folder for the commands under test (CNNLAB_LOG_DIR points at it)."""
    folder = tmp_path / "outputs"
    folder.mkdir()
    monkeypatch.setenv("CNNLAB_LOG_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny run (checkpoints/best.ckpt and last.ckpt, metrics.json), once per module."""
    from tests.conftest import TINY, run_cli, run_dirs

    cwd = tmp_path_factory.mktemp("finished")
    run_cli("train", *TINY, "trainer.limit_test_batches=2", cwd=cwd)
    (run_dir,) = run_dirs(cwd / "outputs")
    return run_dir
