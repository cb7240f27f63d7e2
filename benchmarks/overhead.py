"""cnnlab's training path against a careful hand-written PyTorch loop, in one process.

For each recipe both sides train the same model (same init) on the same tensors with the same
optimizer, scheduler, augmentation, batch size, precision and number of epochs:

  (a) a hand-written loop that does the work a careful user's loop does: randperm, slice,
      augment, forward, loss, backward, step; after every epoch a validation pass (mean loss,
      and accuracy for classifiers and segmenters), the best weights kept in memory, and a
      checkpoint (model, optimizer, epoch) saved to disk;
  (b) cnnlab: the composed Hydra config through `cnnlab.pipeline` (build_datamodule,
      build_task, build_trainer) and a real `pl.Trainer` with the default callbacks and logger
      (validation metrics, best and last checkpoints, TensorBoard scalars and pictures);
  (c) Lightning's floor: the same cnnlab task in a bare `pl.Trainer` (no callbacks, logger,
      checkpoints, progress bar or sanity check), so the ratio splits into what Lightning's
      loop costs, (c)/(a), and what cnnlab adds on top of it, (b)/(c).

The recipes: each task's default (`classification`, `segmentation`, `autoencoder`) and a
realistic one, `resnet18_cifar`: torchvision's ResNet-18 on CIFAR-10 (50,000 x 3 x 32 x 32,
batch 512), read from `data.root` when its files are there, else random tensors of that shape
(`--cifar-images` says how many: fewer make a CPU run affordable).

Repetitions interleave the sides, in the order (a), (c), (b) and then (b), (c), (a), so machine
noise and any cost of going first or last hit all alike; the median time of each, over the fit
alone, gives images/s and the overhead ratios. Time to first step
runs from before the model is built to the end of the first optimizer step. Then the default
`cnnlab-train` is timed from process start to its first val/acc >= --target (read from its
TensorBoard events).

    python benchmarks/overhead.py                                # print the tables
    python benchmarks/overhead.py --write benchmarks/RESULTS.md  # and record them
    python benchmarks/overhead.py --tasks resnet18_cifar --cifar-images 8192 --epochs 2
    python benchmarks/overhead.py --device cuda --precision bf16-mixed --channels-last

With `--device cuda` the hand-written loop moves the model and the splits to the GPU once, and
cnnlab runs with `trainer=gpu` (its in-memory data path copies the splits there once too).
`--precision`, `--channels-last` and `--compile` apply to both sides: autocast, the model's
memory format and `nn.Module.compile` by hand; `trainer.precision` and
`callbacks.model_speedups` in cnnlab.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import Tensor, nn

from cnnlab.config.resolvers import register_resolvers
from cnnlab.data.in_memory import Arrays, InMemoryDataModule
from cnnlab.errors import CnnlabError
from cnnlab.pipeline import build_datamodule, build_task, build_trainer

CONF = Path(__file__).resolve().parents[1] / "conf"
# each recipe's overrides ([] is cnnlab-train's own default)
RECIPES = {
    "classification": [],
    "segmentation": ["experiment=canvas_unet"],
    "autoencoder": ["experiment=digits_ae"],
    "resnet18_cifar": ["model=resnet18", "data=cifar10", "data.batch_size=512"],
}
TINY_RECIPES = ["classification", "segmentation", "autoencoder"]
SIDES = ("hand", "lightning", "cnnlab")  # (a), (c), (b) of the docstring
CIFAR_SHAPE = (3, 32, 32)
# a batch's loss, and outputs whose argmax along dim 1 is the predicted class (or None)
Loss = Callable[[nn.Module, Tensor, Tensor], tuple[Tensor, Tensor | None]]


def classification_loss(model: nn.Module, images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    logits = model(images)
    return F.cross_entropy(logits, labels), logits


def reconstruction_loss(model: nn.Module, images: Tensor, _: Tensor) -> tuple[Tensor, None]:
    return F.mse_loss(model(images).reconstruction.float(), images), None


def segmentation_loss(cfg: DictConfig) -> Loss:
    """The recipe's own smp losses, summed with their weights, as the task does."""
    losses = {name: instantiate(node) for name, node in cfg.task.loss.items() if node is not None}
    weights = cfg.task.get("loss_weights") or {}

    def loss(model: nn.Module, images: Tensor, masks: Tensor) -> tuple[Tensor, Tensor]:
        logits = model(images)
        total = sum(weights.get(name, 1.0) * fn(logits, masks) for name, fn in losses.items())
        return total, logits

    return loss


def hand_loss(task: str, cfg: DictConfig) -> Loss:
    if task == "segmentation":
        return segmentation_loss(cfg)
    return reconstruction_loss if task == "autoencoder" else classification_loss


class CifarShaped(InMemoryDataModule):
    """CIFAR-10's shape and size in random tensors, for machines without its files."""

    def __init__(self, *, images: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.images = images

    def load(self) -> dict[str, Arrays]:
        generator = torch.Generator().manual_seed(self.seed)

        def split(n: int) -> Arrays:
            pictures = torch.rand(n, *CIFAR_SHAPE, generator=generator)
            return pictures, torch.randint(0, self.num_classes, (n,), generator=generator)

        return {"train": split(self.images), "test": split(max(self.images // 5, 1))}


def recipe_data(task: str, cfg: DictConfig, cifar_images: int) -> tuple[InMemoryDataModule, str]:
    """The recipe's data module, and where its images come from."""
    if task != "resnet18_cifar":
        return build_datamodule(cfg.data), "as configured"
    with contextlib.suppress(CnnlabError):  # the real CIFAR-10 when its files are there
        return build_datamodule(cfg.data), f"CIFAR-10 from {cfg.data.root}"
    unused = ("_target_", "name", "root", "download")
    options = {k: v for k, v in cfg.data.items() if k not in unused}
    data = CifarShaped(images=cifar_images, **options)
    data.setup("fit")
    return data, f"random tensors of CIFAR-10's shape ({cifar_images} images before the val split)"


def compose_recipe(overrides: list[str], output_dir: Path) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_module("cnnlab.conf", version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
        cfg.paths.output_dir = str(output_dir)
    return cfg


class Run:
    """How both sides train: device, epochs, precision and the model speed-ups."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.device: torch.device = args.device
        self.epochs: int = args.epochs
        self.precision: str = args.precision
        self.channels_last: bool = args.channels_last
        self.compile: bool = args.compile
        self.async_checkpoints: bool = args.async_checkpoints

    def device_overrides(self) -> list[str]:
        """The cnnlab overrides that train on the device, as a user would pick them."""
        return ["trainer=gpu"] if self.device.type == "cuda" else []

    def overrides(self) -> list[str]:
        """The cnnlab overrides for all these settings."""
        chosen = [*self.device_overrides(), f"trainer.max_epochs={self.epochs}"]
        if self.precision != "32-true":
            chosen.append(f"trainer.precision={self.precision}")
        if self.channels_last:
            chosen.append("callbacks.model_speedups.channels_last=true")
        if self.compile:
            chosen.append("callbacks.model_speedups.compile=true")
        if self.async_checkpoints:
            chosen.append("async_checkpoints=true")
        return chosen

    def speed_up(self, model: nn.Module) -> nn.Module:
        if self.channels_last:
            model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        if self.compile:
            model.compile()
        return model

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "32-true":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision.startswith("bf16") else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)


def hand_written(
    cfg: DictConfig, data: InMemoryDataModule, loss_fn: Loss, run: Run, checkpoint: Path
) -> tuple[float, float]:
    """(a): the loop a careful PyTorch user writes. Seconds for the epochs, and to first step."""
    built = time.perf_counter()
    pl.seed_everything(cfg.seed, verbose=False)
    model = run.speed_up(instantiate(cfg.model).to(run.device))
    optimizer = instantiate(cfg.task.optimizer)(model.parameters())
    images, targets = (t.to(run.device) for t in data.splits["train"])
    val_images, val_targets = (t.to(run.device) for t in data.splits["val"])
    steps = -(-len(images) // data.batch_size)
    scheduler = None
    if cfg.task.get("scheduler") is not None:
        scheduler = instantiate(cfg.task.scheduler)(optimizer, total_steps=run.epochs * steps)
    masks = targets.dim() == images.dim() - 1
    best_loss, best_weights, first_step = math.inf, None, math.nan
    synchronize(run.device)
    start = time.perf_counter()
    for epoch in range(run.epochs):
        model.train()
        for batch in torch.randperm(len(images), device=run.device).split(data.batch_size):
            x, y = images[batch], targets[batch]
            x, augmented = data.augment(x, y if masks else None)
            y = augmented if masks else y
            with run.autocast():
                loss, _ = loss_fn(model, x, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            if math.isnan(first_step):
                synchronize(run.device)
                first_step = time.perf_counter() - built
        model.eval()
        loss_sum = torch.zeros((), device=run.device)
        correct = torch.zeros((), device=run.device)
        with torch.no_grad(), run.autocast():
            for x, y in zip(val_images.split(data.batch_size), val_targets.split(data.batch_size)):
                loss, outputs = loss_fn(model, x, y)
                loss_sum += loss.float() * len(x)
                if outputs is not None:
                    # max().indices: what cnnlab's segmentation task uses, as fast as argmax
                    # on (N, C) and 20x faster on (N, C, H, W) on the CPU
                    correct += (outputs.max(dim=1).indices == y).float().mean() * len(x)
        val_loss, val_acc = (loss_sum / len(val_images)).item(), correct.item() / len(val_images)
        print(f"  hand-written epoch {epoch}: val loss {val_loss:.4f}, accuracy {val_acc:.4f}")
        if val_loss < best_loss:
            best_loss = val_loss
            best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}
        torch.save(state, checkpoint)
    synchronize(run.device)
    assert best_weights is not None
    return time.perf_counter() - start, first_step


class FirstStepClock(pl.Callback):
    """When the first training step ended (after the GPU finished it)."""

    def __init__(self) -> None:
        self.at = math.nan

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if math.isnan(self.at):
            synchronize(trainer.strategy.root_device)
            self.at = time.perf_counter()


def through_cnnlab(cfg: DictConfig, data: InMemoryDataModule) -> tuple[float, float]:
    """(b): cnnlab's own builders and Trainer, defaults as configured. Seconds in `fit`, and
    from before the task is built to the end of the first step."""
    built = time.perf_counter()
    pl.seed_everything(cfg.seed, verbose=False)
    task = build_task(cfg, data)
    trainer = build_trainer(cfg, OmegaConf.to_container(cfg, resolve=True), data)
    clock = FirstStepClock()
    trainer.callbacks.append(clock)
    start = time.perf_counter()
    trainer.fit(task, datamodule=data)
    synchronize(trainer.strategy.root_device)
    return time.perf_counter() - start, clock.at - built


def through_bare_lightning(cfg: DictConfig, data: InMemoryDataModule, run: Run) -> float:
    """(c): the task cnnlab builds, in a `pl.Trainer` that does nothing else. Seconds in `fit`."""
    pl.seed_everything(cfg.seed, verbose=False)
    task = build_task(cfg, data)
    run.speed_up(task.model)
    trainer = pl.Trainer(
        accelerator="gpu" if run.device.type == "cuda" else "cpu",
        devices=1,
        max_epochs=run.epochs,
        precision=run.precision,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    start = time.perf_counter()
    trainer.fit(task, datamodule=data)
    synchronize(trainer.strategy.root_device)
    return time.perf_counter() - start


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a host clock read after it covers that work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compare(
    task: str, run: Run, reps: int, workdir: Path, cifar_images: int
) -> dict[str, Any] | None:
    overrides = RECIPES[task]
    experiment = next((o.split("=")[1] for o in overrides if o.startswith("experiment=")), None)
    if experiment and not (CONF / "experiment" / f"{experiment}.yaml").is_file():
        print(f"{task}: experiment={experiment} does not exist yet, skipped")
        return None
    overrides = [*overrides, *run.overrides()]
    cfg = compose_recipe(overrides, workdir / task / "setup")
    data, source = recipe_data(task, cfg, cifar_images)
    loss_fn = hand_loss(task, cfg)
    checkpoint = workdir / task / "hand" / "last.pt"
    checkpoint.parent.mkdir(parents=True)
    times: dict[str, list[float]] = {side: [] for side in SIDES}
    first: dict[str, list[float]] = {"hand": [], "cnnlab": []}
    for rep in range(reps):
        for side in SIDES if rep % 2 == 0 else SIDES[::-1]:
            if side == "hand":
                seconds, to_first = hand_written(cfg, data, loss_fn, run, checkpoint)
                first[side].append(to_first)
            elif side == "lightning":
                seconds = through_bare_lightning(cfg, data, run)
            else:
                run_dir = workdir / task / f"rep{rep}"
                run_dir.mkdir(parents=True)
                seconds, to_first = through_cnnlab(compose_recipe(overrides, run_dir), data)
                first[side].append(to_first)
            times[side].append(seconds)
        print(f"{task} rep {rep}: " + ", ".join(f"{s} {times[s][-1]:.2f} s" for s in SIDES))
    images = run.epochs * len(data.splits["train"][0])
    hand, bare, ours = (statistics.median(times[side]) for side in SIDES)
    return {
        "epochs": run.epochs,
        "train_images": len(data.splits["train"][0]),
        "source": source,
        "hand_images_per_s": images / hand,
        "cnnlab_images_per_s": images / ours,
        "ratio": ours / hand,
        "lightning_ratio": bare / hand,
        "cnnlab_over_lightning": ours / bare,
        "hand_first_step": statistics.median(first["hand"]),
        "cnnlab_first_step": statistics.median(first["cnnlab"]),
        "per_rep": ", ".join("/".join(f"{t:.2f}" for t in rep) for rep in zip(*times.values())),
    }


def time_to_accuracy(target: float, workdir: Path, run: Run) -> dict[str, float]:
    """The default `cnnlab-train` from process start: when val/acc first reaches `target`."""
    cwd = workdir / "time_to_accuracy"
    cwd.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    start = time.time()
    subprocess.run(
        [
            sys.executable, "-m", "cnnlab.cli.train", *run.device_overrides(),
            "callbacks.progress_bar.refresh_rate=0",
        ],
        cwd=cwd, env=env, check=True, capture_output=True,
    )  # fmt: skip
    total = time.time() - start
    (events,) = {p.parent for p in (cwd / "outputs").rglob("events.out.tfevents.*")}
    scalars = EventAccumulator(str(events)).Reload().Scalars("val/acc")
    reached = [s.wall_time - start for s in scalars if s.value >= target]
    return {
        "target": target,
        "seconds": min(reached) if reached else float("nan"),
        "total_seconds": total,
        "final_val_acc": scalars[-1].value,
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").is_file():
        names = [
            line for line in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in line
        ]
        cpu = names[0].split(":", 1)[1].strip() if names else cpu
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, torch threads {torch.get_num_threads()}, {device}; "
        f"torch {torch.__version__}, pytorch-lightning {pl.__version__}, Python "
        f"{platform.python_version()}"
    )


def report(results: dict[str, dict[str, Any] | None], tta: dict[str, float] | None) -> str:
    lines = [
        "| recipe | epochs | train images | hand-written img/s | cnnlab img/s | ratio (b)/(a) "
        "| Lightning floor (c)/(a) | cnnlab over Lightning (b)/(c) | first step s, hand / cnnlab |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for task, row in results.items():
        if row is None:
            lines.append(f"| {task} | recipe not there yet | | | | | | | |")
            continue
        lines.append(
            f"| {task} | {row['epochs']} | {row['train_images']} | {row['hand_images_per_s']:.0f} "
            f"| {row['cnnlab_images_per_s']:.0f} | {row['ratio']:.3f} "
            f"| {row['lightning_ratio']:.3f} | {row['cnnlab_over_lightning']:.3f} "
            f"| {row['hand_first_step']:.2f} / {row['cnnlab_first_step']:.2f} |"
        )
        notes.append(
            f"- {task}: data {row['source']}; per rep (s, {'/'.join(SIDES)}) {row['per_rep']}"
        )
    lines += ["", *notes, "", f"Peak memory (max RSS of the process): {peak_rss_mib():.0f} MiB"]
    if torch.cuda.is_available():
        lines.append(f"Peak GPU memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    if tta is not None:
        lines += [
            "",
            f"Time to val/acc >= {tta['target']} of the default `cnnlab-train`, from process "
            f"start: {tta['seconds']:.1f} s (whole run: {tta['total_seconds']:.1f} s, final "
            f"val/acc {tta['final_val_acc']:.4f})",
        ]
    command = " ".join(["python benchmarks/overhead.py", *sys.argv[1:]])
    return "\n".join([f"Machine: {machine()}", f"Command: `{command}`", "", *lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=TINY_RECIPES, choices=list(RECIPES))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument(
        "--cifar-images", type=int, default=50_000, help="resnet18_cifar without CIFAR-10 files"
    )
    parser.add_argument(
        "--precision", default="32-true", choices=["32-true", "bf16-mixed", "16-mixed"]
    )
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--async-checkpoints", action="store_true", help="cnnlab's option")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads, both sides")
    parser.add_argument("--target", type=float, default=0.95, help="val/acc for time-to-accuracy")
    parser.add_argument("--no-time-to-accuracy", action="store_true")
    parser.add_argument("--write", type=Path, help="also write the tables to this file")
    parser.add_argument(
        "--device", type=torch.device, default=torch.device("cpu"), help="cpu or cuda"
    )
    args = parser.parse_args()
    if args.device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible to PyTorch")
    if args.threads:
        torch.set_num_threads(args.threads)
    register_resolvers()
    run = Run(args)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = {
            task: compare(task, run, args.reps, workdir, args.cifar_images) for task in args.tasks
        }
        tta = None
        if not args.no_time_to_accuracy:
            tta = time_to_accuracy(args.target, workdir, run)
    text = report(results, tta)
    print(text)
    if args.write:
        args.write.write_text(text)


if __name__ == "__main__":
    main()
