"""The Optuna study a search asks and tells: sampler, pruner, storage, crash recovery.

Storage is a journal file by default (`<log_dir>/optuna/<study>.log`): no database server, safe
for parallel workers on one machine (Optuna locks the file), and a crash loses at most the trial
that was running. Any Optuna storage URL (`sqlite:///...`, `postgresql://...`) works instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.pruners import (
    BasePruner,
    HyperbandPruner,
    MedianPruner,
    NopPruner,
    SuccessiveHalvingPruner,
)
from optuna.samplers import BaseSampler, GridSampler, NSGAIISampler, RandomSampler, TPESampler
from optuna.storages import BaseStorage, JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from cnnlab.errors import ConfigError
from cnnlab.search.space import SearchSpace

PRUNERS: dict[str, Callable[..., BasePruner]] = {
    "none": NopPruner,
    "median": MedianPruner,
    "hyperband": HyperbandPruner,
    "successive_halving": SuccessiveHalvingPruner,
}


def _cmaes(**options: Any) -> BaseSampler:
    """CMA-ES needs the `cmaes` package (in the sweep extra)."""
    try:
        import cmaes  # noqa: F401
    except ImportError:
        raise ConfigError(
            'sampler=cmaes needs the cmaes package: pip install -e ".[sweep]"'
        ) from None
    return optuna.samplers.CmaEsSampler(**options)


SAMPLERS: dict[str, Callable[..., BaseSampler]] = {
    "tpe": TPESampler,
    "random": RandomSampler,
    "cmaes": _cmaes,
    "nsga2": NSGAIISampler,
}


def make_sampler(
    name: str, seed: int | None, options: dict[str, Any], space: SearchSpace
) -> BaseSampler:
    """`hydra.sweeper.sampler=tpe|random|grid|cmaes|nsga2`, its options from `sampler_options`."""
    if name == "grid":
        return _built(name, GridSampler, space.grid(), seed=seed, **options)
    if name not in SAMPLERS:
        raise ConfigError(
            f"hydra.sweeper.sampler={name} is not a sampler; use one of grid, {', '.join(SAMPLERS)}"
        )
    return _built(name, SAMPLERS[name], seed=seed, **options)


def make_pruner(name: str, options: dict[str, Any]) -> BasePruner:
    """`hydra.sweeper.pruner=median|hyperband|successive_halving|none`."""
    if name not in PRUNERS:
        raise ConfigError(
            f"hydra.sweeper.pruner={name} is not a pruner; use one of {', '.join(PRUNERS)}"
        )
    return _built(name, PRUNERS[name], **options)


def _built(name: str, factory: Callable[..., Any], *args: Any, **options: Any) -> Any:
    try:
        return factory(*args, **options)
    except TypeError as error:  # an option the sampler/pruner does not take
        raise ConfigError(f"{name}: {error}; see Optuna's documentation of its options") from None


def storage(location: str) -> str | BaseStorage:
    """A URL (`sqlite:///x.db`) as it is; anything else is a journal file, its folder made."""
    if "://" in location:
        return location
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def open_study(
    name: str,
    location: str,
    directions: list[str],
    sampler: BaseSampler | None = None,
    pruner: BasePruner | None = None,
) -> optuna.Study:
    """Create the study, or continue it when the storage already holds one of this name."""
    try:
        return optuna.create_study(
            study_name=name,
            storage=storage(location),
            sampler=sampler,
            pruner=pruner,
            directions=directions,
            load_if_exists=True,
        )
    except ValueError as error:  # e.g. a stored study with other directions
        raise ConfigError(
            f"study {name} in {location}: {error}; set hydra.sweeper.study_name=NEW for a new one"
        ) from None


def fail_stale_trials(study: optuna.Study) -> list[int]:
    """Trials left RUNNING by a killed search are failed, so the study can go on.

    Only one search may run on a study at a time: a second one would fail the first's trials.
    """
    stale = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    for number in stale:
        study.tell(number, state=TrialState.FAIL)
    return stale
