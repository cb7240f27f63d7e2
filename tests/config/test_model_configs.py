"""The model configs after the one vocabulary: every recipe builds the same model as before.

`model_nodes_before.json` holds the resolved `model` node of every experiment and every model
option as composed at commit bb06a39, before `weights` and `num_classes` became every family's
words. Today's nodes must equal them once the old keys are renamed; the old keys themselves
stay in the files, null, so that `model.weights_file=...` on a command line still composes.
"""

from __future__ import annotations

import json
from pathlib import Path

import cnnlab.conf
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from cnnlab.config.validation import validate_config
from tests.conftest import compose_config

CONF = Path(cnnlab.conf.__file__).parent
BEFORE = json.loads((Path(__file__).parent / "model_nodes_before.json").read_text())
# old key -> (new key, old value -> new value)
RENAMED = {
    "classes": ("num_classes", lambda v: v),
    "encoder_weights": ("weights", lambda v: v),
    "weights_file": ("weights", lambda v: v),
    "pretrained": ("weights", lambda v: "default" if v else None),
}
DEPRECATED_KEYS = set(RENAMED)
MOVED_TARGETS = {
    "cnnlab.models.pretrained.timm_classifier": "cnnlab.models.timm_models.timm_classifier"
}
# Models that need downloaded weights: composed, not built. The model options are built by
# test_composition.py::test_model_option_instantiates.
NOT_BUILT = {"experiment=ants_bees_resnet18", "experiment=pets_unet"}
CASES = [f"experiment={p.stem}" for p in sorted((CONF / "experiment").glob("*.yaml"))] + [
    f"model={p.stem}" for p in sorted((CONF / "model").glob("*.yaml"))
]


def renamed(before: dict) -> dict:
    """A model node of before the one vocabulary in today's words."""
    node = {}
    for key, value in before.items():
        if key in RENAMED:
            new_key, convert = RENAMED[key]
            if value is not None or new_key not in node:
                node[new_key] = convert(value)
        elif key == "_target_":
            node[key] = MOVED_TARGETS.get(value, value)
        else:
            node[key] = value
    return node


def test_every_recipe_and_model_option_is_recorded() -> None:
    new = {case for case in CASES if case not in BEFORE}
    assert new == {"model=torchvision"}, "record the model node of a new recipe in the JSON file"


@pytest.mark.parametrize("case", CASES)
def test_composes_to_the_model_of_before_and_builds(case: str, tmp_path: Path) -> None:
    cfg = compose_config([case], tmp_path)
    validate_config(cfg)
    node = OmegaConf.to_container(cfg.model, resolve=True)
    assert all(node[key] is None for key in DEPRECATED_KEYS & set(node))
    today = {k: v for k, v in node.items() if k not in DEPRECATED_KEYS}
    if case in BEFORE:
        assert today == renamed(BEFORE[case])
    if case.startswith("experiment=") and case not in NOT_BUILT:
        model = instantiate(cfg.model)
        assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "mobilenet_v3_small", "efficientnet_b0"])
def test_named_torchvision_options_are_the_parameterised_file(name: str, tmp_path: Path) -> None:
    named = compose_config([f"model={name}"], tmp_path).model
    parameterised = compose_config(["model=torchvision", f"model.name={name}"], tmp_path).model
    assert named == parameterised
