"""A real 2 models x 3 seeds grid sweep, run once and shared by the sweep tests of this folder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cnnlab.runs.layout import GPU_POOL_ENV
from tests.conftest import TINY, run_cli

SWEEP_ARGS = [*TINY, "trainer.limit_test_batches=2", "model=cnn,cnn_pooled", "seed=1,2,3"]
MODELS = ("cnn", "cnn_pooled")
SEEDS = (1, 2, 3)


@pytest.fixture(scope="session")
def model_seed_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sweep directory of `cnnlab-train -m model=cnn,cnn_pooled seed=1,2,3` (6 jobs), run
    with a GPU pool set, which the basic launcher ignores (tests/runs/test_gpus.py)."""
    cwd = tmp_path_factory.mktemp("model_seed_sweep")
    sweep = cwd / "sweep"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(GPU_POOL_ENV, "7,9")
        run_cli("train", "-m", *SWEEP_ARGS, f"hydra.sweep.dir={sweep}", cwd=cwd)
    return sweep


@contextmanager
def flocked_by_another_process(path: Path) -> Iterator[None]:
    """`path` flock-ed by a separate process (as a training process or a sweep job holds it)
    while the block runs; the lock goes with that process."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield
    finally:
        holder.kill()
        holder.wait()
