"""Autoencoder models: shapes, the encoder/classifier contract, VAE sampling and KL, the prior."""

from __future__ import annotations

import pytest
import torch

from cnnlab.errors import ConfigError
from cnnlab.models.autoencoder import (
    AutoencoderOutput,
    ConvAutoencoder,
    ConvDecoder,
    ConvEncoder,
    VariationalAutoencoder,
    kl_divergence,
)
from cnnlab.models.simple_cnn import SimpleCNN


def build(
    kind: type[ConvAutoencoder],
    size: int = 16,
    channels=(8, 16),
    latent_dim: int = 4,
    in_channels: int = 1,
    pool: str = "max",
) -> ConvAutoencoder:
    encoder = ConvEncoder(in_channels, size, latent_dim, channels, pool=pool)
    decoder = ConvDecoder(latent_dim, in_channels, size, channels, pool=pool)
    return kind(encoder, decoder)


@pytest.mark.parametrize("kind", [ConvAutoencoder, VariationalAutoencoder])
@pytest.mark.parametrize(
    ("size", "channels", "in_channels", "pool"),
    [
        (16, (8, 16), 1, "max"),
        (28, (8, 16, 32), 1, "max"),
        (32, (8,), 3, "avg"),
        (8, (4,), 1, "none"),
    ],
)
def test_reconstruction_has_the_input_shape_and_range(
    kind, size, channels, in_channels, pool
) -> None:
    model = build(kind, size, channels, in_channels=in_channels, pool=pool)
    images = torch.rand(3, in_channels, size, size)
    out = model(images)
    assert isinstance(out, AutoencoderOutput)
    assert out.reconstruction.shape == images.shape
    assert out.latent.shape == (3, 4)
    assert out.reconstruction.min() >= 0 and out.reconstruction.max() <= 1
    assert model.generate(5).shape == (5, in_channels, size, size)


def test_encoder_features_match_a_simple_cnn_for_transfer() -> None:
    """An autoencoder's `encoder.features.*` loads into a same-shaped SimpleCNN's `features.*`."""
    model = build(ConvAutoencoder, 16, (8, 16))
    classifier = SimpleCNN(1, 10, 16, channels=(8, 16))
    classifier.features.load_state_dict(model.encoder.features.state_dict())  # strict
    images = torch.rand(2, 1, 16, 16)
    model.eval(), classifier.eval()
    assert torch.equal(classifier.features(images), model.encoder.features(images))
    assert "encoder.features.0.0.weight" in model.state_dict()


def test_latent_dims_must_agree() -> None:
    message = r"encoder\.latent_dim=4 differs from decoder\.latent_dim=8"
    with pytest.raises(ConfigError, match=message):
        ConvAutoencoder(ConvEncoder(1, 16, 4), ConvDecoder(8, 1, 16))


def test_too_many_pooling_blocks_for_the_image_size() -> None:
    with pytest.raises(ConfigError, match="shrink a 8px image to nothing"):
        ConvEncoder(1, 8, 4, channels=(8, 8, 8, 8))


def test_vae_samples_in_training_and_uses_the_mean_in_eval() -> None:
    model = build(VariationalAutoencoder)
    images = torch.rand(4, 1, 16, 16)
    model.train()
    first, second = model(images), model(images)
    assert not torch.allclose(first.latent, second.latent)
    model.eval()
    first, second = model(images), model(images)
    assert torch.equal(first.latent, second.latent)
    mu, _ = model.encode_distribution(images)
    assert torch.equal(first.latent, mu)
    assert torch.equal(model.encode(images), mu)
    assert torch.equal(first.reconstruction, model.decode(mu))


def test_vae_kl_is_positive_and_zero_only_at_the_prior() -> None:
    model = build(VariationalAutoencoder).eval()
    kl = model(torch.rand(8, 1, 16, 16)).kl
    assert kl.shape == (8,)
    assert (kl > 0).all()
    assert kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3)).abs().max() == 0
    # closed form against torch.distributions for one arbitrary posterior
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    posterior = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    prior = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    expected = torch.distributions.kl_divergence(posterior, prior).sum(dim=1)
    assert torch.allclose(kl_divergence(mu, logvar), expected, atol=1e-5)


def test_plain_autoencoder_samples_from_the_gaussian_fitted_to_its_latents() -> None:
    model = build(ConvAutoencoder, latent_dim=3)
    generator = torch.Generator().manual_seed(0)
    mixing = torch.tensor([[2.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, -1.0, 3.0]])
    latents = torch.randn(20000, 3, generator=generator) @ mixing.T + torch.tensor([5.0, -2.0, 0.5])
    model.fit_prior(latents)
    samples = model.sample_latents(20000, generator)
    assert torch.allclose(samples.mean(0), latents.mean(0), atol=0.1)
    assert torch.allclose(torch.cov(samples.T), torch.cov(latents.T), rtol=0.05, atol=0.1)
    same_seed = model.sample_latents(4, torch.Generator().manual_seed(1))
    assert torch.equal(same_seed, model.sample_latents(4, torch.Generator().manual_seed(1)))


def test_the_fitted_prior_travels_in_the_state_dict() -> None:
    model = build(ConvAutoencoder)
    model.fit_prior(torch.randn(100, 4) * 3 + 1)
    copy = build(ConvAutoencoder)
    copy.load_state_dict(model.state_dict())
    assert torch.equal(copy.prior_mean, model.prior_mean)
    assert torch.equal(copy.prior_scale_tril, model.prior_scale_tril)
