"""`cnnlab-train` and `cnnlab-eval` as a user runs them: real subprocesses, real files read back."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from tests.conftest import TINY, read_json, run_cli, run_dirs


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """One tiny real training run shared by the tests of this module: (cwd, run dir, stdout)."""
    cwd = tmp_path_factory.mktemp("train")
    result = run_cli("train", *TINY, "trainer.max_epochs=3", cwd=cwd)
    (run_dir,) = run_dirs(cwd / "outputs")
    return cwd, run_dir, result.stdout


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_run_directory_holds_everything(trained) -> None:
    cwd, run_dir, _ = trained
    assert run_dir.parent == cwd / "outputs" / "classification"
    for name in [
        ".hydra/config.yaml",
        ".hydra/overrides.yaml",
        "checkpoints/best.ckpt",
        "checkpoints/last.ckpt",
        "metrics.json",
        "environment.json",
    ]:
        assert (run_dir / name).is_file(), name
    assert list(run_dir.glob("events.out.tfevents.*"))


def test_metrics_json_is_flat_val_and_test(trained) -> None:
    metrics = read_json(trained[1] / "metrics.json")
    assert {
        "val/acc",
        "val/loss",
        "val/f1",
        "test/acc",
        "test/loss",
        "test/f1",
        "test/acc_top5",
    } <= set(metrics)
    assert all(isinstance(v, float) for v in metrics.values())
    assert metrics["test/acc"] > 0.3  # 3 short epochs on 8x8 digits: far above chance (0.1)


def test_environment_record(trained) -> None:
    environment = read_json(trained[1] / "environment.json")
    assert environment["seed"] == 42
    assert environment["packages"]["torch"]
    assert environment["accelerator"] == "cpu"
    assert "git_commit" in environment


def test_console_summary(trained) -> None:
    _, run_dir, stdout = trained
    assert f"Run directory: {run_dir}" in stdout
    assert "test/acc" in stdout
    assert f"tensorboard --logdir {run_dir}" in stdout


def test_tensorboard_events_have_scalars_images_and_hparams(trained) -> None:
    events = EventAccumulator(str(trained[1]), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train/loss_step", "train/loss_epoch", "val/acc", "val/loss", "test/acc"} <= scalars
    assert any(tag.startswith("lr-") for tag in scalars), scalars
    assert len(events.Scalars("train/acc")) == 3  # train metrics: once per epoch, not per step
    images = set(events.Tags()["images"])
    assert {"val/predictions", "test/confusion_matrix", "model/first_conv_kernels"} <= images
    assert len(events.Images("model/first_conv_kernels")) == 2  # before and after training
    # each of the 3 epochs of fit, then the final validation of the best weights
    assert len(events.Images("val/predictions")) == 4

    content = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    assert hparams["model/_target_"].string_value == "SimpleCNN"  # class names, not paths
    assert "ckpt_path" not in hparams  # null keys are left out
    assert hparams["task/optimizer/lr"].number_value == pytest.approx(0.003)
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    metric_tags = {m.name.tag for m in experiment.experiment.metric_infos}
    assert {"test/acc", "val/acc"} <= metric_tags
    assert events.Scalars("test/acc")[-1].value == pytest.approx(
        read_json(trained[1] / "metrics.json")["test/acc"], abs=1e-6
    )


def test_eval_reproduces_test_metrics(trained) -> None:
    cwd, run_dir, _ = trained
    before = snapshot(run_dir)
    result = run_cli("eval", f"ckpt_path={run_dir}/checkpoints/best.ckpt", cwd=cwd)
    (eval_dir,) = run_dirs(cwd / "outputs" / "eval")
    evaluated = read_json(eval_dir / "metrics.json")
    trained_metrics = read_json(run_dir / "metrics.json")
    for name, value in evaluated.items():
        assert value == pytest.approx(trained_metrics[name], abs=1e-6), name
    assert "test/acc" in result.stdout
    assert snapshot(run_dir) == before  # evaluation writes its own directory only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model=no_such_model"], "Available options in 'model'"),
        (["trainer.max_epochs=many"], "trainer.max_epochs='many' (str) has the wrong type"),
        (["data=mnist", "data.root=missing_dir"], "put the torchvision files there"),
        (["data=image_folder", "data.root=missing_dir", "data.num_classes=2"], "does not exist"),
        (["model.num_classes=3"], "set model.num_classes=10"),
    ],
)
def test_bad_input_fails_clearly_and_touches_no_earlier_run(trained, args, message) -> None:
    cwd, run_dir, _ = trained
    before = snapshot(run_dir)
    result = run_cli("train", *TINY, *args, cwd=cwd, check=False)
    assert result.returncode != 0
    assert message.lower() in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert snapshot(run_dir) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"not a checkpoint at all", "corrupt, truncated or not a PyTorch")],
)
def test_eval_of_a_bad_checkpoint_fails_clearly(tmp_path: Path, content, message) -> None:
    path = tmp_path / "model.ckpt"
    if content is not None:
        path.write_bytes(content)
    result = run_cli("eval", f"ckpt_path={path}", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
