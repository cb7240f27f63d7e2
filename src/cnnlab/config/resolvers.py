"""OmegaConf resolvers cnnlab's configs use; registered before Hydra composes anything."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf


def unique_dir(path: str) -> str:
    """Claim `path` (or `path_1`, `path_2`, ... if taken) by creating it, so no run reuses a dir.

    Creating the directory is the claim: two runs started in the same second cannot both get it.
    """
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


def register_resolvers() -> None:
    """Idempotent: `cnnlab.unique_dir` is cached so Hydra's repeated resolution is stable."""
    if not OmegaConf.has_resolver("cnnlab.unique_dir"):
        OmegaConf.register_new_resolver("cnnlab.unique_dir", unique_dir, use_cache=True)
