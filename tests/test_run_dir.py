"""Run directories are claimed, never shared; the environment is recorded."""

from __future__ import annotations

from pathlib import Path

from cnnlab.config.resolvers import unique_dir
from cnnlab.runs.records import environment_record, git_commit


def test_unique_dir_never_returns_a_taken_directory(tmp_path: Path) -> None:
    base = tmp_path / "outputs" / "classification" / "2026-01-01_00-00-00"
    first, second, third = (unique_dir(str(base)) for _ in range(3))
    assert first == str(base)
    assert second == f"{base}_1" and third == f"{base}_2"
    assert all(Path(p).is_dir() for p in (first, second, third))


def test_environment_record_names_versions_and_seed() -> None:
    record = environment_record(seed=5, accelerator="cpu")
    assert record["seed"] == 5
    assert record["packages"]["pytorch-lightning"]
    assert record["git_commit"] == git_commit()
