"""`cnnlab-train`: compose the config with Hydra, then train, validate and test."""

from __future__ import annotations

import os
import signal
import sys

import hydra
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict

from cnnlab.cli import prepare_process, report_errors
from cnnlab.config.validation import validate_choices, validate_values
from cnnlab.distributed import adopt_launching_job
from cnnlab.errors import ConfigError
from cnnlab.runs.layout import RESUME_CHECKPOINT_ENV
from cnnlab.runs.resume import resumed_config, wants_resume
from cnnlab.runs.sweep_resume import resume_sweep_args, wants_sweep_resume

prepare_process()


def objective(cfg: DictConfig) -> float:
    """Train, and return the metric a sweeper (e.g. Optuna) optimises: `objective.metric`.

    Training's libraries (torch, Lightning) are imported here, not with the command: `--help`,
    `--cfg job` and config errors Hydra finds do not wait for them.
    """
    validate_values(cfg)
    if os.environ.get(RESUME_CHECKPOINT_ENV) and not cfg.get("ckpt_path"):
        with open_dict(cfg):  # a resumed sweep's unfinished job (cnnlab.runs.sweep_resume)
            cfg.ckpt_path = os.environ[RESUME_CHECKPOINT_ENV]
    from pytorch_lightning.utilities.exceptions import SIGTERMException

    from cnnlab.pipeline import train

    try:
        metrics = train(cfg)
    except SIGTERMException:
        # Lightning stops after the current batch (CheckpointOnInterrupt saved last.ckpt); exit
        # as a terminated process would rather than with the status 0 of SIGTERMException.
        print(
            f"cnnlab: stopped by SIGTERM; continue with: cnnlab-train resume={cfg.paths.output_dir}"
        )
        raise SystemExit(128 + signal.SIGTERM) from None
    name = cfg.objective.metric
    if name not in metrics:
        raise ConfigError(
            f"objective.metric={name} is not a final metric; use one of {sorted(metrics)}"
        )
    return metrics[name]


def composed_objective(cfg: DictConfig) -> float:
    """`objective` of a config Hydra just composed, once its group choices are known to exist."""
    validate_choices(
        HydraConfig.get().runtime.choices, GlobalHydra.instance().config_loader().get_group_options
    )
    return objective(cfg)


@hydra.main(version_base="1.3", config_path="pkg://cnnlab.conf", config_name="train")
def run(cfg: DictConfig) -> float:
    """In a sweep a failing job raises, so Hydra records it and runs the other jobs; a single run
    reports a CnnlabError as one line and exit status 2."""
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        return composed_objective(cfg)
    return report_errors(composed_objective)(cfg)


def main() -> None:
    """The console script; a DDP rank relaunched by Lightning first takes over its parent's job.

    `cnnlab-train resume=RUN_DIR` does not compose a new config: it reruns the run's saved one in
    the run's own directory, from its last checkpoint (see cnnlab.runs.resume); with -m,
    `resume=SWEEP_DIR` finishes a sweep in its own directory (cnnlab.runs.sweep_resume).
    """
    adopt_launching_job()
    if wants_sweep_resume(sys.argv[1:]):
        sys.argv[1:] = report_errors(resume_sweep_args)(sys.argv[1:])
        run()
    elif wants_resume(sys.argv[1:]):
        report_errors(lambda: objective(resumed_config(sys.argv[1:])))()
    else:
        run()


if __name__ == "__main__":
    main()
