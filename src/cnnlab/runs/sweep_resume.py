"""`cnnlab-train -m <same overrides> resume=SWEEP_DIR|latest`: finish an interrupted grid sweep.

Hydra's basic sweeper always starts a new sweep directory and every job. Here the command line
is checked against the sweep's saved overrides (its multirun.yaml), then rewritten to reuse the
sweep directory with the resuming sweeper (hydra_plugins.cnnlab_sweeps), which asks `job_plan`
what to do with each job: `ok` jobs are skipped and their directories left untouched, unfinished
ones continue from their own last.ckpt in their own directory, the others run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import Enum
from pathlib import Path

from hydra._internal.utils import get_args_parser

from cnnlab.console import console
from cnnlab.errors import CheckpointError, ConfigError
from cnnlab.runs.layout import (
    LAST_CHECKPOINT,
    LOG_DIR_ENV,
    METRICS_FILE,
    MULTIRUN_FILE,
    RESUME_CHECKPOINT_ENV,
    STATUS_FILE,
    SWEEPS_DIR,
    log_dir,
)
from cnnlab.runs.records import read_yaml_record
from cnnlab.runs.resume import resume_blocker

RESUMING_SWEEPER = "hydra_plugins.cnnlab_sweeps.resuming_sweeper.ResumingSweeper"
_GRID_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


class JobAction(Enum):
    SKIP = "skip"  # status.json says ok
    RESUME = "resume"  # an intact last.ckpt and no metrics.json
    RUN = "run"  # never started, failed, or stopped before a usable checkpoint


def wants_sweep_resume(args: Sequence[str]) -> bool:
    """`-m` (Hydra's own parser reads it) and `resume=`."""
    if not any(a.startswith("resume=") for a in args):
        return False
    return bool(get_args_parser().parse_known_args(list(args))[0].multirun)


def resume_sweep_args(args: Sequence[str]) -> list[str]:
    """The command line that finishes the sweep named by `resume=`: its overrides checked
    against the saved ones, then pointed at the old sweep dir and the resuming sweeper."""
    spec = next(a.split("=", 1)[1] for a in args if a.startswith("resume="))
    sweep_dir = sweep_to_resume(spec)
    # the sweep dir is the one resumed, whatever the first command line named
    rest = [a for a in args if not a.startswith(("resume=", "hydra.sweep.dir="))]
    check_overrides(sweep_dir, rest)
    console.info(f"Resuming sweep {sweep_dir}")
    return [*rest, f"hydra.sweep.dir={sweep_dir}", f"hydra.sweeper._target_={RESUMING_SWEEPER}"]


def sweep_to_resume(spec: str) -> Path:
    """A sweep directory by path, or `latest`: the one whose multirun.yaml is newest."""
    if spec == "latest":
        sweeps = sorted(
            (log_dir() / SWEEPS_DIR).glob(f"*/*/{MULTIRUN_FILE}"), key=lambda p: p.stat().st_mtime
        )
        if not sweeps:
            raise ConfigError(
                f"resume=latest: no sweep under {log_dir() / SWEEPS_DIR}/ (set {LOG_DIR_ENV} if "
                "your runs are elsewhere)"
            )
        return sweeps[-1].parent.resolve()
    sweep_dir = Path(spec).expanduser()
    if not (sweep_dir / MULTIRUN_FILE).is_file():
        raise ConfigError(
            f"resume={spec} with -m: not a sweep directory (no {MULTIRUN_FILE} in it); to continue "
            "one run, drop -m: cnnlab-train resume=RUN_DIR"
        )
    return sweep_dir.resolve()


def check_overrides(sweep_dir: Path, args: Sequence[str]) -> None:
    """The new command line must sweep what the saved one swept: same task overrides."""
    saved = read_yaml_record(sweep_dir / MULTIRUN_FILE).hydra
    sweeper = str(saved.sweeper.get("_target_", ""))
    if sweeper not in (_GRID_SWEEPER, RESUMING_SWEEPER):
        raise ConfigError(
            f"resume={sweep_dir}: only grid sweeps can be resumed, this one used {sweeper}"
        )
    old = [str(o) for o in saved.overrides.task]
    new = [a for a in args if not a.startswith(("-", "hydra.", "hydra/", "+hydra"))]
    if sorted(old) != sorted(new):
        missing = [o for o in old if o not in new]
        extra = [o for o in new if o not in old]
        raise ConfigError(
            f"resume={sweep_dir}: the overrides differ from the sweep's saved ones (missing: "
            f"{' '.join(missing) or 'none'}; not in the sweep: {' '.join(extra) or 'none'}); "
            f"give exactly: {' '.join(old)}"
        )


def job_plan(sweep_dir: Path, jobs: int, subdir: str) -> list[tuple[JobAction, Path]]:
    """What to do with each of the sweep's jobs; `subdir(num)` names a job's directory."""
    plan = []
    for num in range(jobs):
        job_dir = sweep_dir / subdir.format(num=num)
        action = job_action(job_dir)
        console.info(f"sweep job {num}: {action.value} ({job_dir})")
        plan.append((action, job_dir))
    return plan


def job_action(job_dir: Path) -> JobAction:
    """SKIP an ok job, RESUME an unfinished one from an intact last.ckpt, else RUN it again;
    a job another process is still training in is an error."""
    status = job_dir / STATUS_FILE
    if status.is_file() and _status(status) == "ok":
        return JobAction.SKIP
    if (job_dir / METRICS_FILE).is_file() or not (job_dir / LAST_CHECKPOINT).is_file():
        return JobAction.RUN
    blocker = resume_blocker(job_dir)
    if isinstance(blocker, CheckpointError):
        console.info(f"{job_dir}: {blocker}; running the job again from the start")
        return JobAction.RUN
    if blocker is not None:
        raise blocker
    return JobAction.RUN if status.is_file() else JobAction.RESUME


def resume_override(job_dir: Path) -> str:
    """The override that makes a job continue from its last.ckpt (cnnlab.cli.train reads it);
    an environment variable rather than ckpt_path, so the job's config and overrides stay those
    of an uninterrupted sweep."""
    return f"++hydra.job.env_set.{RESUME_CHECKPOINT_ENV}='{(job_dir / LAST_CHECKPOINT).resolve()}'"


def _status(status_file: Path) -> str | None:
    try:
        return json.loads(status_file.read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        return None  # a damaged status.json: the job runs again
