"""`python -m cnnlab.transfer_study`: does transfer learning pay off when labels are few?

Trains the source model (experiment=digits04_source: digits 0-4) once, then learns digits 5-9
from 10 labelled images per class three ways, for each seed (a seed also draws which 10 images
are labelled): from scratch, frozen backbone + new head, head then full fine-tune. Every run is
a normal `cnnlab-train` run directory under one study folder; the comparison table (test
accuracy mean ± standard deviation over seeds, trainable parameters, run time) is printed and
written to `<study>/comparison.md`. Extra arguments are Hydra overrides for every run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cnnlab.cli import report_errors
from cnnlab.config.resolvers import unique_dir
from cnnlab.errors import TrainingError

SOURCE = "digits04_source"
VARIANTS = {  # table row -> experiment
    "scratch (random init, all trained)": "digits59_scratch",
    "frozen backbone + new head": "digits59_frozen",
    "new head, then full fine-tune": "digits59_finetune",
}


@dataclass
class RunResult:
    """What the table needs from one finished run directory."""

    test_acc: float
    trainable: list[int]  # per phase, in order
    seconds: float


def train_run(experiment: str, run_dir: Path, overrides: list[str]) -> float:
    """Run `cnnlab-train experiment=...` into `run_dir`; return its wall time in seconds."""
    command = [
        sys.executable, "-m", "cnnlab.train", f"experiment={experiment}",
        f"hydra.run.dir={run_dir}", "callbacks.progress_bar.refresh_rate=0", *overrides,
    ]  # fmt: skip
    print(f"[transfer_study] {experiment}: {run_dir}", flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise TrainingError(
            f"{experiment} failed (exit {result.returncode}); its output ends with:\n"
            f"{result.stderr[-2000:] or result.stdout[-2000:]}"
        )
    return time.perf_counter() - start


def read_result(run_dir: Path, seconds: float) -> RunResult:
    """Test accuracy from metrics.json, trainable parameters per phase from TensorBoard."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    counts = [int(e.value) for e in events.Scalars("train/trainable_params")]
    phases = [c for i, c in enumerate(counts) if i == 0 or c != counts[i - 1]]
    return RunResult(metrics["test/acc"], phases, seconds)


def comparison_table(results: dict[str, list[RunResult]], source_acc: float) -> str:
    """Markdown: one row per variant, accuracy as mean ± standard deviation over the seeds."""
    seeds = len(next(iter(results.values())))
    lines = [
        f"Source: digits 0-4, test accuracy {source_acc:.3f}. Target: digits 5-9, 10 labelled "
        f"images per class; mean ± sd over {seeds} seed(s).",
        "",
        "| variant | test accuracy | trainable parameters | run time (s) |",
        "|---|---|---|---|",
    ]
    for name, runs in results.items():
        accs = [r.test_acc for r in runs]
        spread = f" ± {statistics.stdev(accs):.3f}" if len(accs) > 1 else ""
        params = " → ".join(f"{n:,}" for n in runs[0].trainable)
        seconds = statistics.mean(r.seconds for r in runs)
        lines.append(f"| {name} | {statistics.mean(accs):.3f}{spread} | {params} | {seconds:.0f} |")
    return "\n".join(lines) + "\n"


def run_study(study_dir: Path, seeds: list[int], overrides: list[str]) -> str:
    """Train the source and every variant for every seed under `study_dir`; return the table."""
    source_dir = study_dir / "source"
    train_run(SOURCE, source_dir, overrides)
    source_acc = json.loads((source_dir / "metrics.json").read_text())["test/acc"]
    results: dict[str, list[RunResult]] = {name: [] for name in VARIANTS}
    for seed in seeds:
        for name, experiment in VARIANTS.items():
            run_dir = study_dir / experiment / f"seed{seed}"
            init = [] if experiment == "digits59_scratch" else [f"task.init_from={source_dir}"]
            seconds = train_run(experiment, run_dir, [f"seed={seed}", *init, *overrides])
            results[name].append(read_result(run_dir, seconds))
    table = comparison_table(results, source_acc)
    (study_dir / "comparison.md").write_text(table)
    return table


@report_errors
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnnlab.transfer_study", description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="study folder (default $CNNLAB_LOG_DIR or outputs, /transfer_study/<time>)",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run")
    args = parser.parse_args(argv)
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    log_dir = Path(os.environ.get("CNNLAB_LOG_DIR", "outputs"))
    study_dir = Path(unique_dir(str(args.out or log_dir / "transfer_study" / stamp)))
    table = run_study(study_dir, args.seeds, args.overrides)
    print(f"\n{table}\nwritten to {study_dir / 'comparison.md'}")


if __name__ == "__main__":
    main()
