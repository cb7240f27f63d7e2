"""`weights` in every family: local files load offline, cached weights load, missing ones fail fast.

torchvision, timm and smp take the same argument: null, a name of known weights, or the path of
a saved state dict. The old spellings (`weights_file`, `pretrained`, `encoder_weights`,
`classes`) still work for one release, each with a FutureWarning naming its replacement.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import timm
import torch
import torchvision
from safetensors.torch import save_file
from torch import nn

from cnnlab.errors import CheckpointError, ConfigError
from cnnlab.models.smp_models import smp_model
from cnnlab.models.timm_models import timm_classifier
from cnnlab.models.torchvision_models import torchvision_classifier
from cnnlab.models.weights import local_file, reachable

FAST_S = 5.0


@pytest.fixture
def empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty TORCH_HOME and Hugging Face caches on a machine that declares itself offline."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


# family -> (the network whose state dict is saved: a whole classifier, or smp's encoder;
# build from `weights`; a tensor that must come from the file)
FAMILIES: dict[str, tuple[Callable, Callable, Callable]] = {
    "torchvision": (
        lambda: torchvision.models.resnet18(),
        lambda weights, **kw: torchvision_classifier("resnet18", 3, weights=weights, **kw),
        lambda m: m.layer4[1].conv2.weight,
    ),
    "timm": (
        lambda: timm.create_model("resnet18"),
        lambda weights, **kw: timm_classifier("resnet18", 3, weights=weights, **kw),
        lambda m: m.layer4[1].conv2.weight,
    ),
    "smp": (
        lambda: smp_model("Unet", "resnet18").encoder,
        lambda weights, **kw: smp_model("Unet", "resnet18", weights=weights, num_classes=3, **kw),
        lambda m: getattr(m, "encoder", m).layer4[1].conv2.weight,
    ),
}


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_weights_path_loads_a_local_state_dict_offline(
    family: str, suffix: str, empty_caches: Path
) -> None:
    source_of, build, tensor = FAMILIES[family]
    source = source_of()
    path = empty_caches / f"{family}{suffix}"
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    save_file(state, path) if suffix == ".safetensors" else torch.save(state, path)
    model = build(str(path))
    assert torch.equal(tensor(model), tensor(source))


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_missing_weights_file_is_the_same_checkpoint_error_in_every_family(
    family: str, tmp_path: Path
) -> None:
    _, build, _ = FAMILIES[family]
    with pytest.raises(CheckpointError) as error:
        build(str(tmp_path / "nowhere.pth"))
    assert str(error.value.at("model")).startswith(f"model.weights={tmp_path}/nowhere.pth is not")


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_weights_file_of_another_architecture_is_a_checkpoint_error(
    family: str, tmp_path: Path
) -> None:
    _, build, _ = FAMILIES[family]
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), tmp_path / "m.pth")
    with pytest.raises(CheckpointError, match=r"weights=.*m\.pth does not hold the weights of a"):
        build(str(tmp_path / "m.pth"))


def test_torchvision_weights_file_keeps_batch_norm_statistics_and_sizes_the_head(
    tmp_path: Path,
) -> None:
    source = torchvision.models.resnet18()
    torch.nn.init.uniform_(source.bn1.running_var)
    torch.save(source.state_dict(), tmp_path / "resnet18.pth")
    model = torchvision_classifier("resnet18", 2, weights=str(tmp_path / "resnet18.pth"))
    assert torch.equal(model.bn1.running_var, source.bn1.running_var)
    assert model.fc.out_features == 2


def test_timm_weights_file_with_new_head_and_grey_input(tmp_path: Path) -> None:
    source = timm.create_model("resnet18")
    torch.save(source.state_dict(), tmp_path / "timm_resnet18.pth")
    model = timm_classifier(
        "resnet18", 3, in_channels=1, weights=str(tmp_path / "timm_resnet18.pth")
    )
    assert torch.equal(model.layer1[0].conv1.weight, source.layer1[0].conv1.weight)
    assert model.conv1.in_channels == 1 and model.get_classifier().out_features == 3


def test_smp_encoder_weights_file_is_adapted_to_grey_input(tmp_path: Path) -> None:
    source = smp_model("Unet", "resnet18")
    save_file(source.encoder.state_dict(), tmp_path / "model.safetensors")
    model = smp_model(
        "Unet", "resnet18", in_channels=1, weights=str(tmp_path / "model.safetensors")
    )
    # the first conv's RGB filters are summed into one grey channel, as smp does for hub weights
    grey = source.encoder.conv1.weight.sum(dim=1, keepdim=True)
    assert torch.allclose(model.encoder.conv1.weight, grey)
    assert model.eval()(torch.randn(1, 1, 64, 64)).shape == (1, 1, 64, 64)


def write_timm_hub_cache(root: Path) -> nn.Module:
    """resnet18's default weights (a1_in1k) in the layout of the Hugging Face hub cache."""
    source = timm.create_model("resnet18")
    snapshot = root / "hf" / "hub" / "models--timm--resnet18.a1_in1k"
    (snapshot / "snapshots" / "abc123").mkdir(parents=True)
    (snapshot / "refs").mkdir()
    (snapshot / "refs" / "main").write_text("abc123")
    save_file(source.state_dict(), snapshot / "snapshots" / "abc123" / "model.safetensors")
    return source


