"""`cnnlab-train resume=RUN_DIR|latest`: continue an interrupted run in its own run directory.

Rather than composing a new config (and a new run directory), we run the run's saved config
(cnnlab.runs.saved_config) with `ckpt_path` set to its `checkpoints/last.ckpt`; Lightning restores
weights, optimizer, scheduler, loop progress and callback states, and
cnnlab.callbacks.resume.RandomStateInCheckpoint the random streams, so a run resumed from an
end-of-epoch checkpoint finishes as if it had never stopped. Hydra never starts, so the run's
`.hydra/` record stays as it was written.

A run can be resumed only while no other process trains in it (cnnlab.runs.lock) and only from an
intact last.ckpt (its recorded SHA-256 matches, torch can read it); `latest` skips, with a
message, the runs that are not, and takes the newest one that is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from cnnlab.console import console
from cnnlab.errors import CheckpointError, CnnlabError, ConfigError
from cnnlab.runs.catalog import is_run_dir
from cnnlab.runs.layout import CONFIG_FILE, LAST_CHECKPOINT, LOG_DIR_ENV, METRICS_FILE, log_dir
from cnnlab.runs.lock import in_use_error, lock_holder
from cnnlab.runs.saved_config import load_run_config, place_run

_ARGS = ("resume", "trust")


def wants_resume(args: Sequence[str]) -> bool:
    return any(arg.startswith("resume=") for arg in args)


def resumed_config(args: Sequence[str]) -> DictConfig:
    """From `resume=RUN_DIR|latest [trust=true]`: that run's saved config, set to continue it."""
    options = dict(arg.split("=", 1) for arg in args if "=" in arg)
    other = [arg for arg in args if "=" not in arg or arg.split("=", 1)[0] not in _ARGS]
    if other:
        raise ConfigError(
            f"resume= continues a run with its saved config and takes no other arguments "
            f"(got {' '.join(other)}); to train with changes, start a new run with "
            f"ckpt_path=RUN_DIR/{LAST_CHECKPOINT} and your overrides"
        )
    run_dir = resumable_run(options["resume"])
    cfg = load_run_config(run_dir, trust=options.get("trust", "false").lower() == "true")
    place_run(cfg, run_dir)
    checkpoint = (run_dir / LAST_CHECKPOINT).resolve()
    with open_dict(cfg):
        cfg.ckpt_path = str(checkpoint)
    # DDP ranks relaunched by Lightning compose the job from these overrides (cnnlab.distributed)
    HydraConfig.get().overrides.task.append(f"ckpt_path={checkpoint}")
    console.info(f"Resuming {run_dir} from {checkpoint}")
    return cfg


def resumable_run(spec: str) -> Path:
    """A run directory given by path, or `latest`: the newest unfinished run in the log dir."""
    if spec == "latest":
        return latest_unfinished(log_dir())
    run_dir = Path(spec).expanduser()
    if not is_run_dir(run_dir):
        raise ConfigError(f"resume={spec}: not a run directory (no {CONFIG_FILE} in it)")
    if (run_dir / METRICS_FILE).is_file():
        raise ConfigError(
            f"resume={spec}: this run finished (it has {METRICS_FILE}); nothing to resume"
        )
    if not (run_dir / LAST_CHECKPOINT).is_file():
        raise ConfigError(
            f"resume={spec}: the run stopped before its first checkpoint (no {LAST_CHECKPOINT}); "
            "start it again instead"
        )
    blocker = resume_blocker(run_dir)
    if blocker is not None:
        raise blocker
    return run_dir


def resume_blocker(run_dir: Path) -> CnnlabError | None:
    """Why an unfinished run cannot be resumed now, if it cannot: another process is training
    in it, or its last.ckpt is damaged (checksum mismatch, empty, cut, unreadable)."""
    pid = lock_holder(run_dir)
    if pid is not None:
        return in_use_error(run_dir, pid)
    from cnnlab.runs.checkpoints import load_checkpoint  # torch: only once a run is resumed

    try:
        load_checkpoint(run_dir / LAST_CHECKPOINT)
    except CheckpointError as error:
        return error
    return None


def latest_unfinished(log_dir: Path) -> Path:
    """The unfinished run (a last.ckpt, no metrics.json) whose last checkpoint is newest, among
    those that can be resumed now; the newer ones that cannot are named with the reason."""
    candidates = [
        path.parent.parent
        for path in log_dir.rglob(str(LAST_CHECKPOINT))
        if is_run_dir(path.parent.parent) and not (path.parent.parent / METRICS_FILE).exists()
    ]
    if not candidates:
        raise ConfigError(
            f"resume=latest: no unfinished run with a {LAST_CHECKPOINT} under {log_dir}/ "
            f"(set {LOG_DIR_ENV} if your runs are elsewhere)"
        )
    candidates.sort(key=lambda run: (run / LAST_CHECKPOINT).stat().st_mtime, reverse=True)
    for run_dir in candidates:
        blocker = resume_blocker(run_dir)
        if blocker is None:
            return run_dir
        console.info(f"resume=latest: skipping {run_dir}: {blocker}")
    raise ConfigError(
        f"resume=latest: no unfinished run under {log_dir}/ can be resumed ({len(candidates)} "
        "skipped, for the reasons printed above); resume one by path once it is free, or start "
        "a new run"
    )
