"""cnnlab's Optuna search as a user runs it: real Hydra multiruns, real trainings, real studies.

Every number a search reports is checked against the runs' own metrics.json: the study's trial
values, the best trial, the Pareto front.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import TINY, read_json, run_cli

optuna = pytest.importorskip("optuna")
TrialState = optuna.trial.TrialState

FAST = [*TINY[1:], "trainer.limit_test_batches=2"]  # TINY without its max_epochs
# half the grid is hopeless (lr=10.0); the median pruner compares each epoch with earlier trials
PRUNING = [
    "hydra/sweeper=optuna_search",
    "task.optimizer.lr=choice(0.003,10.0)",
    "model.dropout=choice(0.0,0.1,0.2)",
    "hydra.sweeper.sampler=grid",
    "hydra.sweeper.seed=0",
    "hydra.sweeper.n_trials=6",
    "hydra.sweeper.pruner=median",
    "+hydra.sweeper.pruner_options={n_startup_trials:1}",
    "hydra.sweeper.study_name=pruning",
    "trainer.max_epochs=3",
    "data.image_size=8",
    "callbacks.progress_bar.refresh_rate=0",
]


def sweep_dirs(cwd: Path) -> set[Path]:
    return {p.parent for p in (cwd / "outputs" / "multirun").rglob("multirun.yaml")}


def search(cwd: Path, *overrides: str) -> Path:
    """Run `cnnlab-train -m ...`; returns the new sweep directory."""
    before = sweep_dirs(cwd)
    run_cli("train", "-m", *overrides, cwd=cwd)
    (sweep,) = sweep_dirs(cwd) - before
    return sweep


def load(cwd: Path, name: str) -> optuna.Study:
    journal = optuna.storages.journal.JournalFileBackend(str(cwd / f"outputs/optuna/{name}.log"))
    return optuna.load_study(study_name=name, storage=optuna.storages.JournalStorage(journal))


def jobs(sweep: Path) -> list[Path]:
    return sorted((p for p in sweep.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


@pytest.fixture(scope="module")
def pruned_search(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The 6-trial grid with lr 0.003 or 10.0 under the median pruner: (cwd, sweep dir)."""
    cwd = tmp_path_factory.mktemp("pruning")
    return cwd, search(cwd, *PRUNING)


def test_the_median_pruner_stops_hopeless_trials_before_their_last_epoch(
    pruned_search: tuple[Path, Path],
) -> None:
    cwd, sweep = pruned_search
    statuses = {job.name: read_json(job / "status.json") for job in jobs(sweep)}
    pruned = {name: s for name, s in statuses.items() if s["status"] == "pruned"}
    assert pruned, statuses
    assert all(s["epoch"] < 2 for s in pruned.values())  # max_epochs=3: stopped early
    for name in pruned:  # a pruned run is a normal run directory, without final metrics
        assert (sweep / name / ".hydra/config.yaml").is_file()
        assert not (sweep / name / "metrics.json").exists()
    study = load(cwd, "pruning")
    by_dir = {Path(t.user_attrs["run_dir"]).name: t for t in study.trials}
    assert {n for n, t in by_dir.items() if t.state == TrialState.PRUNED} == set(pruned)
    for name, trial in by_dir.items():  # each trial's value is its run's own metric
        if trial.state == TrialState.COMPLETE:
            assert trial.value == read_json(sweep / name / "metrics.json")["val/acc"]
    summary = (sweep / "summary.md").read_text()
    assert f"{len(pruned)} pruned" in summary and "pruned by the search after epoch" in summary


def test_the_summary_names_the_best_trial_and_a_command_that_rebuilds_it(
    pruned_search: tuple[Path, Path],
) -> None:
    _, sweep = pruned_search
    finished = {
        job: read_json(job / "metrics.json")["val/acc"]
        for job in jobs(sweep)
        if (job / "metrics.json").exists()
    }
    best_dir = max(finished, key=finished.get)
    with open(sweep / "summary.csv") as handle:
        best = next(csv.DictReader(handle))
    assert best["best"] == "*"
    assert float(best["val/acc"]) == pytest.approx(finished[best_dir], abs=5e-5)
    study_md = (sweep / "study.md").read_text()
    assert f"its run directory: {best_dir}" in study_md
    overrides = (best_dir / ".hydra/overrides.yaml").read_text()
    command = next(line for line in study_md.splitlines() if line.startswith("cnnlab-train "))
    for override in command.split()[1:]:
        assert f"- {override}" in overrides, (override, overrides)
    assert study_md in (sweep / "summary.md").read_text()


def test_the_plots_are_valid_pngs_and_compare_redraws_them(
    pruned_search: tuple[Path, Path],
) -> None:
    _, sweep = pruned_search
    names = ["history", "importances", "contour", "intermediate_values"]
    for name in names:
        path = sweep / f"optuna_{name}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            assert image.size[0] > 100 and image.size[1] > 100
        path.unlink()
    result = run_cli("compare", str(sweep), "--plots", cwd=sweep)
    assert all((sweep / f"optuna_{name}.png").is_file() for name in names), result.stderr


