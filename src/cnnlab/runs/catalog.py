"""Run directories read back as records (config, overrides, metrics, outcome) for run tables.

The sweep summary and `cnnlab-compare` both tabulate runs; they read them here, from the files
every run directory holds (`.hydra/`, `metrics.json`) plus `status.json`, which a sweep job gets
when it ends (cnnlab.runs.sweep_summary).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from cnnlab.config.flatten import flatten
from cnnlab.errors import ConfigError, RunRecordError
from cnnlab.runs.layout import (
    CONFIG_FILE,
    HYDRA_FILE,
    METRICS_FILE,
    MULTIRUN_FILE,
    OVERRIDES_FILE,
    STATUS_FILE,
)
from cnnlab.runs.records import read_metrics, read_yaml_record

DAMAGED = "damaged"
# where a run lives, not what it did: left out of config comparisons
_LOCATION_KEYS = ("paths.", "run_name")
_HIDDEN_CHOICES = ("hydra", "paths")


@dataclass
class RunRecord:
    """What one run directory says about its run. `status`: ok, failed, unfinished or damaged
    (a record file cannot be read; `error` says which and why)."""

    path: Path
    config: dict[str, Any]
    overrides: list[str]
    metrics: dict[str, float]
    status: str
    error: str | None = None
    objective: str | None = None
    objective_mode: str = "max"
    sweep_job: int | None = None

    @property
    def score(self) -> float | None:
        """The objective's value, or None if the run has not produced it."""
        return self.metrics.get(self.objective) if self.objective else None


def is_run_dir(path: Path) -> bool:
    return (path / CONFIG_FILE).is_file()


def read_run(path: Path) -> RunRecord:
    """Read one run directory; a run without metrics.json is unfinished unless it failed.

    A run whose record files cannot be read is a `damaged` record naming the problem, so one
    broken run does not hide the others from a table.
    """
    try:
        return _read_run(path)
    except RunRecordError as error:
        return RunRecord(
            path, config={}, overrides=[], metrics={}, status=DAMAGED, error=_one_line(error)
        )


def _read_run(path: Path) -> RunRecord:
    cfg = read_yaml_record(path / CONFIG_FILE)
    hydra_file = path / HYDRA_FILE
    hydra_cfg = read_yaml_record(hydra_file).hydra if hydra_file.is_file() else OmegaConf.create()
    overrides_file = path / OVERRIDES_FILE
    overrides = (
        list(read_yaml_record(overrides_file, ListConfig)) if overrides_file.is_file() else []
    )
    metrics = read_metrics(path) if (path / METRICS_FILE).is_file() else {}
    status, error = _outcome(path, metrics)
    objective, mode = _objective(cfg)
    job = hydra_cfg.get("job", {}).get("num") if hydra_cfg.get("mode") == "MULTIRUN" else None
    return RunRecord(
        path=path,
        config={**group_choices(hydra_cfg), **flatten_config(cfg)},
        overrides=[str(o) for o in overrides],
        metrics=metrics,
        status=status,
        error=error,
        objective=objective,
        objective_mode=mode,
        sweep_job=job,
    )


def find_runs(paths: list[Path]) -> list[RunRecord]:
    """Each path is a run directory or a folder (e.g. a sweep directory) searched for runs."""
    records: list[RunRecord] = []
    for path in paths:
        if not path.is_dir():
            raise ConfigError(
                f"{path} is not a directory; give run directories or sweep directories"
            )
        found = (
            [path]
            if is_run_dir(path)
            else sorted(p.parent.parent for p in path.rglob(str(CONFIG_FILE)))
        )
        if not found:
            raise ConfigError(f"{path} holds no runs (no {CONFIG_FILE} below it)")
        records.extend(read_run(p) for p in found)
    return records


def sweep_jobs(sweep_dir: Path) -> list[RunRecord]:
    """The jobs of one -m sweep: its subdirectories that Hydra ran in multirun mode."""
    runs = (read_run(p) for p in sorted(sweep_dir.iterdir()) if p.is_dir() and is_run_dir(p))
    return sorted((r for r in runs if r.sweep_job is not None), key=lambda r: r.sweep_job or 0)


