"""The old spellings (`weights_file`, `pretrained`, `encoder_weights`, `classes`) still work for
one release: each builds what it built before and warns once, naming the argument to use."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import timm
import torch
import torchvision
from hydra.utils import instantiate
from safetensors.torch import save_file

from cnnlab.models.smp_models import smp_model
from cnnlab.models.timm_models import timm_classifier
from cnnlab.models.torchvision_models import torchvision_classifier
from tests.conftest import compose_config


@pytest.fixture
def resnet18_file(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    source = torchvision.models.resnet18()
    torch.save(source.state_dict(), tmp_path / "resnet18.pth")
    return tmp_path / "resnet18.pth", source


def test_torchvision_weights_file_warns_and_loads(resnet18_file) -> None:
    path, source = resnet18_file
    with pytest.warns(FutureWarning, match=r"`weights_file` is deprecated.*use `weights`=PATH"):
        model = torchvision_classifier(
            "resnet18", 2, weights="IMAGENET1K_V1", weights_file=str(path)
        )
    assert torch.equal(model.layer1[0].conv1.weight, source.layer1[0].conv1.weight)


def test_timm_pretrained_and_weights_file_warn_and_work(tmp_path: Path) -> None:
    source = timm.create_model("resnet18")
    torch.save(source.state_dict(), tmp_path / "timm.pth")
    with pytest.warns(FutureWarning, match=r"`weights_file` is deprecated"):
        model = timm_classifier("resnet18", 3, weights_file=str(tmp_path / "timm.pth"))
    assert torch.equal(model.layer2[0].conv1.weight, source.layer2[0].conv1.weight)
    with pytest.warns(FutureWarning, match=r"`pretrained` is deprecated.*`weights`=default"):
        timm_classifier("resnet18", 3, pretrained=False)


def test_smp_encoder_weights_weights_file_and_classes_warn_and_work(tmp_path: Path) -> None:
    source = smp_model("Unet", "resnet18")
    save_file(source.encoder.state_dict(), tmp_path / "encoder.safetensors")
    with pytest.warns(FutureWarning) as warned:
        model = smp_model(
            "Unet",
            "resnet18",
            encoder_weights="imagenet",
            weights_file=str(tmp_path / "encoder.safetensors"),
            classes=4,
        )
    named = {str(w.message).split("`")[1] for w in warned}
    assert named == {"encoder_weights", "weights_file", "classes"}
    assert torch.equal(model.encoder.layer1[0].conv1.weight, source.encoder.layer1[0].conv1.weight)
    assert model.eval()(torch.rand(1, 3, 32, 32)).shape == (1, 4, 32, 32)


def test_the_new_keys_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        torchvision_classifier("resnet18", 2, weights=None)
        timm_classifier("resnet18", 2, weights=None)
        smp_model("Unet", "resnet18", weights=None, num_classes=2)


@pytest.mark.parametrize(
    ("overrides", "old_key"),
    [
        (["model=resnet18", "model.weights=null", "model.weights_file={file}"], "weights_file"),
        (["model=timm", "model.pretrained=false"], "pretrained"),
        (["model=smp_unet", "model.encoder_weights=null", "model.classes=3"], "classes"),
    ],
)
def test_old_keys_on_the_command_line_still_compose_and_build(
    overrides: list[str], old_key: str, resnet18_file, tmp_path: Path
) -> None:
    path, _ = resnet18_file
    cfg = compose_config([o.format(file=path) for o in overrides], tmp_path)
    with pytest.warns(FutureWarning, match=f"`{old_key}` is deprecated"):
        model = instantiate(cfg.model)
    if old_key == "classes":
        assert model.eval()(torch.rand(1, 1, 32, 32)).shape[1] == 3
