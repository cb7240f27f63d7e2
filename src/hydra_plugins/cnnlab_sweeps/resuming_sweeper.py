"""Hydra's basic (grid) sweeper that finishes an interrupted sweep in its own directory.

Selected by `cnnlab-train -m ... resume=SWEEP_DIR` (cnnlab.runs.sweep_resume), never by hand.
Jobs keep their numbers, so each runs in its old directory: skipped jobs are not launched,
the others are launched in runs of consecutive numbers (`initial_job_idx`), an unfinished one
with the override that makes it continue from its own last.ckpt. The sweep's multirun.yaml is
kept as the first run wrote it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn
from omegaconf import OmegaConf

from cnnlab.errors import ConfigError
from cnnlab.runs.sweep_resume import JobAction, job_plan, resume_override


class ResumingSweeper(BasicSweeper):
    """A BasicSweeper whose `sweep` skips finished jobs and resumes unfinished ones."""

    def sweep(self, arguments: list[str]) -> Any:
        assert self.config is not None and self.launcher is not None
        assert self.hydra_context is not None
        params = self._parse_config()
        params.extend(arguments)
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        jobs = self.split_arguments(parser.parse_overrides(params), None)[0]
        # the job dirs' names: `${hydra.job.num}` (Hydra resolves it only inside a job)
        raw = OmegaConf.to_container(self.config.hydra.sweep, resolve=False)["subdir"]
        subdir = str(raw).replace("${hydra.job.num}", "{num}")
        if "{num}" not in subdir:
            raise ConfigError(
                f"hydra.sweep.subdir={raw}: a sweep can be resumed only when its job directories "
                "are named by ${hydra.job.num}"
            )
        plan = job_plan(Path(self.config.hydra.sweep.dir), len(jobs), subdir)
        returns: list[Sequence[JobReturn]] = []
        for start, numbers in _consecutive(
            [n for n, (a, _) in enumerate(plan) if a != JobAction.SKIP]
        ):
            batch = [
                [*jobs[n], resume_override(plan[n][1])]
                if plan[n][0] == JobAction.RESUME
                else jobs[n]
                for n in numbers
            ]
            self.validate_batch_is_legal(batch)
            results = self.launcher.launch(batch, initial_job_idx=start)
            for result in results:
                _ = result.return_value  # a failed job raises here, as in BasicSweeper
            returns.append(results)
        return returns


def _consecutive(numbers: list[int]) -> list[tuple[int, list[int]]]:
    """[0, 2, 3] -> [(0, [0]), (2, [2, 3])]: runs of consecutive job numbers."""
    runs: list[tuple[int, list[int]]] = []
    for n in numbers:
        if runs and runs[-1][1][-1] == n - 1:
            runs[-1][1].append(n)
        else:
            runs.append((n, [n]))
    return runs
