"""Data-module arguments: keyword-only, each declared by one class, and still validated."""

from __future__ import annotations

import inspect
from pathlib import Path

import cnnlab.conf
import pytest
from hydra.utils import get_class

from cnnlab.config.validation import validate_config
from cnnlab.data.base import ImageDataModule
from cnnlab.errors import ConfigError
from tests.conftest import compose_config

DATA = sorted(p.stem for p in (Path(cnnlab.conf.__file__).parent / "data").glob("*.yaml"))
NEEDS = {"image_folder": ["data.root=x", "data.num_classes=2"]}
NEEDS["segmentation_folder"] = NEEDS["image_folder"]
# one argument each data config sets that its own class declares (not the shared base)
OWN_ARGUMENT = {
    "cifar10": "download",
    "cluttered_digits": "clutter",
    "digit_canvas": "max_digits",
    "digits": "normalize",
    "fashion_mnist": "download",
    "image_folder": "persistent_workers",
    "mnist": "download",
    "oxford_pets": "download",
    "segmentation_folder": "palette",
}


def compose(option: str, overrides: list[str], tmp_path: Path):
    return compose_config([f"data={option}", *NEEDS.get(option, []), *overrides], tmp_path)


@pytest.mark.parametrize("option", DATA)
def test_every_argument_is_keyword_only_and_declared_once(option: str, tmp_path: Path) -> None:
    cls = get_class(compose(option, [], tmp_path).data._target_)
    declared: list[str] = []
    for klass in cls.__mro__[: cls.__mro__.index(ImageDataModule) + 1]:
        if "__init__" in klass.__dict__:
            parameters = list(inspect.signature(klass.__init__).parameters.values())[1:]
            kinds = {p.kind for p in parameters} - {inspect.Parameter.VAR_KEYWORD}
            assert kinds == {inspect.Parameter.KEYWORD_ONLY}, klass
            declared += [p.name for p in parameters if p.kind is p.KEYWORD_ONLY]
    assert len(declared) == len(set(declared)), f"{option}: {sorted(declared)}"


@pytest.mark.parametrize("option", DATA)
def test_unknown_keys_and_wrong_types_are_still_caught(option: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data\.bogus is not an argument of"):
        validate_config(compose(option, ["+data.bogus=1"], tmp_path))
    with pytest.raises(ConfigError, match=r"data\.batch_size='many' \(str\) has the wrong type"):
        validate_config(compose(option, ["data.batch_size=many"], tmp_path))
    own = OWN_ARGUMENT[option]
    with pytest.raises(ConfigError, match=rf"data\.{own}=\[1\] \(list\) has the wrong type"):
        validate_config(compose(option, [f"data.{own}=[1]"], tmp_path))
