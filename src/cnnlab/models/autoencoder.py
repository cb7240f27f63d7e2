"""Convolutional autoencoders: an encoder squeezes an image into a latent vector, a decoder
rebuilds the image from it.

`ConvEncoder.features` is built from the same conv blocks as `SimpleCNN.features`, so an
autoencoder's trained encoder can seed a classifier (`model.encoder.features.*` -> `features.*`).
Both autoencoders can also generate: decode random latent vectors drawn from `sample_latents`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import ClassVar, Literal, NamedTuple

import torch
from torch import Tensor, nn

from cnnlab.errors import ConfigError
from cnnlab.models.simple_cnn import conv_block

Pool = Literal["max", "avg", "none"]


class AutoencoderOutput(NamedTuple):
    """What an autoencoder's forward pass returns to its task.

    `latent` is the vector the decoder saw (a sample in a training VAE, the mean otherwise);
    `kl` is the per-image KL divergence from the N(0, I) prior (VAE only, else None).
    """

    reconstruction: Tensor
    latent: Tensor
    kl: Tensor | None = None


def feature_sizes(input_size: int, blocks: int, pool: Pool) -> list[int]:
    """Spatial size before each conv block and after the last: 28 -> [28, 14, 7] for two blocks."""
    sizes = [input_size]
    for _ in range(blocks):
        sizes.append(sizes[-1] if pool == "none" else sizes[-1] // 2)
    return sizes


def upsample_block(
    in_channels: int, out_channels: int, size: int, kernel_size: int, batch_norm: bool
) -> nn.Sequential:
    """Nearest upsampling to `size`, then a conv block without pooling: conv_block mirrored."""
    conv = conv_block(in_channels, out_channels, kernel_size, batch_norm, "none")
    return nn.Sequential(nn.Upsample(size=size), conv)


class ConvEncoder(nn.Module):
    """Conv blocks (`features`, as in SimpleCNN) -> flatten -> linear `latent` projection."""

    def __init__(
        self,
        in_channels: int,
        input_size: int,
        latent_dim: int,
        channels: Sequence[int] = (32, 64),
        kernel_size: int = 3,
        batch_norm: bool = True,
        pool: Pool = "max",
    ) -> None:
        super().__init__()
        if feature_sizes(input_size, len(channels), pool)[-1] < 1:
            raise ConfigError(
                f"{len(channels)} pooling conv blocks shrink a {input_size}px image to nothing: "
                "use fewer `channels` or a larger `input_size`"
            )
        widths = [in_channels, *channels]
        self.latent_dim = latent_dim
        self.features = nn.Sequential(
            *(conv_block(a, b, kernel_size, batch_norm, pool) for a, b in pairwise(widths))
        )
        with torch.no_grad():
            flat = self.features(torch.zeros(1, in_channels, input_size, input_size)).numel()
        self.latent = nn.Linear(flat, latent_dim)

    def embed(self, x: Tensor) -> Tensor:
        """The flattened conv features, before the latent projection (the VAE's heads share it)."""
        return self.features(x).flatten(1)

    def forward(self, x: Tensor) -> Tensor:
        return self.latent(self.embed(x))


class ConvDecoder(nn.Module):
    """The encoder mirrored: linear -> reshape -> (upsample -> conv block) per block -> output conv.

    Upsampling goes back through the encoder's exact spatial sizes, so odd sizes (28 -> 14 -> 7
    -> 3) come back to the input size. `output="sigmoid"` keeps pixels in [0, 1].
    """

    def __init__(
        self,
        latent_dim: int,
        out_channels: int,
        output_size: int,
        channels: Sequence[int] = (32, 64),
        kernel_size: int = 3,
        batch_norm: bool = True,
        pool: Pool = "max",
        output: Literal["sigmoid", "linear"] = "sigmoid",
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        sizes = feature_sizes(output_size, len(channels), pool)
        widths = [*reversed(channels), channels[0]]
        self.start_shape = (widths[0], sizes[-1], sizes[-1])
        self.project = nn.Sequential(
            nn.Linear(latent_dim, widths[0] * sizes[-1] ** 2), nn.ReLU(inplace=True)
        )
        self.blocks = nn.Sequential(
            *(
                upsample_block(a, b, size, kernel_size, batch_norm)
                for (a, b), size in zip(pairwise(widths), reversed(sizes[:-1]), strict=True)
            )
        )
        self.output = nn.Conv2d(widths[-1], out_channels, kernel_size, padding=kernel_size // 2)
        self.activation = nn.Sigmoid() if output == "sigmoid" else nn.Identity()

    def forward(self, z: Tensor) -> Tensor:
        x = self.project(z).view(-1, *self.start_shape)
        return self.activation(self.output(self.blocks(x)))


class ConvAutoencoder(nn.Module):
    """encoder -> latent vector -> decoder; generates from a Gaussian fitted to training latents.

    A plain autoencoder's latent space has no prescribed distribution, so random vectors must
    come from where the training images landed: `fit_prior` stores their mean and covariance
    (Cholesky factor) as buffers, which travel with every checkpoint.
    """

    fits_prior: ClassVar[bool] = True

    def __init__(self, encoder: ConvEncoder, decoder: ConvDecoder) -> None:
        super().__init__()
        if encoder.latent_dim != decoder.latent_dim:
            raise ConfigError(
                f"`encoder.latent_dim`={encoder.latent_dim} differs from "
                f"`decoder.latent_dim`={decoder.latent_dim}: give the decoder the encoder's value"
            )
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = encoder.latent_dim
        self.register_buffer("prior_mean", torch.zeros(self.latent_dim))
        self.register_buffer("prior_scale_tril", torch.eye(self.latent_dim))

    def encode(self, x: Tensor) -> Tensor:
        """The deterministic latent code of each image (the posterior mean for a VAE)."""
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)

    def forward(self, x: Tensor) -> AutoencoderOutput:
        z = self.encode(x)
        return AutoencoderOutput(self.decode(z), z)

    @torch.no_grad()
    def fit_prior(self, latents: Tensor) -> None:
        """Fit N(mean, cov) to (N, latent_dim) latents; a small ridge keeps cov definite."""
        latents = latents.double()  # float32 covariances of many points can lose definiteness
        cov = torch.cov(latents.T).reshape(self.latent_dim, self.latent_dim)
        eye = torch.eye(self.latent_dim, dtype=cov.dtype, device=cov.device)
        ridge = 1e-4 * cov.diagonal().mean() + 1e-8
        self.prior_mean.copy_(latents.mean(dim=0))
        self.prior_scale_tril.copy_(torch.linalg.cholesky(cov + ridge * eye))

    def prior_latents(self, noise: Tensor) -> Tensor:
        """Map (N, latent_dim) standard normal values onto the prior: mean + L @ noise."""
        noise = noise.to(self.prior_mean)
        return self.prior_mean + noise @ self.prior_scale_tril.T

    def sample_latents(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n latent vectors from the prior (noise drawn on the CPU, so a seed reproduces them)."""
        return self.prior_latents(torch.randn(n, self.latent_dim, generator=generator))

    @torch.no_grad()
    def generate(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n new images decoded from random latent vectors."""
        return self.decode(self.sample_latents(n, generator))


class VariationalAutoencoder(ConvAutoencoder):
    """An autoencoder whose encoder outputs a Gaussian per image, pulled towards N(0, I) by KL.

    The encoder's `latent` layer is the mean head, `logvar` the log-variance head on the same
    features. Training decodes a reparameterised sample mu + sigma * eps (stochastic); eval decodes
    the mean (deterministic). Because KL keeps the posteriors near N(0, I), random N(0, I)
    vectors land where the decoder was trained, which a plain autoencoder cannot promise.
    """

    fits_prior: ClassVar[bool] = False  # the prior is N(0, I): the buffers stay zero / identity

    def __init__(self, encoder: ConvEncoder, decoder: ConvDecoder) -> None:
        super().__init__(encoder, decoder)
        self.logvar = nn.Linear(encoder.latent.in_features, encoder.latent_dim)

    def encode_distribution(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mu, logvar) of the Gaussian posterior q(z | x) for each image."""
        features = self.encoder.embed(x)
        return self.encoder.latent(features), self.logvar(features)

    def forward(self, x: Tensor) -> AutoencoderOutput:
        mu, logvar = self.encode_distribution(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return AutoencoderOutput(self.decode(z), z, kl_divergence(mu, logvar))


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per image, summed over latent dimensions."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(dim=1)
