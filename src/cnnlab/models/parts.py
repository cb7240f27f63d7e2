"""Which part of a classifier is the head and which blocks make up its backbone, for every family.

Transfer learning needs these two answers (replace and train the head; freeze, then thaw, the
backbone block by block), and they live here only, so head replacement (`replace_head`, used by
the model factories), freezing (`callbacks.finetuning`) and weight transfer (`models.transfer`)
agree on them:

- head: what the model declares, timm's convention (`get_classifier()` / `reset_classifier()`:
  timm models, cnnlab's SimpleCNN `head`), otherwise the last fully connected layer (torchvision
  ResNet `fc`, MobileNet/EfficientNet `classifier[-1]`).
- backbone blocks: the model's children that hold parameters, in order, without the head; the
  stage containers `features` (torchvision, SimpleCNN), `blocks`, `stages`, `layers` (timm) and
  any container holding the head are opened up, so each stage is one block.
"""

from __future__ import annotations

from torch import nn

from cnnlab.errors import ConfigError

STAGE_CONTAINERS = ("features", "blocks", "stages", "layers")


def classifier_head(model: nn.Module) -> tuple[str, nn.Module]:
    """(qualified name, module) of the layer that maps features to class scores."""
    named = {id(module): name for name, module in model.named_modules()}
    if hasattr(model, "get_classifier"):
        head = model.get_classifier()
        if isinstance(head, nn.Module) and id(head) in named:
            return named[id(head)], head
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ConfigError(
            f"{type(model).__name__} has no fully connected layer or get_classifier(), so cnnlab "
            "cannot tell its head from its backbone"
        )
    return linears[-1]


def replace_head(model: nn.Module, num_classes: int) -> None:
    """A new, random head with `num_classes` outputs in place of the one `classifier_head` finds."""
    if hasattr(model, "reset_classifier"):
        model.reset_classifier(num_classes)
        return
    name, head = classifier_head(model)
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent), attr, nn.Linear(head.in_features, num_classes))


def backbone_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The backbone as an ordered list of (name, block), input side first, head excluded."""
    head_name, _ = classifier_head(model)
    blocks: list[tuple[str, nn.Module]] = []

    def visit(module: nn.Module, prefix: str) -> None:
        for name, child in module.named_children():
            full = f"{prefix}{name}"
            if full == head_name or next(child.parameters(), None) is None:
                continue
            if name in STAGE_CONTAINERS or head_name.startswith(f"{full}."):
                visit(child, f"{full}.")
            else:
                blocks.append((full, child))

    visit(model, "")
    return blocks
