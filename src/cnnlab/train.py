"""`cnnlab-train`: compose the config with Hydra, then train, validate and test."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from cnnlab.cli import report_errors
from cnnlab.config.resolvers import register_resolvers
from cnnlab.experiment import train

register_resolvers()


@hydra.main(version_base="1.3", config_path="pkg://cnnlab.conf", config_name="train")
@report_errors
def main(cfg: DictConfig) -> float | None:
    """Returns the monitored metric, which Hydra sweepers (e.g. Optuna) optimise."""
    metrics = train(cfg)
    return metrics.get(cfg.task.monitor)


if __name__ == "__main__":
    main()
