"""Loggers beside cnnlab's own records: CSV, MLflow and TensorBoard's HParams, read back with
each tool's own reader and checked against the run's metrics.json."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from tests.conftest import TINY, read_json, run_cli, run_dirs

mlflow = pytest.importorskip("mlflow")

CHOSEN = ["task.optimizer.lr=0.01", "model.dropout=0.1"]


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One tiny run logging to TensorBoard, CSV and MLflow at once: (cwd, run dir)."""
    cwd = tmp_path_factory.mktemp("loggers")
    run_cli(
        "train",
        *CHOSEN,
        "logger=[tensorboard,csv,mlflow]",
        *TINY,
        "trainer.max_epochs=3",
        "trainer.limit_test_batches=2",
        cwd=cwd,
    )
    (run_dir,) = run_dirs(cwd / "outputs")
    return cwd, run_dir


def tensorboard_curve(run_dir: Path, tag: str) -> list[float]:
    """A metric's values by training step as TensorBoard has them (without the copy of the
    final value that the HParams summary logs at step 0)."""
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return [event.value for event in events.Scalars(tag) if event.step > 0]


def test_mlflow_holds_the_params_the_final_metrics_and_the_curves(
    logged: tuple[Path, Path],
) -> None:
    cwd, run_dir = logged
    client = mlflow.MlflowClient(f"sqlite:///{cwd / 'outputs/mlflow.db'}")
    (experiment,) = [e for e in client.search_experiments() if e.name == "classification"]
    (run,) = client.search_runs([experiment.experiment_id])
    params = run.data.params
    assert params["task/optimizer/lr"] == "0.01" and params["model/dropout"] == "0.1"
    assert params["model/_target_"] == "SimpleCNN" and params["seed"] == "42"
    assert "ckpt_path" not in params
    assert run.data.tags["cnnlab.run_dir"] == str(run_dir.resolve())
    final = read_json(run_dir / "metrics.json")
    for name in ("test/acc", "test/loss", "val/acc"):
        assert run.data.metrics[name] == pytest.approx(final[name], abs=1e-6)
    curve = client.get_metric_history(run.info.run_id, "val/acc")
    # one value per epoch of fit, then the final validation of the best weights
    assert len(curve) == 4
    assert [m.value for m in curve] == pytest.approx(tensorboard_curve(run_dir, "val/acc"))


def test_csv_logger_writes_the_per_epoch_values(logged: tuple[Path, Path]) -> None:
    _, run_dir = logged
    with open(run_dir / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    val_acc = [float(row["val/acc"]) for row in rows if row["val/acc"]]
    assert val_acc == pytest.approx(tensorboard_curve(run_dir, "val/acc"))
    epochs = {row["epoch"] for row in rows if row["train/loss_epoch"]}
    assert epochs == {"0", "1", "2"}
    (test_acc,) = [float(row["test/acc"]) for row in rows if row["test/acc"]]
    assert test_acc == pytest.approx(read_json(run_dir / "metrics.json")["test/acc"], abs=1e-6)


def test_the_hparams_table_starts_with_the_overrides_and_omits_nulls(
    logged: tuple[Path, Path],
) -> None:
    _, run_dir = logged
    events = EventAccumulator(str(run_dir))
    events.Reload()
    content = events.PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    names = [info.name for info in experiment.experiment.hparam_infos]
    assert names[:3] == ["task/optimizer/lr", "model/dropout", "trainer/max_epochs"]
    assert "ckpt_path" not in names and not [n for n in names if n.startswith("logger")]
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    assert hparams["task/optimizer/lr"].number_value == pytest.approx(0.01)
    assert hparams["task/_target_"].string_value == "ClassificationTask"