@pytest.mark.parametrize("weights", ["default", "imagenet", "a1_in1k"])
def test_timm_weights_by_name_load_from_the_hub_cache_offline(
    empty_caches: Path, weights: str
) -> None:
    source = write_timm_hub_cache(empty_caches)
    start = time.perf_counter()
    model = timm_classifier("resnet18", 5, weights=weights)
    assert time.perf_counter() - start < FAST_S
    assert torch.equal(model.layer3[1].conv2.weight, source.layer3[1].conv2.weight)
    assert model.get_classifier().out_features == 5


@pytest.mark.parametrize(
    ("build", "cache_named"),
    [
        (lambda: torchvision_classifier("resnet18", 2, weights="IMAGENET1K_V1"), "torch/hub"),
        (lambda: torchvision_classifier("resnet18", 2, weights="default"), "torch/hub"),
        (lambda: timm_classifier("resnet18", 2, weights="default"), "hf/hub"),
        (lambda: timm_classifier("resnet18", 2, weights="tv_in1k"), "hf/hub"),
        (lambda: smp_model("Unet", "resnet18", weights="imagenet"), "hf/hub"),
        (lambda: smp_model("Unet", "tu-resnet18", weights="imagenet"), "hf/hub"),
    ],
    ids=["torchvision", "torchvision_default", "timm", "timm_tag", "smp", "smp_timm_encoder"],
)
def test_missing_pretrained_weights_offline_fail_fast(
    empty_caches: Path, build, cache_named: str
) -> None:
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as error:
        build()
    assert time.perf_counter() - start < FAST_S
    message = str(error.value.at("model"))
    assert f"{empty_caches}/{cache_named}" in message and "HF_HUB_OFFLINE" in message
    # every family names the same two ways out, by the same key
    assert "set model.weights to the path of a saved state dict" in message
    assert message.endswith("train from random weights with model.weights=null")


def test_an_unreachable_host_is_detected_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HF_HUB_OFFLINE", "CNNLAB_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    start = time.perf_counter()
    assert not reachable("weights.invalid")  # .invalid never resolves (RFC 2606)
    assert time.perf_counter() - start < FAST_S


@pytest.mark.parametrize(
    ("build", "options"),
    [
        (lambda: torchvision_classifier("resnet18", 2, weights="IMAGENET_V9"), "IMAGENET1K_V1"),
        (lambda: timm_classifier("resnet18", 2, weights="in99k"), "a1_in1k"),
        (lambda: smp_model("Unet", "resnet18", weights="instagram"), "imagenet"),
    ],
    ids=["torchvision", "timm", "smp"],
)
def test_unknown_weight_names_are_config_errors_listing_the_names(build, options: str) -> None:
    with pytest.raises(ConfigError) as error:
        build()
    message = str(error.value.at("model"))
    assert "model.weights=" in message and options in message


@pytest.mark.parametrize(
    ("weights", "is_file"),
    [
        (None, False),
        ("default", False),
        ("IMAGENET1K_V1", False),
        ("resnet18.pth", True),
        ("encoder.safetensors", True),
        ("weights/resnet18", True),
        ("~/w.bin", True),
    ],
)
def test_a_value_that_looks_like_a_path_is_a_file(weights: str | None, is_file: bool) -> None:
    assert (local_file(weights) is not None) == is_file


def test_an_existing_file_is_a_file_whatever_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "imagenet").write_bytes(b"")
    assert local_file("imagenet") == Path("imagenet")
