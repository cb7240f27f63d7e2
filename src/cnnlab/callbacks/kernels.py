"""The first convolution's kernels as an image: each kernel is a learned feature detector."""

from __future__ import annotations

import pytorch_lightning as pl
from torch import Tensor, nn
from torchvision.utils import make_grid

from cnnlab.callbacks.tensorboard import tensorboard_writer


def kernel_image(weight: Tensor, scale: int = 8) -> Tensor:
    """(out, in, k, k) weights -> one (3, H, W) grid image, each kernel stretched to [0, 1]."""
    kernels = weight.detach().float().cpu()
    if kernels.shape[1] not in (1, 3):
        kernels = kernels[:, :1]
    low = kernels.amin(dim=(1, 2, 3), keepdim=True)
    high = kernels.amax(dim=(1, 2, 3), keepdim=True)
    kernels = (kernels - low) / (high - low).clamp_min(1e-8)
    kernels = nn.functional.interpolate(kernels, scale_factor=scale, mode="nearest")
    return make_grid(kernels, nrow=8, padding=2, pad_value=1.0)


class FirstLayerKernels(pl.Callback):
    """Logs the first Conv2d's kernels at the start and end of training, to compare them."""

    def _log(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        conv = next((m for m in pl_module.modules() if isinstance(m, nn.Conv2d)), None)
        if writer is not None and conv is not None:
            writer.add_image(
                "model/first_conv_kernels", kernel_image(conv.weight), trainer.global_step
            )

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._log(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._log(trainer, pl_module)
