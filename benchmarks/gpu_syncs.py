"""Where a cnnlab fit waits for the GPU: host-device synchronisations per training step.

A synchronisation (`.item()`, `float(tensor)`, `if tensor:`, a copy to the host, ...) stops the
CPU until the GPU has finished all queued work, so the CPU can no longer queue the next step
while the GPU runs this one. PyTorch reports each one when `torch.cuda.set_sync_debug_mode` is
"warn"; this script fits a recipe on the GPU with that mode on and counts them by phase
(training batches, validation, epoch ends) and by the line that caused them.

    python benchmarks/gpu_syncs.py experiment=canvas_unet trainer.max_epochs=2

Needs a CUDA GPU. Extra arguments are cnnlab-train overrides (`trainer=gpu` is added).
"""

from __future__ import annotations

import collections
import sys
import tempfile
import traceback
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from overhead import compose_recipe

from cnnlab.config.resolvers import register_resolvers
from cnnlab.pipeline import build_datamodule, build_task, build_trainer


class Phase(pl.Callback):
    """Names what the trainer is doing, for the sync counter."""

    name = "setup"
    training_batches = 0

    def on_train_batch_start(self, *args: Any) -> None:
        Phase.name = "training batch"
        Phase.training_batches += 1

    def on_train_epoch_end(self, *args: Any) -> None:
        Phase.name = "training epoch end"

    def on_validation_epoch_start(self, *args: Any) -> None:
        Phase.name = "validation"

    def on_validation_epoch_end(self, *args: Any) -> None:
        Phase.name = "validation epoch end"


def source(stack: list[traceback.FrameSummary]) -> str:
    """The innermost frame of cnnlab's code, and the innermost line below it (in a library)
    that synchronised."""
    ours = next((f for f in reversed(stack) if "/cnnlab/" in f.filename), None)
    library = next((f for f in reversed(stack) if not f.filename.endswith("warnings.py")), None)
    where = f"{Path(ours.filename).name}:{ours.lineno} ({ours.name})" if ours else "?"
    if library is None or library is ours:
        return where
    return f"{where} <- {Path(library.filename).name}:{library.lineno} ({library.name})"


def main(overrides: list[str]) -> None:
    if not torch.cuda.is_available():
        sys.exit("gpu_syncs.py needs a CUDA GPU")
    register_resolvers()
    counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def record(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        if "synchroniz" in str(message):
            counts[(Phase.name, source(traceback.extract_stack()[:-1]))] += 1

    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_recipe(["trainer=gpu", *overrides], Path(tmp))
        data = build_datamodule(cfg.data)
        task = build_task(cfg, data)
        trainer = build_trainer(cfg, OmegaConf.to_container(cfg, resolve=True), data)
        trainer.callbacks.append(Phase())
        warnings.showwarning = record
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            trainer.fit(task, datamodule=data)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    steps = Phase.training_batches
    by_phase: collections.Counter[str] = collections.Counter()
    for (phase, _), n in counts.items():
        by_phase[phase] += n
    print(f"overrides: {' '.join(overrides) or '(none)'}; {steps} training batches")
    for phase, n in by_phase.most_common():
        print(f"  {phase}: {n} syncs ({n / max(steps, 1):.2f} per training batch)")
    print("by source (phase, count):")
    for (phase, where), n in counts.most_common(25):
        print(f"  {n:6d}  {phase:22s} {where}")


if __name__ == "__main__":
    main(sys.argv[1:])
