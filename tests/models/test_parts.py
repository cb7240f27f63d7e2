"""Head and backbone blocks per model family: the one place freezing and transfer agree on."""

from __future__ import annotations

import pytest
import timm
import torchvision
from torch import nn

from cnnlab.models.parts import backbone_blocks, classifier_head, replace_head
from cnnlab.models.simple_cnn import SimpleCNN
from cnnlab.models.timm_models import timm_classifier
from cnnlab.models.torchvision_models import torchvision_classifier


@pytest.mark.parametrize(
    ("build", "head", "first_blocks", "last_block"),
    [
        (lambda: SimpleCNN(1, 4, 16), "head", ["features.0", "features.1"], "neck"),
        (lambda: torchvision_classifier("resnet18", 4), "fc", ["conv1", "bn1"], "layer4"),
        (
            lambda: torchvision_classifier("mobilenet_v3_small", 4),
            "classifier.3",
            ["features.0", "features.1"],
            "classifier.0",
        ),
        (
            lambda: torchvision_classifier("efficientnet_b0", 4),
            "classifier.1",
            ["features.0", "features.1"],
            "features.8",
        ),
        (lambda: timm.create_model("resnet18", num_classes=4), "fc", ["conv1", "bn1"], "layer4"),
    ],
    ids=["simple_cnn", "resnet18", "mobilenet_v3_small", "efficientnet_b0", "timm_resnet18"],
)
def test_head_and_blocks_cover_the_model(build, head, first_blocks, last_block) -> None:
    model = build()
    name, module = classifier_head(model)
    assert name == head and isinstance(module, nn.Linear) and module.out_features == 4
    blocks = backbone_blocks(model)
    names = [block_name for block_name, _ in blocks]
    assert names[: len(first_blocks)] == first_blocks and names[-1] == last_block
    # every parameter is in exactly one block or the head
    covered = [p for _, block in blocks for p in block.parameters()] + list(module.parameters())
    assert len({id(p) for p in covered}) == len(covered) == len(list(model.parameters()))


@pytest.mark.parametrize(
    ("build", "head"),
    [
        (lambda: SimpleCNN(1, 4, 16), "head"),
        (lambda: torchvision.models.resnet18(), "fc"),
        (lambda: torchvision.models.mobilenet_v3_small(), "classifier.3"),
        (lambda: timm.create_model("resnet18"), "fc"),
        (lambda: timm.create_model("mobilenetv3_small_050"), "classifier"),
    ],
    ids=[
        "simple_cnn",
        "torchvision_resnet18",
        "torchvision_mobilenet",
        "timm_resnet18",
        "timm_mobilenet",
    ],
)
def test_one_resolver_replaces_the_head_it_finds(build, head: str) -> None:
    """Head replacement, freezing and weight transfer all see the head found here."""
    model = build()
    name, old = classifier_head(model)
    blocks_before = [block_name for block_name, _ in backbone_blocks(model)]
    replace_head(model, 7)
    new_name, new = classifier_head(model)
    assert (name, new_name) == (head, head) and new is not old
    assert new.out_features == 7 and new.in_features == old.in_features
    assert [block_name for block_name, _ in backbone_blocks(model)] == blocks_before


@pytest.mark.parametrize("family", ["torchvision", "timm"])
def test_factories_size_the_head_the_resolver_finds(family: str) -> None:
    build = torchvision_classifier if family == "torchvision" else timm_classifier
    name, head = classifier_head(build("resnet18", num_classes=6))
    assert name == "fc" and head.out_features == 6
