"""One GPU per sweep job: parallel jobs of a joblib sweep each claim their own GPU(s).

Hydra's joblib launcher runs `n_jobs` jobs at once, and every one of them would train on GPU 0.
This Hydra callback, in each job's own process and before torch initialises CUDA there, claims
`gpus_per_job` ids from the pool (`$CNNLAB_GPU_POOL`, else every GPU torch sees) by flock-ing
`<sweep dir>/.gpu_claims/<id>.lock`, sets CUDA_VISIBLE_DEVICES to them, and gives them back when
the job ends (a killed job's claims go with its process). A job prefers the ids its number
points at, so jobs spread over the pool even when they do not overlap. Joblib reuses its worker
processes, and CUDA reads CUDA_VISIBLE_DEVICES once per process: a worker whose CUDA is set up
claims the same ids again for its next job (waiting for them if need be). No GPU, or a launcher
other than joblib: nothing changes.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from cnnlab.errors import ConfigError, exit_with
from cnnlab.runs.layout import GPU_CLAIMS_DIR, GPU_POOL_ENV

log = logging.getLogger(__name__)
VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES"
_WAIT_S = 0.5
_process_ids: list[str] = []  # the ids this process's jobs last held (its CUDA keeps them)


def gpu_pool() -> list[str]:
    """`$CNNLAB_GPU_POOL` (comma-separated ids), else the ids of every GPU torch can see."""
    pool = os.environ.get(GPU_POOL_ENV)
    if pool is not None:
        return [gpu.strip() for gpu in pool.split(",") if gpu.strip()]
    import torch  # device_count asks the driver without initialising CUDA in this process

    return [str(i) for i in range(torch.cuda.device_count())]


def claim_gpus(claims_dir: Path, pool: list[str], count: int, first: int = 0) -> list[IO[str]]:
    """Hold `count` free ids of `pool` (trying from position `first`), waiting while all are
    taken; returns the open, flock-ed claim files (their names are the ids)."""
    if count > len(pool):
        raise ConfigError(
            f"gpus_per_job={count} but the GPU pool has {len(pool)} ({','.join(pool) or 'none'}); "
            f"lower gpus_per_job or widen {GPU_POOL_ENV}"
        )
    claims_dir.mkdir(parents=True, exist_ok=True)
    order = pool[first % len(pool) :] + pool[: first % len(pool)]
    waited = False
    while True:
        held = [h for gpu in order if (h := _try_claim(claims_dir / f"{gpu}.lock")) is not None]
        if len(held) >= count:
            release(held[count:])
            return held[:count]
        release(held)
        if not waited:
            log.info(f"waiting for {count} free GPU(s) of {','.join(pool)}")
            waited = True
        time.sleep(_WAIT_S)


def claimed_ids(held: list[IO[str]]) -> list[str]:
    return [Path(handle.name).stem for handle in held]


def release(held: list[IO[str]]) -> None:
    for handle in held:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _try_claim(path: Path) -> IO[str] | None:
    handle = open(path, "a")  # noqa: SIM115 - held open for as long as the job runs
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def cuda_initialised() -> bool:
    """Whether this process has set up CUDA (after which CUDA_VISIBLE_DEVICES is fixed)."""
    torch = sys.modules.get("torch")
    return torch is not None and torch.cuda.is_initialized()


def _local_parallel(config: DictConfig) -> bool:
    """Joblib's jobs share this machine's GPUs; the basic launcher runs every job in one process
    (CUDA set up once), and cluster launchers get GPUs from the scheduler."""
    return "JoblibLauncher" in str(config.hydra.launcher.get("_target_", ""))


class GpuPerJob(Callback):
    """Sets CUDA_VISIBLE_DEVICES per sweep job to `gpus_per_job` GPU ids claimed from the pool."""

    def __init__(self, gpus_per_job: int = 1) -> None:
        if gpus_per_job < 1:
            raise ConfigError(f"gpus_per_job={gpus_per_job}: give 1 or more GPUs per sweep job")
        self.gpus_per_job = gpus_per_job
        self._held: list[IO[str]] = []
        self._previous: str | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """A pool too small for one job ends the sweep before any job starts (Hydra turns a
        callback's exception into a warning, so this exits)."""
        pool = gpu_pool() if _local_parallel(config) else []
        if pool and self.gpus_per_job > len(pool):
            exit_with(
                ConfigError(
                    f"hydra.callbacks.gpus.gpus_per_job={self.gpus_per_job} but the GPU pool has "
                    f"{len(pool)} ({','.join(pool)}); lower it or widen {GPU_POOL_ENV}"
                )
            )

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN or not _local_parallel(config):
            return
        pool = gpu_pool()
        if not pool:
            return
        claims_dir = Path(config.hydra.sweep.dir) / GPU_CLAIMS_DIR
        first = int(config.hydra.job.num) * self.gpus_per_job
        if _process_ids and cuda_initialised():  # a reused worker: only its own ids still work
            pool, first = list(_process_ids), 0
        self._held = claim_gpus(claims_dir, pool, self.gpus_per_job, first)
        _process_ids[:] = claimed_ids(self._held)
        self._previous = os.environ.get(VISIBLE_DEVICES)
        os.environ[VISIBLE_DEVICES] = ",".join(claimed_ids(self._held))
        log.info(f"job {config.hydra.job.num}: {VISIBLE_DEVICES}={os.environ[VISIBLE_DEVICES]}")

    def on_job_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self._held:
            return
        release(self._held)
        self._held = []
        if self._previous is None:
            os.environ.pop(VISIBLE_DEVICES, None)
        else:
            os.environ[VISIBLE_DEVICES] = self._previous
