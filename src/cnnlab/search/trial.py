"""A trial's side of a search: report the monitored metric each epoch, stop when pruned.

The sweeper gives each job its trial id in `CNNLAB_SEARCH_TRIAL` (through Hydra's per-job
`env_set`, so parallel workers each see their own); the study's name and storage come from the
job's Hydra config. A rerun or reproduction of a trial's run has no trial id and is not pruned.
"""

from __future__ import annotations

from typing import Any

import optuna
import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from pytorch_lightning.trainer.states import TrainerFn

from cnnlab.errors import RunPruned
from cnnlab.search.study import make_pruner, storage


class TrialPruned(optuna.TrialPruned, RunPruned):
    """Optuna's signal for a pruned trial that cnnlab's sweep records also understand."""

    def __init__(self, epoch: int, value: float) -> None:
        RunPruned.__init__(self, epoch, value)


class ReportToTrial(pl.Callback):
    """After each validation while fitting: report `monitor` to the trial, ask the pruner.

    Rank 0 talks to the study; its decision is broadcast, so every DDP rank stops together.
    """

    def __init__(self, trial: optuna.Trial, monitor: str) -> None:
        self.trial, self.monitor = trial, monitor

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        prune = False
        if trainer.is_global_zero:
            self.trial.report(float(value), step=trainer.current_epoch)
            prune = self.trial.should_prune()
        if trainer.strategy.broadcast(prune):
            raise TrialPruned(trainer.current_epoch, float(value))


def pruning_callback(trial_id: str) -> ReportToTrial:
    """The callback for the running job's trial: study, pruner and the metric it reports (the
    first objective) from the job's Hydra config, which the sweeper's config is part of."""
    sweeper: Any = HydraConfig.get().sweeper
    study = optuna.load_study(
        study_name=sweeper.study_name,
        storage=storage(sweeper.storage),
        pruner=make_pruner(sweeper.pruner, dict(sweeper.pruner_options or {})),
    )
    return ReportToTrial(optuna.Trial(study, int(trial_id)), str(sweeper.objectives[0]))
