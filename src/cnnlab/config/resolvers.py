"""OmegaConf resolvers cnnlab's configs use; registered before Hydra composes anything."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from omegaconf import OmegaConf

from cnnlab.errors import ConfigError, exit_with
from cnnlab.runs.layout import HYDRA_DIR, LOCK_FILE, LOG_DIR_ENV, RUN_DIR_ENV

# (run directory, the topmost folder created with it) for each claim of this process
_claims: list[tuple[Path, Path]] = []


def unique_dir(path: str) -> str:
    """Claim `path` (or `path_1`, `path_2`, ... if taken) by creating it, so no run reuses a dir.

    Creating the directory is the claim: two runs started in the same second cannot both get it.
    Inside a running job (its DDP ranks, or Lightning reading `hydra.run.dir` to relaunch them)
    the job's own directory is returned instead, so ranks never claim directories of their own.
    """
    claimed = os.environ.get(RUN_DIR_ENV)
    if claimed:
        return claimed
    base = Path(path)
    candidate, suffix = base, 0
    created = next((p for p in reversed(base.parents) if not p.exists()), None)
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                candidate.mkdir()
                _claims.append((candidate, created or candidate))
                return str(candidate)
            except FileExistsError:
                suffix += 1
                candidate = base.with_name(f"{base.name}_{suffix}")
    except OSError as error:
        # raised inside Hydra's composition, an exception would end in a traceback: exit here
        exit_with(
            ConfigError(
                f"cannot create the run directory {candidate} ({error.filename}: "
                f"{error.strerror}); set {LOG_DIR_ENV} (or paths.log_dir=) to a folder you "
                "can write to"
            )
        )


def release_unused_claims() -> None:
    """Remove the run directories this process claimed that hold only Hydra's record (.hydra/
    and its job log) and the released run lock: a run rejected before it started leaves
    nothing behind. Anything else in such a directory (a checkpoint, metrics) keeps it, and only
    directories claimed here go, with the folders created for them (`outputs/classification/`)
    once empty."""
    while _claims:
        directory, created = _claims.pop()
        if directory.is_symlink() or not directory.is_dir():
            continue
        if not all(_hydra_record(entry) for entry in directory.iterdir()):
            continue
        shutil.rmtree(directory)
        for folder in [directory.parent, *directory.parent.parents]:
            if not folder.is_relative_to(created) or any(folder.iterdir()):
                break
            folder.rmdir()


def _hydra_record(entry: Path) -> bool:
    if entry.is_symlink():
        return False
    if entry.name == HYDRA_DIR:
        return entry.is_dir()
    if entry.name == LOCK_FILE:  # released by now: it only names the process that held it
        return entry.is_file()
    return entry.is_file() and entry.suffix == ".log"


def register_resolvers() -> None:
    """Idempotent: `cnnlab.unique_dir` is cached so Hydra's repeated resolution is stable."""
    if not OmegaConf.has_resolver("cnnlab.unique_dir"):
        OmegaConf.register_new_resolver("cnnlab.unique_dir", unique_dir, use_cache=True)
