"""Every option of every config group composes with the rest, validates and (where cheap) builds."""

from __future__ import annotations

from pathlib import Path

import cnnlab.conf
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint

from cnnlab.config.validation import validate_config
from tests.conftest import compose_config

CONF = Path(cnnlab.conf.__file__).parent
# Values a group option needs before it composes to a complete config (files that must exist).
REQUIRED = {
    ("data", "image_folder"): ["data.root=/tmp/nowhere", "data.num_classes=2"],
    ("data", "segmentation_folder"): ["data.root=/tmp/nowhere", "data.num_classes=2"],
}
# Options that need another task/data to make sense are composed through their experiment files.
SKIP_GROUPS = {"hydra", "paths", "experiment", "debug", "callbacks", "hparams_search"}
# groups whose options are placed inside another node (`# @package task.optimizer`, `task`)
PLACED = {"optimizer": "task.optimizer", "scheduler": "task.scheduler"}


def group_options() -> list[tuple[str, str]]:
    options = []
    for group in sorted(p for p in CONF.iterdir() if p.is_dir() and p.name not in SKIP_GROUPS):
        options += [(group.name, f.stem) for f in sorted(group.glob("*.yaml"))]
    return options


def overrides_for(group: str, option: str) -> list[str]:
    return [f"{group}={option}", *REQUIRED.get((group, option), [])]


@pytest.mark.parametrize(("group", "option"), group_options())
def test_group_option_composes_and_validates(group: str, option: str, tmp_path: Path) -> None:
    cfg = compose_config(overrides_for(group, option), tmp_path)
    validate_config(cfg)
    assert OmegaConf.select(cfg, PLACED.get(group, group)) is not None or option in ("none",)


@pytest.mark.parametrize("option", [f.stem for f in sorted((CONF / "experiment").glob("*.yaml"))])
def test_experiment_composes_and_validates(option: str, tmp_path: Path) -> None:
    cfg = compose_config([f"experiment={option}"], tmp_path)
    validate_config(cfg)
    assert cfg.run_name, "an experiment should name its runs"


@pytest.mark.parametrize("option", [f.stem for f in sorted((CONF / "debug").glob("*.yaml"))])
def test_debug_option_composes(option: str, tmp_path: Path) -> None:
    validate_config(compose_config([f"debug={option}"], tmp_path))


@pytest.mark.parametrize(
    "option", [f.stem for f in sorted((CONF / "model").glob("*.yaml")) if "resnet50" not in f.stem]
)
def test_model_option_instantiates(option: str, tmp_path: Path) -> None:
    cfg = compose_config([f"model={option}"], tmp_path)
    model = instantiate(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_default_config_builds_every_callback_and_logger(tmp_path: Path) -> None:
    cfg = compose_config([], tmp_path)
    callbacks = [instantiate(c) for c in cfg.callbacks.values()]
    loggers = [instantiate(c) for c in cfg.logger.values()]
    names = {type(c).__name__ for c in callbacks}
    assert {"BestAndLastCheckpoint", "PredictionGrid", "ConfusionMatrixImage"} <= names
    assert any(isinstance(c, ModelCheckpoint) for c in callbacks)  # Lightning's, extended
    assert [type(logger).__name__ for logger in loggers] == ["TensorBoardLogger"]


def test_callbacks_follow_the_task(tmp_path: Path) -> None:
    cfg = compose_config([], tmp_path)
    assert "prediction_grid" in cfg.callbacks  # callbacks/classification.yaml chosen by task name
