"""Catalogue: a mistaken Optuna search is one sentence before any trial trains, no sweep dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.robustness.conftest import assert_one_sentence_error

SEARCH = ["hydra/sweeper=optuna_search", "trainer.max_epochs=1", "data.image_size=8"]
LR = "task.optimizer.lr=interval(1e-4,1e-1)"

MISTAKES = {
    "unknown sampler": (
        [LR, "hydra.sweeper.sampler=tpee"],
        ["hydra.sweeper.sampler=tpee is not a sampler", "tpe, random"],
    ),
    "unknown pruner": (
        [LR, "hydra.sweeper.pruner=medain"],
        ["hydra.sweeper.pruner=medain is not a pruner", "median"],
    ),
    "misspelt sampler option": (
        [LR, "+hydra.sweeper.sampler_options.n_startp_trials=3"],
        ["tpe:", "n_startp_trials"],
    ),
    "broken space syntax": (
        ["+hydra.sweeper.params.model.dropout='interval(0.0,'"],
        ["search space", "model.dropout=interval(0.0,", "tag(log, interval("],
    ),
    "nothing to search": ([], ["nothing to search", "hydra.sweeper.params"]),
    "grid over an interval": (
        [LR, "hydra.sweeper.sampler=grid"],
        ["sampler=grid cannot walk the continuous task.optimizer.lr", "choice(...)"],
    ),
    "a direction per objective": (
        [LR, "hydra.sweeper.objectives=[val/acc,val/loss]"],
        ["1 entries for 2 objectives", "maximize/minimize"],
    ),
    "pruning two objectives": (
        [
            LR,
            "hydra.sweeper.objectives=[val/acc,val/loss]",
            "hydra.sweeper.direction=[maximize,minimize]",
            "hydra.sweeper.pruner=median",
        ],
        ["pruner=median needs one objective", "pruner=none"],
    ),
}


@pytest.mark.parametrize(("overrides", "fragments"), MISTAKES.values(), ids=MISTAKES.keys())
def test_a_mistaken_search(tmp_path: Path, overrides: list[str], fragments: list[str]) -> None:
    result = run_cli("train", "-m", *SEARCH, *overrides, cwd=tmp_path, check=False)
    assert_one_sentence_error(result, *fragments)
    assert not list(tmp_path.rglob("multirun.yaml")), "a sweep dir was left behind"
    assert not (tmp_path / "outputs/optuna").exists(), "a study was created"


def test_plots_of_a_folder_that_is_not_a_search(tmp_path: Path) -> None:
    (tmp_path / "sweep").mkdir()
    result = run_cli("compare", str(tmp_path / "sweep"), "--plots", cwd=tmp_path, check=False)
    assert_one_sentence_error(result, "is not the sweep directory of an Optuna search")
