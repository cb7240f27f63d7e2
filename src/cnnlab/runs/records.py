"""The run directory contract: metrics.json and environment.json beside Hydra's .hydra/."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from cnnlab.errors import RunRecordError
from cnnlab.runs.atomic import write_json_atomic
from cnnlab.runs.layout import ENVIRONMENT_FILE, METRICS_FILE

PACKAGES = (
    "cnnlab",
    "torch",
    "torchvision",
    "pytorch-lightning",
    "hydra-core",
    "omegaconf",
    "torchmetrics",
    "tensorboard",
    "segmentation-models-pytorch",
    "timm",
    "numpy",
    "scikit-learn",
)


def write_metrics(run_dir: Path, metrics: dict[str, float]) -> Path:
    """Write the flat final metrics, e.g. {"test/acc": 0.98}, sorted by name."""
    return write_json_atomic(run_dir / METRICS_FILE, dict(sorted(metrics.items())))


def read_metrics(run_dir: Path) -> dict[str, float]:
    """The run's final metrics, checked: an object of metric names to numbers."""
    path = run_dir / METRICS_FILE
    try:
        metrics = json.loads(path.read_text())
    except (OSError, ValueError) as error:  # JSON and encoding errors are ValueErrors
        problem = str(error)
    else:
        problem = _metrics_problem(metrics)
    if problem:
        raise RunRecordError(f"{path} is damaged ({problem}); restore it, or train the run again")
    return metrics


def read_yaml_record(path: Path, kind: type = DictConfig) -> Any:
    """A saved YAML record of a run (`.hydra/*.yaml`), a damaged one reported as such."""
    try:
        loaded = OmegaConf.load(path)
    except (OSError, yaml.YAMLError) as error:
        raise RunRecordError(f"{path} is damaged ({error}); restore it") from None
    if not isinstance(loaded, kind):
        raise RunRecordError(f"{path} is damaged (it holds no {kind.__name__}); restore it")
    return loaded


def _metrics_problem(metrics: Any) -> str | None:
    if not isinstance(metrics, dict):
        return "not an object of metric names to numbers"
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{name} is {value!r}, not a number"
    return None


def environment_record(seed: int | None, accelerator: str) -> dict[str, Any]:
    """What a later reproduction needs to compare against: versions, commit, seed, device."""
    import torch  # a training process has it loaded; readers of records (compare) do not

    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "packages": versions,
        "git_commit": git_commit(),
        "seed": seed,
        "accelerator": accelerator,
        "device": device or platform.machine(),
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        # the GPUs a sweep job was given (cnnlab.runs.gpus); None: every GPU was visible
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "torch_threads": torch.get_num_threads(),
        "command": sys.argv,
    }


def write_environment(run_dir: Path, seed: int | None, accelerator: str) -> Path:
    return write_json_atomic(run_dir / ENVIRONMENT_FILE, environment_record(seed, accelerator))


def git_commit() -> str | None:
    """The commit of the source tree cnnlab runs from (a dirty tree is marked), if it is in git."""
    source = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=source, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit
