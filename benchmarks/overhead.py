"""cnnlab's training path against a minimal hand-written PyTorch loop, in one process.

For each task's default recipe both sides train the same model (same init) on the same tensors
with the same optimizer, scheduler, augmentation, batch size and number of epochs, and evaluate
on the validation split after each epoch:

  (a) a hand-written loop: randperm, slice, augment, forward, loss, backward, step;
  (b) cnnlab: the composed Hydra config through `cnnlab.pipeline` (build_datamodule,
      build_task, build_trainer) and a real `pl.Trainer` with the default callbacks and logger.

Repetitions alternate (a), (b), (a), (b), ... so machine noise hits both alike; the median
time of each gives images/s and the overhead ratio (b)/(a). Then the default `cnnlab-train` is
timed from process start to its first val/acc >= --target (read from its TensorBoard events).

    python benchmarks/overhead.py                                # print the tables
    python benchmarks/overhead.py --write benchmarks/RESULTS.md  # and record them
    python benchmarks/overhead.py --device cuda                  # both sides on the GPU

With `--device cuda` the hand-written loop moves the model and the splits to the GPU once, and
cnnlab runs with `trainer=gpu` (its in-memory data path copies the splits there once too).
"""

from __future__ import annotations

import argparse
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
from cnnlab.data.in_memory import InMemoryDataModule
from cnnlab.pipeline import build_datamodule, build_task, build_trainer

CONF = Path(__file__).resolve().parents[1] / "conf"
# each task's default recipe (`experiment=` overrides; [] is cnnlab-train's own default)
RECIPES = {
    "classification": [],
    "segmentation": ["experiment=canvas_unet"],
    "autoencoder": ["experiment=digits_ae"],
}
Loss = Callable[[nn.Module, Tensor, Tensor], Tensor]


def classification_loss(model: nn.Module, images: Tensor, labels: Tensor) -> Tensor:
    return F.cross_entropy(model(images), labels)


def reconstruction_loss(model: nn.Module, images: Tensor, _: Tensor) -> Tensor:
    return F.mse_loss(model(images).reconstruction, images)


def segmentation_loss(cfg: DictConfig) -> Loss:
    """The recipe's own smp losses, summed with their weights, as the task does."""
    losses = {name: instantiate(node) for name, node in cfg.task.loss.items() if node is not None}
    weights = cfg.task.get("loss_weights") or {}

    def loss(model: nn.Module, images: Tensor, masks: Tensor) -> Tensor:
        logits = model(images)
        return sum(weights.get(name, 1.0) * fn(logits, masks) for name, fn in losses.items())

    return loss


def hand_loss(task: str, cfg: DictConfig) -> Loss:
    if task == "segmentation":
        return segmentation_loss(cfg)
    return reconstruction_loss if task == "autoencoder" else classification_loss


