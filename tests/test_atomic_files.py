"""Crash-safe records: the previous file survives a failed, killed or out-of-space write."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import pytest

from cnnlab.errors import StorageError
from cnnlab.runs.atomic import write_atomic, write_json_atomic, write_text_atomic
from tests.faults import tmpfs


def test_json_record_is_replaced_whole_and_no_temporary_is_left(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    write_json_atomic(path, {"val/acc": 0.5})
    write_json_atomic(path, {"val/acc": 0.75})
    assert path.read_text() == '{\n  "val/acc": 0.75\n}\n'
    assert os.listdir(tmp_path) == ["metrics.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as a plain open() would create it


def test_a_write_that_fails_halfway_keeps_the_previous_file(tmp_path: Path) -> None:
    path = write_text_atomic(tmp_path / "status.json", '{"status": "ok"}\n')

    def half_then_fail(handle: BinaryIO) -> None:
        handle.write(b'{"status": "fa')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, half_then_fail)
    assert path.read_text() == '{"status": "ok"}\n'
    assert os.listdir(tmp_path) == ["status.json"]


KILLED_WRITER = """
import os, signal, sys
from cnnlab.runs.atomic import write_atomic
def half(handle):
    handle.write(b'{"val/acc": 0.')
    handle.flush()
    print("half", flush=True)
    signal.pause()
write_atomic(sys.argv[1], half)
"""


def test_kill_9_mid_write_keeps_the_previous_file_and_the_next_write_cleans_up(
    tmp_path: Path,
) -> None:
    path = write_json_atomic(tmp_path / "metrics.json", {"val/acc": 0.5})
    before = path.read_bytes()
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline() == "half\n"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert path.read_bytes() == before
    (leftover,) = tmp_path.glob(f".metrics.json.{writer.pid}.*.tmp")
    assert leftover.read_bytes() == b'{"val/acc": 0.'

    write_json_atomic(path, {"val/acc": 0.75})  # the killed writer's temporary file goes
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_a_live_writers_temporary_file_is_left_alone(tmp_path: Path) -> None:
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        theirs = tmp_path / f".summary.md.{live.pid}.0123abcd.tmp"
        theirs.write_text("half a tab")
        write_text_atomic(tmp_path / "summary.md", "| a |\n")
        assert theirs.read_text() == "half a tab"
    finally:
        live.kill()
        live.wait()


def enospc_halfway(handle: BinaryIO) -> None:
    handle.write(b"x" * 1000)
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("disk", ["simulated", "tmpfs"])
def test_a_full_disk_is_one_sentence_and_the_previous_file_is_kept(
    tmp_path: Path, disk: str
) -> None:
    with tmpfs(tmp_path / "disk", size="256k") as mounted:
        if disk == "tmpfs" and not mounted:
            pytest.skip("mounting a tmpfs needs root")
        path = write_text_atomic(tmp_path / "disk" / "summary.csv", "job,acc\n0,0.5\n")
        if disk == "tmpfs":
            write = lambda handle: handle.write(b"x" * (1 << 20))  # noqa: E731 - 1 MiB > 256k
        else:
            write = enospc_halfway
        with pytest.raises(StorageError) as error:
            write_atomic(path, write)
        assert str(error.value) == (
            f"cannot write summary.csv in {path.parent}: the disk is full (No space left on "
            "device); the previous summary.csv is kept unchanged; free some space there or set "
            "CNNLAB_LOG_DIR to another disk, then run the command again"
        )
        assert path.read_text() == "job,acc\n0,0.5\n"
        assert os.listdir(path.parent) == ["summary.csv"]
        with pytest.raises(StorageError, match=r"no summary\.md was written"):
            write_atomic(path.with_name("summary.md"), write)


def test_a_read_only_folder_is_one_sentence(tmp_path: Path) -> None:
    folder = tmp_path / "disk"
    with tmpfs(folder, size="1m") as mounted:
        if not mounted:
            pytest.skip("mounting a tmpfs needs root")
        path = write_text_atomic(folder / "environment.json", "{}\n")
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        with pytest.raises(StorageError, match="the file system is read-only"):
            write_json_atomic(path, {"seed": 1})
        assert path.read_text() == "{}\n"
