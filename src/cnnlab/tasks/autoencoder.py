"""Reconstruction (the image is its own label): MSE, PSNR and SSIM per stage; KL, ELBO for a VAE."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import MeanSquaredError
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from cnnlab.errors import ConfigError
from cnnlab.models.autoencoder import AutoencoderOutput
from cnnlab.tasks.base import LOSS, BaseTask

# What `step` returns beside the loss, for the callbacks that draw reconstructions and latents
RECONSTRUCTION = "reconstruction"
LATENT = "latent"

NORMALIZED_DATA_HINT = (
    "turn the data's normalisation off (normalize false; image folders: mean [0, 0, 0] and "
    "std [1, 1, 1]), as the autoencoder recipes do"
)


class AutoencoderTask(BaseTask):
    """Train an autoencoder (`ConvAutoencoder` / `VariationalAutoencoder`) on images in [0, 1].

    The loss is the reconstruction loss (`mse` or `bce`) per pixel; a VAE adds
    `beta * KL / pixels`, i.e. the per-image objective `sum_pixels(recon) + beta * KL` scaled to
    the per-pixel loss. During the first `kl_warmup_epochs` the KL weight ramps up linearly from 0,
    so the decoder learns to use the latent before KL pulls it towards N(0, I); validation and
    test always use the full `beta`. Labels in the batch are ignored (callbacks use them for the
    projector colouring).

    A plain autoencoder's generation prior is refitted at the end of every validation epoch
    of a fit to the latents of up to `prior_fit_samples` validation images, which the
    validation pass computes anyway with the weights that the epoch's checkpoints store; so the
    prior in each checkpoint matches its weights, at no extra pass over the data. SSIM is
    reported for validation and test only: on every training batch it cost a fifth of an epoch.
    """

    def __init__(
        self,
        model: nn.Module,
        loss: Literal["mse", "bce"] = "mse",
        beta: float = 1.0,
        kl_warmup_epochs: int = 0,
        prior_fit_samples: int = 10000,
        **base: Any,
    ) -> None:
        super().__init__(model, **base)
        if beta < 0 or kl_warmup_epochs < 0 or prior_fit_samples < 2:
            raise ConfigError(
                f"`beta`={beta} and `kl_warmup_epochs`={kl_warmup_epochs} must be >= 0 and "
                f"`prior_fit_samples`={prior_fit_samples} >= 2"
            )
        self.loss = loss
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs
        self.prior_fit_samples = prior_fit_samples
        self.metrics = self.stage_metrics(
            {
                "mse": MeanSquaredError(),
                "psnr": PeakSignalNoiseRatio(data_range=1.0),
                "ssim": StructuralSimilarityIndexMeasure(data_range=1.0),
            },
            evaluation_only=("ssim",),
        )
        self.prior_latents: list[Tensor] | None = None  # collected while a prior fit is due
        self.add_epoch_means("kl", "elbo", "beta")  # a VAE's, logged where a batch fed them

    def reconstruction_loss(self, reconstruction: Tensor, images: Tensor) -> Tensor:
        """Per-image reconstruction loss summed over pixels, shape (N,)."""
        if self.loss == "bce":
            # binary_cross_entropy refuses autocast: compute it in float32
            with torch.autocast(images.device.type, enabled=False):
                per_pixel = F.binary_cross_entropy(
                    reconstruction.float(), images.float(), reduction="none"
                )
        else:
            per_pixel = F.mse_loss(reconstruction, images, reduction="none")
        return per_pixel.flatten(1).sum(dim=1)

    def kl_weight(self, stage: str) -> float:
        """beta, ramped linearly from 0 over the first kl_warmup_epochs of training."""
        if stage != "train" or self.kl_warmup_epochs == 0:
            return self.beta
        warmup_steps = self.kl_warmup_epochs * max(1, int(self.trainer.num_training_batches))
        return self.beta * min(1.0, (self.global_step + 1) / warmup_steps)

    def step(self, batch: tuple[Tensor, Tensor], stage: str) -> dict[str, Tensor]:
        images = batch[0]
        out: AutoencoderOutput = self.model(images)
        pixels = images[0].numel()
        reconstruction = self.reconstruction_loss(out.reconstruction, images)
        loss = reconstruction.mean() / pixels
        if out.kl is not None:
            weight = self.kl_weight(stage)
            loss = loss + weight * out.kl.mean() / pixels
            self.add_to_mean(stage, "kl", out.kl.mean(), len(images))
            self.add_to_mean(stage, "elbo", -(reconstruction + out.kl).mean(), len(images))
            if stage == "train":
                self.add_to_mean(stage, "beta", torch.full_like(loss, weight), len(images))
        self.log_loss(stage, loss, len(images))
        self.update_metrics(stage, out.reconstruction.detach().clamp(0, 1), images)
        if stage == "val" and self.prior_latents is not None:
            kept = sum(len(latents) for latents in self.prior_latents)
            self.prior_latents.append(out.latent.detach()[: self.prior_fit_samples - kept])
        return {
            LOSS: loss,
            RECONSTRUCTION: out.reconstruction.detach(),
            LATENT: out.latent.detach(),
        }

    def on_validation_epoch_start(self) -> None:
        fitting = self.trainer.state.fn == "fit" and not self.trainer.sanity_checking
        fits_prior = fitting and getattr(self.model, "fits_prior", False)
        self.prior_latents = [] if fits_prior else None

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        latents, self.prior_latents = self.prior_latents, None
        if latents and sum(len(batch) for batch in latents) >= 2:  # a covariance needs two
            self.model.fit_prior(torch.cat(latents))

    def check_batch(self, batch: tuple[Tensor, Tensor]) -> None:
        images = batch[0]
        low, high = images.min().item(), images.max().item()
        if low < -1e-4 or high > 1 + 1e-4:
            raise ConfigError(
                f"the autoencoder compares pixels in [0, 1] (sigmoid decoder, PSNR with "
                f"data_range=1) but this data's images span [{low:.2f}, {high:.2f}]: "
                + NORMALIZED_DATA_HINT
            )
        out = self.sample_forward(
            images,
            "Build the encoder for the data's image channels and size.",
        )
        if not isinstance(out, AutoencoderOutput):
            raise ConfigError(
                f"{type(self.model).__name__} is not an autoencoder (it does not return a "
                "reconstruction): train an Autoencoder or a VAE (cnnlab.models.autoencoder)"
            )
        if out.reconstruction.shape != images[:2].shape:
            raise ConfigError(
                f"the model reconstructs {tuple(out.reconstruction.shape[1:])} images from "
                f"{tuple(images.shape[1:])} inputs: build its decoder for the data's image "
                "channels and size"
            )


def first_images(loader: Iterable[Any], count: int) -> Tensor:
    """The images of a loader's first batches, `count` of them (fewer if it has fewer)."""
    batches, total = [], 0
    for images, *_ in loader:
        batches.append(images)
        total += len(images)
        if total >= count:
            break
    return torch.cat(batches)[:count]
