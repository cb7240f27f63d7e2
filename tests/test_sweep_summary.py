"""`cnnlab-train -m` sweeps as users run them: a 2x2 grid with one failing job, real files read."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from tests.conftest import TINY, read_json, run_cli

# (image_size 4, three 2x2 poolings) shrinks the feature map to nothing: that job alone fails
GRID = ["data.image_size=8,4", "model.channels=[8],[8,16,32]"]
FAILING = ("data.image_size=4", "model.channels=[8,16,32]")
SWEPT_KEYS = {"data.image_size", "model.channels", "model.input_size"}


def sweep_dir(cwd: Path) -> Path:
    (summary,) = (cwd / "outputs" / "multirun").rglob("summary.md")
    return summary.parent


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int]:
    """(sweep dir, output, exit status) of one real 2x2 multirun."""
    cwd = tmp_path_factory.mktemp("sweep")
    args = [o for o in TINY if not o.startswith("data.image_size")]
    result = run_cli(
        "train", "-m", *args, "trainer.limit_test_batches=2", *GRID, cwd=cwd, check=False
    )
    return sweep_dir(cwd), result.stdout + result.stderr, result.returncode


def test_failed_job_is_recorded_and_the_others_complete(grid) -> None:
    sweep, output, returncode = grid
    assert returncode != 0, output
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    statuses = {}
    for job in jobs:
        overrides = tuple((job / ".hydra" / "overrides.yaml").read_text().split("\n"))
        failed = all(f"- {o}" in overrides for o in FAILING)
        status = read_json(job / "status.json")
        statuses[job.name] = status["status"]
        if failed:
            assert status["status"] == "failed"
            assert "SimpleCNN" in status["error"]  # the model cannot be built for 4x4 images
            assert "Traceback" in (job / "error.txt").read_text()
            assert not (job / "metrics.json").exists()
        else:
            assert status == {"status": "ok", "error": None}
            assert (job / "metrics.json").is_file()
    assert sorted(statuses.values()) == ["failed", "ok", "ok", "ok"]


def test_summary_ranks_jobs_by_the_objective_and_marks_the_best(grid) -> None:
    sweep, _, _ = grid
    with open(sweep / "summary.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert list(rows[0])[:5] == ["best", "job", "status", "overrides", "val/acc"]
    scores = [float(row["val/acc"]) for row in rows if row["status"] == "ok"]
    assert scores == sorted(scores, reverse=True)
    assert [row["best"] for row in rows] == ["*", "", "", ""]
    assert rows[-1]["status"] == "failed" and rows[-1]["overrides"] == " ".join(FAILING)
    for row in rows:
        metrics = read_json(sweep / row["run_dir"] / "metrics.json") if row["val/acc"] else {}
        assert row["val/acc"] == (f"{metrics['val/acc']:.4f}" if metrics else "")
    markdown = (sweep / "summary.md").read_text()
    assert "objective: val/acc (max)" in markdown
    assert "jobs: 4 (3 ok, 1 failed)" in markdown
    assert "| * | " in markdown


def test_every_run_of_the_sweep_has_hparams_with_final_metrics(grid) -> None:
    sweep, _, _ = grid
    for job in (sweep / row for row in "0123"):
        if not (job / "metrics.json").exists():
            continue
        events = EventAccumulator(str(job))
        events.Reload()
        content = events.PluginTagToContent("hparams")
        start = plugin_data_pb2.HParamsPluginData.FromString(
            content["_hparams_/session_start_info"]
        ).session_start_info
        config = (job / ".hydra" / "overrides.yaml").read_text()
        assert f"data.image_size={int(start.hparams['data/image_size'].number_value)}" in config
        # the HParams columns are what the sweep varies; the rest stays in .hydra/config.yaml
        assert set(start.hparams) == {"data/image_size", "model/channels"}
        experiment = plugin_data_pb2.HParamsPluginData.FromString(
            content["_hparams_/experiment"]
        ).experiment
        assert {"val/acc", "test/acc"} <= {info.name.tag for info in experiment.metric_infos}
        final = read_json(job / "metrics.json")["test/acc"]
        assert final in [s.value for s in events.Scalars("test/acc")]


def test_compare_lists_exactly_the_swept_keys(grid) -> None:
    sweep, _, _ = grid
    table = run_cli("compare", str(sweep), "--format", "csv", cwd=sweep).stdout
    header = next(csv.reader(table.splitlines()))
    metrics = {name for name in header if "/" in name}
    # the grid has a failed job, whose error is a column
    assert set(header) - metrics == {"run", "status", "error", *SWEPT_KEYS}
    assert {"val/acc", "test/acc"} <= metrics
    assert len(table.splitlines()) == 5

    only_ok = run_cli(
        "compare",
        str(sweep),
        "--format",
        "csv",
        "--filter",
        "status=ok",
        "--filter",
        "data.image_size=8",
        "--sort",
        "val/acc",
        "--desc",
        cwd=sweep,
    ).stdout
    rows = list(csv.DictReader(only_ok.splitlines()))
    assert len(rows) == 2
    assert set(rows[0]) - {"run", "status"} - metrics == {"model.channels"}  # all 8x8 now
    accuracy = [float(row["val/acc"]) for row in rows]
    assert accuracy == sorted(accuracy, reverse=True)
