"""One run, one writer: the run directory's lock, its PID, and DDP ranks that must not take it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cnnlab.errors import RunInUseError
from cnnlab.runs.layout import LOCK_FILE
from cnnlab.runs.lock import lock_holder, run_lock


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    assert lock_holder(tmp_path) is None
    with run_lock(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"
        assert lock_holder(tmp_path) == os.getpid()
        with pytest.raises(RunInUseError) as error, run_lock(tmp_path):
            pass
    assert str(error.value) == (
        f"{tmp_path} is being trained by process {os.getpid()}, which holds {LOCK_FILE}; wait "
        f"for it to finish, or stop it (kill {os.getpid()}) and resume again"
    )
    assert lock_holder(tmp_path) is None  # released on leaving, and on any exit of the process


@pytest.mark.parametrize("variable", ["LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID"])
def test_ranks_started_by_a_launcher_write_under_the_launchers_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    with run_lock(tmp_path):
        monkeypatch.setenv(variable, "1")
        with run_lock(tmp_path):  # would raise RunInUseError if this rank took the lock
            assert lock_holder(tmp_path) == os.getpid()