def rank(records: list[RunRecord]) -> list[RunRecord]:
    """Best objective first (by each run's own objective mode); runs without a score last."""

    def key(record: RunRecord) -> tuple[int, float]:
        score = record.score
        if score is None:
            return (1 if record.status != "failed" else 2, 0.0)
        return (0, -score if record.objective_mode == "max" else score)

    return sorted(records, key=key)


def flatten_config(cfg: DictConfig) -> dict[str, Any]:
    """Dotted keys -> values, interpolations resolved where they can be outside a live job.

    `${hydra:...}` (and other values only a running Hydra job knows) stay as written.
    """
    flat: dict[str, Any] = {}
    for key, raw in flatten(OmegaConf.to_container(cfg, resolve=False)).items():
        if key.startswith(_LOCATION_KEYS):
            continue
        try:
            value = OmegaConf.select(cfg, key)
            if isinstance(value, DictConfig | ListConfig):
                value = OmegaConf.to_container(value, resolve=True)
        except Exception:  # resolver errors come in many types; the raw text is what we can show
            value = raw
        flat[key] = value
    return flat


def group_choices(hydra_cfg: DictConfig) -> dict[str, Any]:
    """Which option of each config group the run used, e.g. {"model": "resnet18"}."""
    choices = hydra_cfg.get("runtime", {}).get("choices", {})
    return {
        str(group): value
        for group, value in choices.items()
        if not str(group).startswith(_HIDDEN_CHOICES)
    }


def show(value: Any, precise: bool = False) -> str:
    """A config or metric value as one table cell: floats rounded to read, or exact for CSV."""
    if value is None:
        return ""
    if isinstance(value, float) and not precise:
        return f"{value:.4f}" if 1e-3 <= abs(value) < 1e4 else f"{value:.4g}"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _outcome(path: Path, metrics: dict[str, float]) -> tuple[str, str | None]:
    status_file = path / STATUS_FILE
    if status_file.is_file():
        try:
            record = json.loads(status_file.read_text())
        except (OSError, ValueError) as error:
            raise RunRecordError(f"{status_file} is damaged ({error})") from None
        if not isinstance(record, dict) or not isinstance(record.get("status"), str):
            raise RunRecordError(f"{status_file} is damaged (no status in it)")
        error = record.get("error")
        return record["status"], _one_line(error) if error else None
    return ("ok" if metrics else "unfinished"), None


def _one_line(error: object) -> str:
    """An error as a table cell: errors from YAML or a failed job span several lines."""
    return " ".join(str(error).split())


def _objective(cfg: DictConfig) -> tuple[str | None, str]:
    """The run's objective metric and mode (runs older than `objective` fall back to the task's)."""
    for metric_key, mode_key in (
        ("objective.metric", "objective.mode"),
        ("task.monitor", "task.monitor_mode"),
    ):
        try:
            metric = OmegaConf.select(cfg, metric_key)
            mode = OmegaConf.select(cfg, mode_key)
        except Exception:  # an interpolation this process cannot resolve
            continue
        if metric:
            return str(metric), str(mode or "max")
    return None, "max"


def swept_keys(sweep_dir: Path) -> set[str]:
    """The keys a sweep varies, from its multirun.yaml: sweep overrides (`lr=1e-3,1e-2`,
    `seed=range(3)`, `interval(...)`) and an Optuna search's `hydra.sweeper.params`; none for
    a folder that is not a sweep directory."""
    multirun_file = sweep_dir / MULTIRUN_FILE
    if not multirun_file.is_file():
        return set()
    from hydra.core.override_parser.overrides_parser import OverridesParser

    sweep = OmegaConf.load(multirun_file)
    params = OmegaConf.select(sweep, "hydra.sweeper.params", default=None) or {}
    lines = [*OmegaConf.select(sweep, "hydra.overrides.task", default=[])]
    if params:
        lines += [f"{k}={v}" for k, v in flatten(OmegaConf.to_container(params)).items()]
    swept = set()
    for override in OverridesParser.create().parse_overrides(lines):
        if override.is_sweep_override():
            swept.add(override.get_key_element().lstrip("+~"))
    return swept
