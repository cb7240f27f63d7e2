"""The Optuna search in conf/hparams_search/ as a user runs it: real trials, a stored study."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import TINY, read_json, run_cli

optuna = pytest.importorskip("optuna")
pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")


def search(cwd: Path, trials: int) -> Path:
    """Run the search; returns its sweep directory."""
    before = set((cwd / "outputs" / "multirun").rglob("summary.md"))
    run_cli(
        "train",
        "-m",
        "hparams_search=digits_cnn",
        f"hydra.sweeper.n_trials={trials}",
        *TINY,
        "trainer.limit_test_batches=2",
        cwd=cwd,
    )
    (summary,) = set((cwd / "outputs" / "multirun").rglob("summary.md")) - before
    return summary.parent


def test_optuna_records_the_best_trial_and_continues_its_stored_study(tmp_path: Path) -> None:
    sweep = search(tmp_path, trials=3)
    scores = {job.name: read_json(job / "metrics.json")["val/acc"] for job in sweep.glob("[0-9]")}
    assert len(scores) == 3
    results = (sweep / "optimization_results.yaml").read_text()
    assert f"best_value: {max(scores.values())}" in results

    with open(sweep / "summary.csv") as handle:
        best = next(csv.DictReader(handle))
    assert best["best"] == "*" and float(best["val/acc"]) == pytest.approx(max(scores.values()))
    assert "task.optimizer.lr=" in best["overrides"]

    storage = f"sqlite:///{(tmp_path / 'outputs/optuna/digits_cnn.db').resolve()}"
    study = optuna.load_study(study_name="digits_cnn", storage=storage)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert sorted(t.value for t in study.trials) == sorted(scores.values())

    search(tmp_path, trials=1)  # the same command again continues the stored study
    study = optuna.load_study(study_name="digits_cnn", storage=storage)
    assert len(study.trials) == 4
