"""A Hydra callback for `-m` sweeps: record each job's outcome, keep a summary table of all jobs.

Hydra's `run_job` catches a job's exception and marks it FAILED, so the other jobs still run.
What Hydra does next depends on the sweeper: the basic sweeper (grids) would re-raise the first
failure as a traceback once its batch of jobs is done, and skip `on_multirun_end`, so a failure
recorded here is handed to it as done; the Optuna sweeper marks the trial failed and goes on.
The summary is rewritten after every job (under a lock: joblib and submitit jobs end in
processes of their own), and `on_multirun_end` ends a sweep with failures with exit status 1
and the summary's path.
"""

from __future__ import annotations

import fcntl
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from cnnlab.errors import RunPruned
from cnnlab.runs.atomic import write_json_atomic, write_text_atomic
from cnnlab.runs.catalog import DAMAGED, RunRecord, rank, show, sweep_jobs
from cnnlab.runs.groups import across_seeds_section
from cnnlab.runs.layout import ERROR_FILE, STATUS_FILE, STUDY_REPORT, SUMMARY_NAME
from cnnlab.runs.tables import render

log = logging.getLogger(__name__)


class SweepSummary(Callback):
    """Writes <job dir>/status.json (+ error.txt) per job and summary.csv/.md per sweep."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Hydra sets its job state (`${hydra:...}`) for single runs only; the sweep dir's name
        # (run_name: ${hydra:runtime.choices.task}) needs it before the sweeper creates the dir.
        HydraConfig.instance().set_config(config)

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        record_outcome(Path(config.hydra.runtime.output_dir), job_return)
        write_summary(Path(config.hydra.sweep.dir))
        if job_return.status == JobStatus.FAILED and _reraises_failures(config):
            # recorded in status.json, the failure is reported by on_multirun_end (exit 1, the
            # summary's path); left FAILED, the basic sweeper would re-raise it as a traceback
            # after the batch and skip on_multirun_end. Hydra returns this same JobReturn.
            job_return.status = JobStatus.COMPLETED
            job_return.return_value = None

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        jobs = write_summary(sweep_dir)
        failed = [job for job in jobs if job.status == "failed"]
        if failed:
            print(
                f"cnnlab: {len(failed)} of {len(jobs)} sweep jobs failed; "
                f"see {sweep_dir / (SUMMARY_NAME + '.md')}"
            )
            raise SystemExit(1)


def _reraises_failures(config: DictConfig) -> bool:
    """The basic sweeper (grids) re-raises a failed job; Optuna records the trial as failed."""
    return str(config.hydra.sweeper.get("_target_", "")).endswith(".BasicSweeper")


def record_outcome(job_dir: Path, job_return: JobReturn) -> None:
    """status.json says ok, pruned (with the epoch) or failed (with the error in one line);
    error.txt has a failure's traceback."""
    outcome: dict[str, Any] = {"status": "ok", "error": None}
    if job_return.status == JobStatus.FAILED:
        try:
            job_return.return_value  # noqa: B018 - JobReturn re-raises the job's exception
        except RunPruned as pruned:  # stopped early by a search: an outcome, not a failure
            outcome = {"status": "pruned", "error": str(pruned), "epoch": pruned.epoch}
            log.info(f"job {job_dir.name} {pruned}")
        except Exception as error:
            outcome = {"status": "failed", "error": f"{type(error).__name__}: {error}"}
            write_text_atomic(job_dir / ERROR_FILE, "".join(traceback.format_exception(error)))
            log.error(f"job {job_dir.name} failed: {outcome['error']}")
    if outcome["status"] == "ok":  # a job rerun by a resumed sweep: its old failure is gone
        (job_dir / ERROR_FILE).unlink(missing_ok=True)
    write_json_atomic(job_dir / STATUS_FILE, outcome)


def write_summary(sweep_dir: Path) -> list[RunRecord]:
    """Rewrite summary.csv and summary.md from the job directories; returns the jobs, ranked."""
    with _locked(sweep_dir / f".{SUMMARY_NAME}.lock"):
        jobs = rank(sweep_jobs(sweep_dir))
        columns, rows, common = summary_rows(jobs)
        write_text_atomic(sweep_dir / f"{SUMMARY_NAME}.csv", render(columns, rows, "csv"))
        write_text_atomic(
            sweep_dir / f"{SUMMARY_NAME}.md", _markdown(sweep_dir, jobs, columns, rows, common)
        )
    return jobs


def summary_rows(jobs: list[RunRecord]) -> tuple[list[str], list[dict[str, str]], list[str]]:
    """Columns, one row per job (best marked), and the overrides every job shares."""
    common = (
        [o for o in jobs[0].overrides if all(o in job.overrides for job in jobs)] if jobs else []
    )
    objective = next((job.objective for job in jobs if job.objective), None)
    metrics = sorted({name for job in jobs for name in job.metrics} - {objective})
    metric_columns = ([objective] if objective else []) + metrics
    columns = ["best", "job", "status", "overrides", *metric_columns, "error", "run_dir"]
    rows = []
    for index, job in enumerate(jobs):
        row = {
            "best": "*" if index == 0 and job.score is not None else "",
            "job": str(job.sweep_job),
            "status": job.status,
            "overrides": " ".join(o for o in job.overrides if o not in common),
            "error": job.error or "",
            "run_dir": job.path.name,
        }
        row.update({name: show(job.metrics.get(name)) for name in metric_columns})
        rows.append(row)
    return columns, rows, common


def _markdown(
    sweep_dir: Path,
    jobs: list[RunRecord],
    columns: list[str],
    rows: list[dict[str, str]],
    common: list[str],
) -> str:
    counts = {
        s: sum(job.status == s for job in jobs)
        for s in ("ok", "pruned", "failed", "unfinished", DAMAGED)
    }
    objective = next((f"{j.objective} ({j.objective_mode})" for j in jobs if j.objective), "none")
    header = [
        f"# Sweep {sweep_dir}",
        "",
        f"- objective: {objective}; best marked *",
        f"- jobs: {len(jobs)} ({', '.join(f'{n} {s}' for s, n in counts.items() if n)})",
        f"- common overrides: {' '.join(common) or '(none)'}",
        "",
        "",
    ]
    study = sweep_dir / STUDY_REPORT  # an Optuna search's best trial or Pareto front
    found = "\n" + study.read_text() if study.is_file() else ""
    return (
        "\n".join(header)
        + render(columns, rows, "md")
        + found
        + across_seeds_section(jobs, sweep_dir)
    )


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
