"""`cnnlab-compare --group-by/--baseline` over a real 2 models x 3 seeds sweep, checked against a
hand computation from each run's own metrics.json and saved config."""

from __future__ import annotations

import csv
import io
import statistics
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import read_json, run_cli
from tests.runs.conftest import MODELS, SEEDS

METRICS = ("test/acc", "val/loss")  # one better when higher, one when lower


def by_model_and_seed(sweep: Path, metric: str) -> dict[str, dict[int, float]]:
    """{model: {seed: metric}} read straight from the job directories."""
    values: dict[str, dict[int, float]] = {}
    for job in sorted(p for p in sweep.iterdir() if p.is_dir()):
        config = yaml.safe_load((job / ".hydra" / "config.yaml").read_text())
        choices = yaml.safe_load((job / ".hydra" / "hydra.yaml").read_text())["hydra"]["runtime"]
        model = choices["choices"]["model"]
        values.setdefault(model, {})[config["seed"]] = read_json(job / "metrics.json")[metric]
    return values


def compare_rows(sweep: Path, *args: str) -> dict[tuple[str, str], dict[str, str]]:
    result = run_cli("compare", str(sweep), *args, "--format", "csv", cwd=sweep)
    return {
        (row["model"], row["metric"]): row for row in csv.DictReader(io.StringIO(result.stdout))
    }


def test_group_mean_sd_and_paired_differences_match_a_hand_computation(model_seed_sweep) -> None:
    rows = compare_rows(model_seed_sweep, "--group-by", "model", "--baseline", "model=cnn")
    for metric in METRICS:
        values = by_model_and_seed(model_seed_sweep, metric)
        assert sorted(values) == list(MODELS) and all(
            sorted(v) == list(SEEDS) for v in values.values()
        )
        for model in MODELS:
            row = rows[(model, metric)]
            runs = np.array([values[model][seed] for seed in SEEDS])
            assert row["n"] == "3"
            assert float(row["mean"]) == pytest.approx(runs.mean())
            assert float(row["sd"]) == pytest.approx(runs.std(ddof=1))
            assert float(row["min"]) == pytest.approx(runs.min())
            assert float(row["max"]) == pytest.approx(runs.max())
        diffs = [values["cnn_pooled"][s] - values["cnn"][s] for s in SEEDS]
        pooled = rows[("cnn_pooled", metric)]
        assert float(pooled["diff mean"]) == pytest.approx(statistics.mean(diffs))
        assert float(pooled["diff sd"]) == pytest.approx(statistics.stdev(diffs))
        better = [d > 0 for d in diffs] if metric == "test/acc" else [d < 0 for d in diffs]
        assert pooled["wins"] == f"{sum(better)}/3"
        assert rows[("cnn", metric)]["wins"] == ""  # the baseline is not compared with itself


def test_markdown_table_shows_mean_plus_minus_sd(model_seed_sweep) -> None:
    table = run_cli("compare", str(model_seed_sweep), "--group-by", "model", cwd=model_seed_sweep)
    header = table.stdout.splitlines()[0]
    assert header.startswith("| model | metric | n | mean ± sd | min | max |")
    assert sum(" ± " in line for line in table.stdout.splitlines()[2:]) >= 2 * len(METRICS)


def test_sweep_summary_adds_an_across_seeds_section(model_seed_sweep) -> None:
    summary = (model_seed_sweep / "summary.md").read_text()
    section = summary.split("## Across seeds (grouped by model)", 1)[1]
    acc = read_json(model_seed_sweep / "0" / "metrics.json")  # job 0: cnn, seed 1
    assert "| cnn | test/acc | 3 |" in section and "| cnn_pooled | test/acc | 3 |" in section
    assert all(name in section for name in acc)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group-by", "optimiser"], "--group-by optimiser: no run has that config key"),
        (
            ["--group-by", "model", "--baseline", "model=resnet"],
            "--baseline model=resnet: no such group",
        ),
        (["--group-by", "model", "--baseline", "cnn"], "give one value per grouping key"),
        (["--baseline", "model=cnn"], "--baseline needs --group-by"),
    ],
)
def test_bad_grouping_is_one_clear_error(model_seed_sweep, args, message) -> None:
    result = run_cli("compare", str(model_seed_sweep), *args, cwd=model_seed_sweep, check=False)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
