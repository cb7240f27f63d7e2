"""The search loop: ask the study for a batch of trials, launch them as Hydra jobs, tell results.

The sweeper asks the study for each trial's parameters, so `n_jobs` trials run at once with any
launcher (joblib, submitit) without repeating each other; with a pruner, each job learns its
trial id through Hydra's per-job `env_set` and reports to it (see cnnlab.search.trial). A job's
failure fails its trial and the search goes on; a pruned job's trial is told PRUNED.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from cnnlab.errors import ConfigError, RunPruned, RunRecordError
from cnnlab.runs.atomic import write_json_atomic, write_text_atomic
from cnnlab.runs.layout import METRICS_FILE, MULTIRUN_FILE, SEARCH_TRIAL_ENV, STUDY_RECORD
from cnnlab.runs.records import read_metrics
from cnnlab.search.space import SearchSpace, parse_space
from cnnlab.search.study import (
    fail_stale_trials,
    make_pruner,
    make_sampler,
    open_study,
    storage,
)

log = logging.getLogger(__name__)

RUN_DIR_ATTR = "run_dir"  # a trial's user attribute: the job directory it trained in
OVERRIDES_ATTR = "overrides"  # a trial's user attribute: the overrides that rebuild its run


@dataclass
class SearchSettings:
    """`hydra.sweeper.*` (conf/hydra/sweeper/optuna_search.yaml)."""

    objectives: list[str]
    direction: list[str]
    study_name: str
    storage: str
    n_trials: int = 20
    n_jobs: int = 1
    sampler: str = "tpe"
    seed: int | None = None
    sampler_options: dict[str, Any] = field(default_factory=dict)
    pruner: str = "none"
    pruner_options: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.objectives, str):
            self.objectives = [self.objectives]
        if isinstance(self.direction, str):
            self.direction = [self.direction]
        if len(self.direction) != len(self.objectives):
            raise ConfigError(
                f"hydra.sweeper.direction has {len(self.direction)} entries for "
                f"{len(self.objectives)} objectives ({', '.join(self.objectives)}); give one "
                "maximize/minimize per objective"
            )
        if len(self.objectives) > 1 and self.pruner != "none":
            raise ConfigError(
                f"hydra.sweeper.pruner={self.pruner} needs one objective (Optuna prunes on one "
                f"reported value); with {len(self.objectives)} objectives use pruner=none"
            )
        bad = [d for d in self.direction if d not in ("maximize", "minimize")]
        if bad:
            raise ConfigError(f"hydra.sweeper.direction={bad[0]}: use maximize or minimize")
        if "://" not in self.storage:  # a journal file: absolute, as study.json records it
            self.storage = str(Path(self.storage).resolve())
        if self.n_trials < 1 or self.n_jobs < 1:
            raise ConfigError(
                f"hydra.sweeper.n_trials={self.n_trials} and n_jobs={self.n_jobs} must be >= 1"
            )


def run_search(
    settings: SearchSettings,
    config: DictConfig,
    launcher: Launcher,
    arguments: list[str],
    validate_batch: Callable[[Sequence[Sequence[str]]], None],
    config_loader: Any = None,
) -> optuna.Study:
    """Run `n_trials` more trials of the study, `n_jobs` at a time; returns the study."""
    space = parse_space(settings.params, arguments, config_loader)
    if not space.distributions:
        raise ConfigError(
            "the search has nothing to search: give hydra.sweeper.params (e.g. in "
            "conf/hparams_search/) or a swept override such as "
            "'task.optimizer.lr=interval(1e-4,1e-1)'"
        )
    sampler = make_sampler(settings.sampler, settings.seed, settings.sampler_options, space)
    pruner = make_pruner(settings.pruner, settings.pruner_options)
    study = open_study(settings.study_name, settings.storage, settings.direction, sampler, pruner)
    stale = fail_stale_trials(study)
    if stale:
        log.warning(f"trials {stale} were left running by an earlier search: marked failed")
    remaining = _trials_to_run(settings, space)
    job_index = 0
    while remaining > 0:
        trials = [study.ask(space.distributions) for _ in range(min(settings.n_jobs, remaining))]
        batch = [_job_overrides(space, trial, settings.pruner != "none") for trial in trials]
        try:
            validate_batch(batch)  # a config error shows now, not once per trial
        except BaseException:
            for trial in trials:
                study.tell(trial, state=TrialState.FAIL)
            raise
        if job_index == 0:  # the sweep dir is made once the first trials have composed
            _record_sweep(config, settings)
        returns = launcher.launch(batch, initial_job_idx=job_index)
        for trial, job in zip(trials, returns):
            _tell(study, trial, job, settings.objectives)
        job_index += len(trials)
        remaining -= len(trials)
    return study


def _record_sweep(config: DictConfig, settings: SearchSettings) -> None:
    """multirun.yaml in the sweep dir (what Hydra's own sweeper writes, here crash-safe), and
    study.json: where the study is (`cnnlab-compare SWEEP_DIR --plots` reads it)."""
    sweep_dir = Path(config.hydra.sweep.dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(sweep_dir / MULTIRUN_FILE, OmegaConf.to_yaml(config))
    record = {k: getattr(settings, k) for k in ("study_name", "storage", "objectives")}
    write_json_atomic(sweep_dir / STUDY_RECORD, record)


def load_recorded_study(sweep_dir: Path) -> tuple[optuna.Study, list[str]]:
    """The study a search's sweep dir recorded, and its objectives."""
    path = sweep_dir / STUDY_RECORD
    if not path.is_file():
        raise ConfigError(
            f"{sweep_dir} is not the sweep directory of an Optuna search (no {STUDY_RECORD}); "
            "--plots takes the folder that `cnnlab-train -m hparams_search=...` printed"
        )
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise RunRecordError(f"{path} is damaged ({error})") from None
    try:
        study = optuna.load_study(
            study_name=record["study_name"], storage=storage(record["storage"])
        )
    except KeyError:
        raise ConfigError(
            f"study {record['study_name']} is not in {record['storage']} any more"
        ) from None
    return study, list(record["objectives"])


def _trials_to_run(settings: SearchSettings, space: SearchSpace) -> int:
    """n_trials, or fewer when a grid has fewer points (the grid sampler would repeat them)."""
    if settings.sampler != "grid":
        return settings.n_trials
    return min(settings.n_trials, math.prod(len(v) for v in space.grid().values()))


def _job_overrides(space: SearchSpace, trial: optuna.Trial, pruning: bool) -> list[str]:
    """The trial's overrides; with a pruner, its id for the job's reporting callback."""
    overrides = space.overrides(trial.params)
    trial.set_user_attr(OVERRIDES_ATTR, overrides)
    if not pruning:
        return overrides
    return [*overrides, f"+hydra.job.env_set.{SEARCH_TRIAL_ENV}={trial._trial_id}"]


def _tell(study: optuna.Study, trial: optuna.Trial, job: JobReturn, objectives: list[str]) -> None:
    """The job's outcome as the trial's: its objectives from the run's metrics, or pruned/fail."""
    run_dir = Path(job.hydra_cfg.hydra.runtime.output_dir) if job.hydra_cfg else None
    if run_dir is not None:
        trial.set_user_attr(RUN_DIR_ATTR, str(run_dir))
    try:
        job.return_value  # noqa: B018 - JobReturn re-raises the job's exception
    except RunPruned:
        _told(study, trial, state=TrialState.PRUNED)
        return
    except Exception as error:
        log.warning(f"trial {trial.number} failed: {type(error).__name__}: {error}")
        _told(study, trial, state=TrialState.FAIL)
        return
    finished = run_dir is not None and (run_dir / METRICS_FILE).is_file()
    metrics = read_metrics(run_dir) if finished else {}
    values = [metrics.get(name) for name in objectives]
    if any(v is None or not math.isfinite(v) for v in values):
        log.warning(f"trial {trial.number}: no finite {objectives} in {run_dir}: marked failed")
        _told(study, trial, state=TrialState.FAIL)
        return
    _told(study, trial, values=values)


def _told(study: optuna.Study, trial: optuna.Trial, **outcome: Any) -> None:
    """`study.tell`; the grid sampler's `study.stop()` once every point is done is an error
    outside `optimize` (the ask-and-tell loop here stops by itself), and Optuna stores the
    trial's state before it, so that error is dropped."""
    try:
        study.tell(trial, **outcome)
    except RuntimeError as error:
        if "Study.stop" not in str(error):
            raise
