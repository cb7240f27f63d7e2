"""Library code names its arguments; the pipeline, which knows the config node it built, names
config paths. The same U-Net error reads `model.depth` from conf/model/unet.yaml and `net.depth`
when the class sits under another key."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import cnnlab
from cnnlab.errors import CnnlabError, ConfigError
from cnnlab.models.unet import UNet
from cnnlab.pipeline import build_datamodule, build_task, instantiate_node


def test_the_library_error_names_the_argument() -> None:
    with pytest.raises(ConfigError) as raised:
        UNet(in_channels=1, num_classes=3, depth=0)
    assert "depth=0" in str(raised.value) and "model." not in str(raised.value)


def test_built_from_conf_model_unet_the_error_names_model_depth(compose_train) -> None:
    cfg = compose_train(["task=segmentation", "data=digit_canvas", "model=unet", "model.depth=0"])
    datamodule = build_datamodule(cfg.data)
    with pytest.raises(ConfigError, match=r"model\.depth=0") as raised:
        build_task(cfg, datamodule)
    assert "`" not in str(raised.value)


def test_nested_under_another_key_the_same_error_names_that_key() -> None:
    cfg = OmegaConf.create(
        {
            "net": {
                "_target_": "cnnlab.models.unet.UNet",
                "in_channels": 1,
                "num_classes": 3,
                "depth": 0,
            }
        }
    )
    with pytest.raises(ConfigError, match=r"net\.depth=0") as raised:
        instantiate_node(cfg.net)
    assert "model.depth" not in str(raised.value)


def test_a_nested_node_is_named_by_its_full_path() -> None:
    """Hydra says which nested node it was building: model.encoder, not model."""
    cfg = OmegaConf.create(
        {
            "model": {
                "wrapper": {
                    "_target_": "cnnlab.models.unet.UNet",
                    "in_channels": 1,
                    "num_classes": 3,
                    "depth": 0,
                }
            }
        }
    )
    with pytest.raises(ConfigError, match=r"model\.wrapper\.depth=0"):
        instantiate_node(cfg.model)


def test_a_data_module_error_after_construction_names_data_paths(compose_train) -> None:
    cfg = compose_train(
        ["data=image_folder", "data.root=/nonexistent/images", "data.num_classes=2"]
    )
    with pytest.raises(CnnlabError, match=r"data\.root"):
        build_datamodule(cfg.data)


CONFIG_PATH = re.compile(r"\b(model|data|task|trainer|callbacks|logger)\.[a-z_]+\b(?!\()")


@pytest.mark.parametrize("package", ["models", "data", "tasks", "callbacks"])
def test_library_messages_name_no_config_paths(package: str) -> None:
    """Raised and logged messages in library code name arguments (`depth`), never config keys
    (`model.depth`): the same class may be built under any key."""
    found = []
    for path in (Path(cnnlab.__file__).parent / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            is_message = isinstance(node, ast.Raise) or (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") in ("warning", "warn", "info", "error")
            )
            if not is_message:
                continue
            for part in ast.walk(node):
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    # a backticked name is an argument (`model.num_classes`: the model's)
                    unquoted = re.sub(r"`[^`]*`", "", part.value)
                    found += [
                        f"{path.name}:{part.lineno} {m[0]}" for m in CONFIG_PATH.finditer(unquoted)
                    ]
    assert not found, found
