"""Head and backbone blocks per model family: the one place freezing and transfer agree on."""

from __future__ import annotations

import pytest
import timm
from torch import nn

from cnnlab.models.parts import backbone_blocks, classifier_head
from cnnlab.models.simple_cnn import SimpleCNN
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
