"""OmegaConf resolvers cnnlab's configs use; registered before Hydra composes anything."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

from cnnlab.distributed import RUN_DIR_ENV


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
    base.parent.mkdir(parents=True, exist_ok=True)
    candidate, suffix = base, 0
    while True:
        try:
            candidate.mkdir()
            return str(candidate)
        except FileExistsError:
            suffix += 1
            candidate = base.with_name(f"{base.name}_{suffix}")


def sqlite_url(path: str) -> str:
    """An SQLAlchemy URL for an SQLite file (e.g. an Optuna study), its folder created first."""
    database = Path(path).resolve()
    database.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{database}"


def register_resolvers() -> None:
    """Idempotent: `cnnlab.unique_dir` is cached so Hydra's repeated resolution is stable."""
    if not OmegaConf.has_resolver("cnnlab.unique_dir"):
        OmegaConf.register_new_resolver("cnnlab.unique_dir", unique_dir, use_cache=True)
    if not OmegaConf.has_resolver("cnnlab.sqlite"):
        OmegaConf.register_new_resolver("cnnlab.sqlite", sqlite_url)
