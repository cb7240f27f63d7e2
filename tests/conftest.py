"""Shared test helpers: real Hydra composition and real CLI subprocess runs on tiny settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from cnnlab.config.resolvers import register_resolvers

register_resolvers()

# A fast classification run: 2 epochs on 8x8 digits, a few batches each.
TINY = [
    "trainer.max_epochs=2",
    "trainer.limit_train_batches=4",
    "trainer.limit_val_batches=2",
    "data.image_size=8",
    "callbacks.progress_bar.refresh_rate=0",
]


# the console scripts, cnnlab-<name>: python -m cnnlab.cli.<name>
COMMANDS = ("train", "eval", "generate", "compare", "reproduce", "predict", "export")


def compose_config(
    overrides: list[str], output_dir: Path, config_name: str = "train"
) -> DictConfig:
    """Compose like `cnnlab-train` does, with the run directory set to `output_dir`."""
    GlobalHydra.instance().clear()
    with initialize_config_module("cnnlab.conf", version_base="1.3"):
        cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)  # lets ${hydra:...} interpolations resolve
    with open_dict(cfg):
        del cfg["hydra"]
        cfg.paths.output_dir = str(output_dir)
    return cfg


@pytest.fixture
def compose_train(tmp_path: Path) -> Iterator:
    """compose_train(overrides) -> config whose run directory is tmp_path/run."""
    output_dir = tmp_path / "run"
    output_dir.mkdir()
    yield lambda overrides=(): compose_config(list(overrides), output_dir)
    GlobalHydra.instance().clear()


def run_cli(module: str, *args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run `cnnlab-<module> args...` (`python -m cnnlab.cli.<module>`) in `cwd`, offline; any
    other module, e.g. `studies.transfer`, runs as `python -m cnnlab.<module>`."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            f"cnnlab.cli.{module}" if module in COMMANDS else f"cnnlab.{module}",
            *args,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"cnnlab-{module} {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


def run_dirs(outputs: Path) -> list[Path]:
    """All run directories (those holding .hydra/) under an outputs folder, oldest first."""
    return sorted(p.parent for p in outputs.rglob(".hydra"))


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