def compose_recipe(overrides: list[str], output_dir: Path) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_module("cnnlab.conf", version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
        cfg.paths.output_dir = str(output_dir)
    return cfg


def hand_written(
    cfg: DictConfig, data: InMemoryDataModule, loss_fn: Loss, epochs: int, device: torch.device
) -> float:
    """(a): the loop a careful PyTorch user writes. Returns seconds for `epochs` epochs."""
    pl.seed_everything(cfg.seed, verbose=False)
    model = instantiate(cfg.model).to(device)
    optimizer = instantiate(cfg.task.optimizer)(model.parameters())
    images, targets = (t.to(device) for t in data.splits["train"])
    val_images, val_targets = (t.to(device) for t in data.splits["val"])
    steps = -(-len(images) // data.batch_size)
    scheduler = None
    if cfg.task.get("scheduler") is not None:
        scheduler = instantiate(cfg.task.scheduler)(optimizer, total_steps=epochs * steps)
    masks = targets.dim() == images.dim() - 1
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(images), device=device).split(data.batch_size):
            x, y = images[batch], targets[batch]
            x, augmented = data.augment(x, y if masks else None)
            y = augmented if masks else y
            loss = loss_fn(model, x, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
        model.eval()
        with torch.no_grad():
            for x, y in zip(
                val_images.split(data.batch_size), val_targets.split(data.batch_size), strict=True
            ):
                loss_fn(model, x, y)
    synchronize(device)
    return time.perf_counter() - start


def through_cnnlab(cfg: DictConfig, data: InMemoryDataModule) -> float:
    """(b): cnnlab's own builders and Trainer, defaults as configured. Seconds in `fit`."""
    pl.seed_everything(cfg.seed, verbose=False)
    task = build_task(cfg, data)
    trainer = build_trainer(cfg, OmegaConf.to_container(cfg, resolve=True))
    start = time.perf_counter()
    trainer.fit(task, datamodule=data)
    synchronize(trainer.strategy.root_device)
    return time.perf_counter() - start


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a host clock read after it covers that work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_overrides(device: torch.device) -> list[str]:
    """The cnnlab overrides that train on `device`, as a user would pick them."""
    return ["trainer=gpu"] if device.type == "cuda" else []


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compare(
    task: str, epochs: int, reps: int, workdir: Path, device: torch.device
) -> dict[str, float] | None:
    overrides = RECIPES[task]
    if overrides and not (CONF / "experiment" / f"{overrides[0].split('=')[1]}.yaml").is_file():
        print(f"{task}: {overrides[0]} does not exist yet, skipped")
        return None
    overrides = [*overrides, *device_overrides(device), f"trainer.max_epochs={epochs}"]
    cfg = compose_recipe(overrides, workdir / task / "setup")
    data = build_datamodule(cfg.data)
    loss_fn = hand_loss(task, cfg)
    times: dict[str, list[float]] = {"hand": [], "cnnlab": []}
    for rep in range(reps):
        times["hand"].append(hand_written(cfg, data, loss_fn, epochs, device))
        run_dir = workdir / task / f"rep{rep}"
        run_dir.mkdir(parents=True)
        cfg = compose_recipe(overrides, run_dir)
        times["cnnlab"].append(through_cnnlab(cfg, data))
        print(
            f"{task} rep {rep}: hand {times['hand'][-1]:.2f} s, cnnlab {times['cnnlab'][-1]:.2f} s"
        )
    images = epochs * len(data.splits["train"][0])
    hand, ours = statistics.median(times["hand"]), statistics.median(times["cnnlab"])
    return {
        "epochs": epochs,
        "train_images": len(data.splits["train"][0]),
        "hand_images_per_s": images / hand,
        "cnnlab_images_per_s": images / ours,
        "ratio": ours / hand,
    }


def time_to_accuracy(target: float, workdir: Path, device: torch.device) -> dict[str, float]:
    """The default `cnnlab-train` from process start: when val/acc first reaches `target`."""
    cwd = workdir / "time_to_accuracy"
    cwd.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    start = time.time()
    subprocess.run(
        [
            sys.executable, "-m", "cnnlab.cli.train", *device_overrides(device),
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


def report(results: dict[str, dict[str, float] | None], tta: dict[str, float] | None) -> str:
    lines = [
        "| task (default recipe) | epochs | train images | hand-written img/s | cnnlab img/s "
        "| ratio (b)/(a) |",
        "|---|---|---|---|---|---|",
    ]
    for task, row in results.items():
        if row is None:
            lines.append(f"| {task} | recipe not there yet | | | | |")
            continue
        lines.append(
            f"| {task} | {row['epochs']} | {row['train_images']} | {row['hand_images_per_s']:.0f} "
            f"| {row['cnnlab_images_per_s']:.0f} | {row['ratio']:.3f} |"
        )
    lines += ["", f"Peak memory (max RSS of the benchmark process): {peak_rss_mib():.0f} MiB"]
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
    parser.add_argument("--tasks", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--target", type=float, default=0.95, help="val/acc for time-to-accuracy")
    parser.add_argument("--no-time-to-accuracy", action="store_true")
    parser.add_argument("--write", type=Path, help="also write the tables to this file")
    parser.add_argument(
        "--device", type=torch.device, default=torch.device("cpu"), help="cpu or cuda"
    )
    args = parser.parse_args()
    if args.device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible to PyTorch")
    register_resolvers()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = {
            task: compare(task, args.epochs, args.reps, workdir, args.device) for task in args.tasks
        }
        tta = None
        if not args.no_time_to_accuracy:
            tta = time_to_accuracy(args.target, workdir, args.device)
    text = report(results, tta)
    print(text)
    if args.write:
        args.write.write_text(text)


if __name__ == "__main__":
    main()
