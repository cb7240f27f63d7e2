"""Make Lightning's `ddp` ranks join the job that launched them, in single runs and `-m` sweeps.

Lightning starts each extra `ddp` rank by rerunning the command line (`LOCAL_RANK=1 cnnlab-train
...`). Under `-m` that reruns the whole sweep, in a sweep directory of its own, with ranks pairing
up with the wrong jobs. So the launching process exports its job (its overrides and its run
directory) while it trains, and a relaunched rank replaces its command line with that job: Hydra
then composes the same config into the same run directory. After each job the process group is
closed and the launch variables are restored, so the next job of a sweep starts its own ranks.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from hydra.core.hydra_config import HydraConfig

from cnnlab.runs.layout import JOB_ARGS_ENV, RUN_DIR_ENV

# what Lightning's launcher sets for its ranks, and what we export: all scoped to one job
_JOB_ENV = (
    "MASTER_ADDR",
    "MASTER_PORT",
    "NODE_RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    RUN_DIR_ENV,
    JOB_ARGS_ENV,
)
_CONFIG_FLAGS = ("-cp", "--config-path", "-cn", "--config-name", "-cd", "--config-dir")
# Hydra settings of the sweep or of the launching process, which a rank's single run must not get
_SWEEP_KEYS = (
    "hydra.mode",
    "hydra.run.",
    "hydra.sweep.",
    "hydra.output_subdir",
    "hydra.job.name",
    "hydra/launcher",
    "hydra.launcher",
    "hydra/sweeper",
    "hydra.sweeper",
)


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_launching_process() -> bool:
    """True unless this process is a rank started by a launcher (Lightning, torchrun, SLURM) or
    runs on a node other than the first: only the launching process owns the run directory."""
    rank_variables = ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID")
    return all(os.environ.get(name, "0") == "0" for name in rank_variables)


def job_args(argv: Sequence[str], run_dir: Path) -> list[str]:
    """The command-line arguments that compose this Hydra job again, as one run into `run_dir`."""
    hydra_cfg = HydraConfig.get()
    hydra_overrides = [o for o in hydra_cfg.overrides.hydra if not _key(o).startswith(_SWEEP_KEYS)]
    return [
        *_config_flags(argv),
        *hydra_overrides,
        *hydra_cfg.overrides.task,
        f'hydra.run.dir="{run_dir}"',
        "hydra.output_subdir=null",  # rank 0 already saved .hydra/
    ]


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def _config_flags(argv: Sequence[str]) -> list[str]:
    """`--config-name=x` / `-cn x` style arguments (which are not overrides), kept as given."""
    flags: list[str] = []
    for index, arg in enumerate(argv):
        if arg.split("=", 1)[0] in _CONFIG_FLAGS:
            flags.append(arg)
            if "=" not in arg and index + 1 < len(argv):
                flags.append(argv[index + 1])
    return flags


@contextmanager
def distributed_job(run_dir: Path) -> Iterator[None]:
    """Scope one training job: its ranks find it through the environment, nothing leaks past it."""
    saved = {key: os.environ.get(key) for key in _JOB_ENV}
    os.environ[RUN_DIR_ENV] = str(run_dir)
    if HydraConfig.initialized():
        os.environ[JOB_ARGS_ENV] = json.dumps(job_args(sys.argv[1:], run_dir))
    try:
        yield
    finally:
        import torch.distributed as dist  # imported once a job trains: torch is loaded by then

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def adopt_launching_job() -> None:
    """In a rank that Lightning relaunched, run the launching process's job instead of sys.argv."""
    args = os.environ.get(JOB_ARGS_ENV)
    rank = local_rank()
    if args is not None and rank > 0:
        sys.argv = [sys.argv[0], *json.loads(args), f"hydra.job.name=train_ddp_process_{rank}"]
