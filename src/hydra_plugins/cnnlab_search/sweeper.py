"""`hydra/sweeper=optuna_search`: a Hydra sweeper on current Optuna (see cnnlab.search).

Hydra instantiates only plugin classes it finds under `hydra_plugins`, so this thin class lives
here and hands the search to cnnlab.search.driver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf


class CnnlabOptunaSweeper(Sweeper):
    """Ask Optuna for trials, run them as jobs through the configured launcher, tell results."""

    def __init__(self, **settings: Any) -> None:
        super().__init__()
        self.settings = settings

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        """A bad setting is one sentence and exit status 2, as for cnnlab-train's own errors."""
        from cnnlab.cli import report_errors

        return report_errors(self._search)(arguments)

    def _search(self, arguments: list[str]) -> Any:
        from cnnlab.search.driver import SearchSettings, run_search
        from cnnlab.search.plots import write_plots
        from cnnlab.search.report import write_report

        settings = SearchSettings(**_plain(self.settings))
        study = run_search(
            settings,
            self.config,
            self.launcher,
            arguments,
            self.validate_batch_is_legal,
            self.hydra_context.config_loader,
        )
        sweep_dir = Path(self.config.hydra.sweep.dir)
        write_report(study, settings.objectives, sweep_dir)
        write_plots(study, settings.objectives, sweep_dir)
        return study


def _plain(settings: dict[str, Any]) -> dict[str, Any]:
    """Hydra passes nested settings as OmegaConf nodes; the driver takes plain values."""
    return {
        key: OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        for key, value in settings.items()
    }
