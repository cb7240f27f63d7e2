"""`cnnlab-generate ckpt_path=...`: new images from random latent vectors of an autoencoder.

A VAE samples its latents from N(0, I); a plain autoencoder from the Gaussian fitted to its
training latents, which is stored in the checkpoint (buffers `model.prior_mean` and
`model.prior_scale_tril`). `interpolate=true` decodes the straight line between the latent
vectors of pairs of test images instead.
"""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
import torch.nn.functional as F
from hydra.utils import get_object
from omegaconf import DictConfig
from torch import Tensor
from torchvision.utils import make_grid, save_image

from cnnlab.callbacks.autoencoder import sample_grid
from cnnlab.cli import prepare_process, report_errors, required
from cnnlab.console import console
from cnnlab.data.base import ImageDataModule
from cnnlab.errors import CheckpointError, ConfigError
from cnnlab.pipeline import rebuild_from_checkpoint
from cnnlab.runs.atomic import write_atomic
from cnnlab.runs.layout import BEST_CHECKPOINT
from cnnlab.tasks.autoencoder import AutoencoderTask, first_images

prepare_process()


def load_autoencoder(
    ckpt_path: str, trust: bool = False, device: str = "cpu"
) -> tuple[AutoencoderTask, ImageDataModule]:
    """Rebuild an autoencoder task (in eval mode) and its data from a checkpoint's own config."""

    def require_autoencoder(run_config: dict) -> None:
        target = str(run_config.get("task", {}).get("_target_"))
        task_class = get_object(target)
        if not (isinstance(task_class, type) and issubclass(task_class, AutoencoderTask)):
            raise CheckpointError(
                f"{ckpt_path} is a checkpoint of {target}, not of an autoencoder: "
                "cnnlab-generate needs a run trained with task=autoencoder "
                "(e.g. cnnlab-train experiment=digits_vae)"
            )

    task, datamodule = rebuild_from_checkpoint(ckpt_path, trust, require_autoencoder)
    return task.to(device).eval(), datamodule  # type: ignore[return-value]


@torch.no_grad()
def generate_samples(
    task: AutoencoderTask, n: int, seed: int = 0, standard_normal: bool = False
) -> Tensor:
    """n images decoded from random latents (reproducible by seed), (n, C, H, W) on the CPU.

    The latents come from the model's prior, or from N(0, I) with `standard_normal`: the naive
    choice, which shows why a plain autoencoder needs its fitted prior.
    """
    model, generator = task.model, torch.Generator().manual_seed(seed)
    if standard_normal:
        noise = torch.randn(n, model.latent_dim, generator=generator)
        return model.decode(noise.to(task.device)).cpu()
    return model.generate(n, generator).cpu()


@torch.no_grad()
def interpolations(task: AutoencoderTask, images: Tensor, steps: int) -> Tensor:
    """For each pair (images[2i], images[2i+1]): A, `steps` decodings from z_A to z_B, B.

    Returns (pairs * (steps + 2), C, H, W), row by row.
    """
    model = task.model
    a, b = images[0::2].to(task.device), images[1::2].to(task.device)
    z_a, z_b = model.encode(a), model.encode(b)
    weights = torch.linspace(0, 1, steps, device=task.device).view(1, steps, 1)
    path = z_a.unsqueeze(1) + weights * (z_b - z_a).unsqueeze(1)  # (pairs, steps, latent)
    decoded = model.decode(path.flatten(0, 1)).unflatten(0, (len(a), steps))
    rows = torch.cat([a.unsqueeze(1), decoded, b.unsqueeze(1)], dim=1)
    return rows.flatten(0, 1).cpu()


def upscale(images: Tensor, scale: int) -> Tensor:
    return images if scale == 1 else F.interpolate(images, scale_factor=scale, mode="nearest")


def write_grid(
    ckpt_path: str,
    out: Path,
    n: int = 64,
    interpolate: bool = False,
    steps: int = 10,
    seed: int = 0,
    scale: int = 1,
    standard_normal: bool = False,
    trust: bool = False,
    device: str = "cpu",
) -> Path:
    """Write a PNG grid of n generated images (or of n // steps rows of interpolations)."""
    if n < 1 or steps < 2 or scale < 1:
        raise ConfigError(f"n={n} steps={steps} scale={scale}: need n >= 1, steps >= 2, scale >= 1")
    task, datamodule = load_autoencoder(ckpt_path, trust, device)
    if interpolate:
        pairs = max(1, n // steps)
        datamodule.setup("test")
        images = first_images(datamodule.test_dataloader(), 2 * pairs)
        pairs = len(images) // 2
        rows = upscale(interpolations(task, images[: 2 * pairs], steps), scale)
        grid = make_grid(rows.clamp(0, 1), nrow=steps + 2, padding=2, pad_value=1.0)
        what = f"{pairs} interpolation rows of {steps} steps between test images"
    else:
        grid = sample_grid(upscale(generate_samples(task, n, seed, standard_normal), scale))
        prior = "N(0, I)" if standard_normal else "the model's prior"
        what = f"{n} images decoded from random latent vectors drawn from {prior}"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, lambda handle: save_image(grid, handle, format="png"))
    console.info(f"Wrote {what} to {out}")
    return out


@hydra.main(version_base="1.3", config_path="pkg://cnnlab.conf", config_name="generate")
@report_errors
def main(cfg: DictConfig) -> None:
    write_grid(
        required(cfg, "ckpt_path", f"ckpt_path=RUN_DIR/{BEST_CHECKPOINT}"),
        Path(cfg.out),
        n=cfg.n,
        interpolate=cfg.interpolate,
        steps=cfg.steps,
        seed=cfg.seed,
        scale=cfg.scale,
        standard_normal=cfg.standard_normal,
        trust=cfg.trust,
        device=cfg.device,
    )


if __name__ == "__main__":
    main()