def test_the_digits_search_continues_its_study_and_fails_a_trial_left_running(
    tmp_path: Path,
) -> None:
    args = ["hparams_search=digits_cnn", "hydra.sweeper.n_trials=2", "trainer.max_epochs=1", *FAST]
    first = search(tmp_path, *args)
    study = load(tmp_path, "digits_cnn")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert sorted(t.value for t in study.trials) == sorted(
        read_json(job / "metrics.json")["val/acc"] for job in jobs(first)
    )
    stale = study.ask()  # what a killed search leaves behind: a trial still RUNNING

    search(tmp_path, *args)  # the same command again: two more trials in the same study
    study = load(tmp_path, "digits_cnn")
    assert len(study.trials) == 5
    assert study.trials[stale.number].state == TrialState.FAIL
    assert [t.state for t in study.trials].count(TrialState.COMPLETE) == 4


def test_two_parallel_workers_share_one_journal_without_repeating_a_trial(
    tmp_path: Path,
) -> None:
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    sweep = search(
        tmp_path,
        "hydra/sweeper=optuna_search",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.sampler=random",
        "hydra.sweeper.seed=7",
        "hydra.sweeper.study_name=parallel",
        "task.optimizer.lr=tag(log,interval(1e-4,1e-1))",
        "model.dropout=choice(0.0,0.25,0.5)",
        "trainer.max_epochs=1",
        *FAST,
    )
    study = load(tmp_path, "parallel")
    assert len({t.number for t in study.trials}) == len(study.trials) == 4
    params = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(params)) == 4
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    # each job trained with the parameters its own trial asked for
    for trial in study.trials:
        overrides = (Path(trial.user_attrs["run_dir"]) / ".hydra/overrides.yaml").read_text()
        assert f"task.optimizer.lr={trial.params['task.optimizer.lr']}" in overrides
    assert len(jobs(sweep)) == 4


def test_nsga2_with_two_objectives_writes_the_pareto_front(tmp_path: Path) -> None:
    sweep = search(
        tmp_path,
        "hydra/sweeper=optuna_search",
        "hydra.sweeper.sampler=nsga2",
        "hydra.sweeper.seed=3",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.study_name=two_goals",
        "hydra.sweeper.objectives=[val/acc,val/loss]",
        "hydra.sweeper.direction=[maximize,minimize]",
        "task.optimizer.lr=tag(log,interval(1e-4,1e-1))",
        "trainer.max_epochs=1",
        *FAST,
    )
    scores = {
        job: (m["val/acc"], m["val/loss"])
        for job in jobs(sweep)
        for m in [read_json(job / "metrics.json")]
    }

    def dominated(a: tuple[float, float]) -> bool:
        return any(b[0] >= a[0] and b[1] <= a[1] and b != a for b in scores.values())

    front = {job for job, score in scores.items() if not dominated(score)}
    report = (sweep / "summary.md").read_text()
    assert f"Pareto front ({len(front)} trials)" in report
    rows = [
        line for line in report.splitlines() if line.startswith("| ") and "cnnlab-train" in line
    ]
    assert {Path(row.split(" | ")[3]) for row in rows} == front
    assert (sweep / "optuna_pareto_front.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_a_search_killed_after_three_trials_continues_with_the_same_command(
    tmp_path: Path,
) -> None:
    args = ["hparams_search=digits_cnn", "trainer.max_epochs=1", *FAST]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "cnnlab.cli.train", "-m", *args, "hydra.sweeper.n_trials=20"]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    journal = tmp_path / "outputs/optuna/digits_cnn.log"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if journal.exists():
            finished = [t for t in load(tmp_path, "digits_cnn").trials if t.state.is_finished()]
            if len(finished) >= 3:
                break
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = len(load(tmp_path, "digits_cnn").trials)
    assert before >= 3

    search(tmp_path, *args, "hydra.sweeper.n_trials=2")
    study = load(tmp_path, "digits_cnn")
    assert len(study.trials) >= 3 + 2 and len(study.trials) == before + 2
    assert not [t for t in study.trials if t.state == TrialState.RUNNING]


@pytest.mark.slow
def test_the_unet_search_prunes_on_val_iou(tmp_path: Path) -> None:
    search(
        tmp_path,
        "experiment=canvas_unet",
        "hparams_search=canvas_unet",
        "hydra.sweeper.n_trials=5",
        "hydra.sweeper.pruner_options.n_startup_trials=1",
        "trainer.max_epochs=3",
        "data.num_images=300",
        "callbacks.progress_bar.refresh_rate=0",
    )
    study = load(tmp_path, "canvas_unet")
    assert len(study.trials) == 5 and study.best_value > 0
    for trial in study.trials:  # val/iou reported after every epoch it trained
        stopped = trial.state == TrialState.PRUNED
        epochs = sorted(trial.intermediate_values)
        assert epochs == list(range(len(epochs))) and (stopped or epochs == [0, 1, 2])
    best = Path(study.best_trial.user_attrs["run_dir"])
    assert study.best_value == read_json(best / "metrics.json")["val/iou"]
