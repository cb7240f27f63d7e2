"""`cnnlab-reproduce RUN_DIR` on real runs: exact on CPU, tampering caught, foreign code refused."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from cnnlab.cli.reproduce import metric_deltas, reproduce
from cnnlab.errors import ConfigError
from tests.conftest import TINY, read_json, run_cli, run_dirs


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("reproduce")
    run_cli("train", *TINY, "trainer.limit_test_batches=2", "seed=7", cwd=cwd)
    (run_dir,) = run_dirs(cwd / "outputs")
    return run_dir


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "outputs" / "copied_run"
    shutil.copytree(run_dir, copy)
    return copy


def delta_rows(stdout: str) -> dict[str, tuple[float, str]]:
    """metric -> (delta, result) from the printed table."""
    rows = re.findall(r"^(\S+/\S+)\s+\S+\s+\S+\s+([-+]\S+|-)\s+(ok|MISMATCH)$", stdout, re.M)
    return {
        name: (float(delta) if delta != "-" else float("nan"), result)
        for name, delta, result in rows
    }


def test_a_fresh_run_reproduces_exactly_on_cpu(original: Path) -> None:
    result = run_cli("reproduce", str(original), cwd=original.parent)
    rows = delta_rows(result.stdout)
    metrics = read_json(original / "metrics.json")
    assert set(rows) == set(metrics)
    assert all(delta == 0.0 and verdict == "ok" for delta, verdict in rows.values())
    assert "REPRODUCED: all" in result.stdout
    rerun = original.with_name(original.name + "_reproduce")
    assert read_json(rerun / "metrics.json") == metrics
    assert read_json(rerun / "environment.json")["seed"] == 7
    assert (rerun / ".hydra/overrides.yaml").read_text() == (
        original / ".hydra/overrides.yaml"
    ).read_text()


def test_a_tampered_metric_is_a_mismatch(original: Path, tmp_path: Path) -> None:
    run_dir = copy_run(original, tmp_path)
    metrics = read_json(run_dir / "metrics.json")
    metrics["val/acc"] += 0.01
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    environment = read_json(run_dir / "environment.json")
    environment["packages"]["torch"] = "0.0.1"
    (run_dir / "environment.json").write_text(json.dumps(environment))

    result = run_cli("reproduce", str(run_dir), cwd=tmp_path, check=False)
    assert result.returncode == 1
    rows = delta_rows(result.stdout)
    assert rows["val/acc"][1] == "MISMATCH" and rows["val/acc"][0] == pytest.approx(-0.01)
    assert all(verdict == "ok" for name, (_, verdict) in rows.items() if name != "val/acc")
    assert "NOT REPRODUCED: 1 of" in result.stdout
    assert (
        "warning: the environment differs from the original run's: torch 0.0.1 ->" in result.stdout
    )

    reproduced = read_json(run_dir.with_name(run_dir.name + "_reproduce") / "metrics.json")
    assert all(row[4] for row in metric_deltas(metrics, reproduced, tolerance=0.02))


def test_a_foreign_target_is_refused_unless_trusted(original: Path, tmp_path: Path) -> None:
    run_dir = copy_run(original, tmp_path)
    config = run_dir / ".hydra/config.yaml"
    config.write_text(config.read_text().replace("cnnlab.models.simple_cnn.SimpleCNN", "os.system"))
    before = sorted(p.name for p in run_dir.parent.iterdir())

    with pytest.raises(ConfigError, match=r"model\._target_=os\.system.*--trust"):
        reproduce(run_dir)
    assert sorted(p.name for p in run_dir.parent.iterdir()) == before  # nothing ran, no new dir
    # trusted, the config gets past the allowlist (and then fails validation: os.system is no model)
    with pytest.raises(ConfigError, match=r"is not an argument of os\.system"):
        reproduce(run_dir, trust=True)


def test_an_unfinished_run_cannot_be_reproduced(original: Path, tmp_path: Path) -> None:
    run_dir = copy_run(original, tmp_path)
    (run_dir / "metrics.json").unlink()
    with pytest.raises(ConfigError, match="did not finish"):
        reproduce(run_dir)
