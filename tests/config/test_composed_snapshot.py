"""Every recipe composes to the values it had before the optimizer/scheduler config groups.

`composed_configs.json` holds each recipe's composed config (resolved; `paths` and `hydra`
dropped, they name the machine and the moment). It was written from the code before the
optimizer/ and scheduler/ groups existed, by `python tests/config/test_composed_snapshot.py`;
rewrite it the same way only for an intended change, and say which in the commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).parents[2]))  # `tests.conftest` when run as a script
from tests.conftest import compose_config

RUN_DIR = Path("RUN_DIR")  # a placeholder: composing creates no directory
SNAPSHOT = Path(__file__).with_name("composed_configs.json")
CONF = Path(__file__).parents[2] / "conf"
RECIPES = [
    "",
    "task=finetune",
    "task=segmentation data=digit_canvas model=unet",
    "task=autoencoder data=digits model=autoencoder",
    *sorted(f"experiment={p.stem}" for p in (CONF / "experiment").glob("*.yaml")),
]


def composed(recipe: str) -> dict:
    """The recipe's config as plain resolved values, minus the machine-specific parts."""
    cfg = compose_config(recipe.split(), RUN_DIR)
    GlobalHydra.instance().clear()
    values = OmegaConf.to_container(cfg, resolve=True)
    del values["paths"]
    return values


@pytest.fixture(autouse=True)
def _default_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CNNLAB_DATA_DIR", raising=False)
    monkeypatch.delenv("CNNLAB_LOG_DIR", raising=False)


def test_snapshot_lists_every_recipe() -> None:
    assert sorted(json.loads(SNAPSHOT.read_text())) == sorted(RECIPES)


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_composes_as_before(recipe: str) -> None:
    assert composed(recipe) == json.loads(SNAPSHOT.read_text())[recipe]


if __name__ == "__main__":
    snapshot = {recipe: composed(recipe) for recipe in RECIPES}
    SNAPSHOT.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
