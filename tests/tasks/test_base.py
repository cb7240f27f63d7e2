"""The sample-batch check runs the model where its weights are, whatever device the batch is on."""

from __future__ import annotations

import functools

import torch
from torch import Tensor, nn

from cnnlab.tasks.classification import ClassificationTask


class DeviceRecorder(nn.Module):
    """A linear classifier that remembers the device of every input it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.seen: list[torch.device] = []

    def forward(self, images: Tensor) -> Tensor:
        self.seen.append(images.device)
        return self.linear(images.flatten(1))


def test_sample_batch_goes_to_the_models_device() -> None:
    # On a GPU machine the batch of a data module that already served a GPU trainer is on the
    # GPU while a new model is on the CPU; here the "meta" device plays the model's other device.
    model = DeviceRecorder().to("meta")
    task = ClassificationTask(
        model=model, num_classes=3, optimizer=functools.partial(torch.optim.SGD, lr=0.1)
    )
    task.check_batch((torch.rand(4, 1, 2, 2), torch.zeros(4, dtype=torch.long)))
    assert model.seen == [torch.device("meta")]
    assert model.training  # the check leaves the model in training mode
