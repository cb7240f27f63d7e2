"""TensorBoard views of an autoencoder: reconstructions, generated samples and the latent space."""

from __future__ import annotations

import math
from typing import Any

import matplotlib
import pytorch_lightning as pl
import torch
from matplotlib.figure import Figure
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter
from torchvision.utils import make_grid

from cnnlab.callbacks.tensorboard import tensorboard_writer
from cnnlab.callbacks.validation_sample import ValidationSampleImage, picture_due
from cnnlab.tasks.autoencoder import LATENT, RECONSTRUCTION


def pairs_grid(images: Tensor, reconstructions: Tensor, per_row: int = 8) -> Tensor:
    """Rows of inputs, each followed by a row of their reconstructions: one (3, H, W) image."""
    images, reconstructions = images.detach().cpu(), reconstructions.detach().cpu().clamp(0, 1)
    rows = [
        part
        for start in range(0, len(images), per_row)
        for part in (images[start : start + per_row], reconstructions[start : start + per_row])
    ]
    padded = [torch.cat([row, torch.ones(per_row - len(row), *row.shape[1:])]) for row in rows]
    return make_grid(torch.cat(padded), nrow=per_row, padding=2, pad_value=1.0)


def sample_grid(images: Tensor) -> Tensor:
    """A square-ish grid of (N, C, H, W) images in [0, 1]."""
    return make_grid(
        images.detach().cpu().clamp(0, 1),
        nrow=math.ceil(math.sqrt(len(images))),
        padding=2,
        pad_value=1.0,
    )


class ReconstructionGrid(ValidationSampleImage):
    """Each validation epoch: the first `num_images` val images above their reconstructions."""

    def __init__(self, num_images: int = 16, every_n_epochs: int | None = None) -> None:
        super().__init__(num_images, every_n_epochs)

    def keep(self, batch: Any, outputs: Any) -> tuple[Tensor, ...]:
        return batch[0], outputs[RECONSTRUCTION]

    def draw(self, trainer: pl.Trainer, writer: SummaryWriter, sample: tuple[Tensor, ...]) -> None:
        writer.add_image("val/reconstructions", pairs_grid(*sample), trainer.global_step)


class GeneratedSamples(pl.Callback):
    """When a picture is due (`picture_due`): images decoded from the same `num_images` random
    latent vectors. The noise is fixed by `seed`, so the grids of successive epochs show the
    decoder changing, not the noise. Drawn at validation end, after the task has refitted its
    prior to the epoch's latents.
    """

    def __init__(self, num_images: int = 64, seed: int = 0, every_n_epochs: int | None = None):
        self.num_images = num_images
        self.seed = seed
        self.every_n_epochs = every_n_epochs

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is None or not picture_due(trainer, self.every_n_epochs):
            return
        generator = torch.Generator().manual_seed(self.seed)
        samples = pl_module.model.generate(self.num_images, generator)
        writer.add_image("val/samples", sample_grid(samples), trainer.global_step)


class LatentSpace(pl.Callback):
    """At test end: the test latents in TensorBoard's embedding projector, and 2-D plots.

    The projector gets up to `max_points` latent vectors with their labels (class names) as
    metadata and the input images as sprite thumbnails. A model with latent_dim == 2 also gets a
    scatter plot of the latents coloured by label and a `manifold_size`^2 grid of images decoded
    from evenly spaced quantiles of the generation prior.
    """

    def __init__(self, max_points: int = 2000, manifold_size: int = 15) -> None:
        self.max_points = max_points
        self.manifold_size = manifold_size
        self.parts: dict[str, list[Tensor]] = {}

    def on_test_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.parts = {"latents": [], "labels": [], "images": []}

    def on_test_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if sum(len(x) for x in self.parts["latents"]) >= self.max_points:
            return
        images, labels = batch[0], batch[1] if len(batch) > 1 else None
        self.parts["latents"].append(outputs[LATENT].cpu())
        self.parts["images"].append(images.detach().cpu().clamp(0, 1))
        if labels is not None and labels.dim() == 1:  # class labels, not e.g. masks
            self.parts["labels"].append(labels.cpu())

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is None or not self.parts.get("latents"):
            return
        latents, images, labels = (
            torch.cat(self.parts[k])[: self.max_points] if self.parts[k] else None
            for k in ("latents", "images", "labels")
        )
        names = getattr(trainer.datamodule, "class_names", None)
        metadata = None
        if labels is not None:
            metadata = [names[i] if names else str(i) for i in labels.tolist()]
        writer.add_embedding(
            latents,
            metadata=metadata,
            label_img=images,
            global_step=trainer.global_step,
            tag="latent",
        )
        if latents.shape[1] == 2:
            step = trainer.global_step
            writer.add_figure("test/latent_scatter", latent_scatter(latents, labels, names), step)
            manifold = decoded_manifold(pl_module.model, self.manifold_size)
            writer.add_image("test/latent_manifold", manifold, step)
        self.parts = {}


def latent_scatter(latents: Tensor, labels: Tensor | None, names: list[str] | None) -> Figure:
    """The 2-D latent vectors, coloured by label, with a legend of class names."""
    figure = Figure(figsize=(6, 5))
    axis = figure.subplots()
    if labels is None:
        axis.scatter(latents[:, 0], latents[:, 1], s=6)
    else:
        for label in labels.unique().tolist():
            chosen = latents[labels == label]
            name = names[label] if names else str(label)
            color = matplotlib.colormaps["tab10"](label % 10)
            axis.scatter(chosen[:, 0], chosen[:, 1], s=6, label=name, color=color)
        axis.legend(markerscale=2, fontsize=7, loc="best")
    axis.set_xlabel("z[0]")
    axis.set_ylabel("z[1]")
    figure.tight_layout()
    return figure


@torch.no_grad()
def decoded_manifold(model: Any, size: int) -> Tensor:
    """Decode a size x size grid of prior quantiles (5% .. 95% per axis) into one image."""
    quantiles = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.05, 0.95, size))
    grid = torch.stack(torch.meshgrid(quantiles, quantiles.flip(0), indexing="xy"), dim=-1)
    images = model.decode(model.prior_latents(grid.reshape(-1, 2)))
    return make_grid(images.cpu().clamp(0, 1), nrow=size, padding=1, pad_value=1.0)
