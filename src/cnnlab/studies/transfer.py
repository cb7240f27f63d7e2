"""`python -m cnnlab.studies.transfer`: does transfer learning pay off when labels are few?

Trains a study's source model once, then learns the target classes from a few labelled images
per class in every variant (from scratch, frozen backbone + new head, ...), for each seed and
each label count; a seed also draws which images are labelled. Every run is a normal
`cnnlab-train` run directory under one study folder. The comparison table (test accuracy mean
± standard deviation over seeds, the gain over scratch on the same seed, trainable parameters,
run time) is printed and written to `<study>/comparison.md`. Extra arguments are Hydra
overrides for every run.

Studies: `cluttered` (digits 0-4 -> 5-9 on cluttered 32x32 canvases, where transfer pays) and
`digits` (the plain 8x8 digits 0-4 -> 5-9, where it does not: scratch is already as good).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cnnlab.callbacks.finetuning import TRAINABLE_PARAMS
from cnnlab.cli import report_errors
from cnnlab.config.resolvers import unique_dir
from cnnlab.errors import TrainingError
from cnnlab.runs.atomic import write_text_atomic
from cnnlab.runs.groups import Spread, paired
from cnnlab.runs.layout import DEFAULT_LOG_DIR, LOG_DIR_ENV, log_dir
from cnnlab.runs.records import read_metrics
from cnnlab.tasks.base import metric_name
from cnnlab.tasks.classification import ACCURACY

TEST_ACCURACY = metric_name("test", ACCURACY)
SCRATCH = "scratch (random init, all trained)"


@dataclass(frozen=True)
class Study:
    """A source experiment and the target variants (table row -> experiment) trained after it."""

    source: str
    variants: dict[str, str]  # must include SCRATCH, the baseline every gain is measured from
    description: str


STUDIES = {
    "cluttered": Study(
        source="cluttered04_source",
        variants={
            SCRATCH: "cluttered59_scratch",
            "frozen backbone + new head": "cluttered59_frozen",
            "last conv block + new head": "cluttered59_partial",
            "new head, then full fine-tune": "cluttered59_finetune",
        },
        description="Source: cluttered digits 0-4. Target: cluttered digits 5-9",
    ),
    "digits": Study(
        source="digits04_source",
        variants={
            SCRATCH: "digits59_scratch",
            "frozen backbone + new head": "digits59_frozen",
            "new head, then full fine-tune": "digits59_finetune",
        },
        description="Source: 8x8 digits 0-4. Target: 8x8 digits 5-9",
    ),
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
        sys.executable, "-m", "cnnlab.cli.train", f"experiment={experiment}",
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
    metrics = read_metrics(run_dir)
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    counts = [int(e.value) for e in events.Scalars(TRAINABLE_PARAMS)]
    phases = [c for i, c in enumerate(counts) if i == 0 or c != counts[i - 1]]
    return RunResult(metrics[TEST_ACCURACY], phases, seconds)


def comparison_table(
    study: Study, results: dict[int, dict[str, list[RunResult]]], source_acc: float
) -> str:
    """Markdown: per label count, one row per variant; gains are paired by seed with scratch."""
    seeds = len(next(iter(results.values()))[SCRATCH])
    lines = [
        f"{study.description}. Source test accuracy {source_acc:.3f}; target test accuracy as "
        f"mean ± sd over {seeds} seed(s); gain = variant - scratch on the same seed (same "
        "labelled images); wins = seeds on which the variant beats scratch.",
        "",
        "| labels per class | variant | test accuracy | gain over scratch | wins "
        "| trainable parameters | run time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for labels, variants in results.items():
        # runs are in seed order in every variant: the position is the seed
        scratch = dict(enumerate(r.test_acc for r in variants[SCRATCH]))
        for name, runs in variants.items():
            accs = dict(enumerate(r.test_acc for r in runs))
            gain = wins = ""
            if name != SCRATCH:
                gains = paired(accs, scratch, higher_better=True)
                gain = gains.differences.text(signed=True)
                wins = f"{gains.wins}/{gains.differences.n}"
            params = " → ".join(f"{n:,}" for n in runs[0].trainable)
            seconds = statistics.mean(r.seconds for r in runs)
            acc = Spread.of(list(accs.values())).text()
            lines.append(
                f"| {labels} | {name} | {acc} | {gain} | {wins} | {params} | {seconds:.0f} |"
            )
    return "\n".join(lines) + "\n"


def run_study(
    study: Study, study_dir: Path, seeds: list[int], labels: list[int], overrides: list[str]
) -> str:
    """Train the source, then every variant for every label count and seed; return the table."""
    source_dir = study_dir / "source"
    train_run(study.source, source_dir, overrides)
    source_acc = read_metrics(source_dir)[TEST_ACCURACY]
    results: dict[int, dict[str, list[RunResult]]] = {}
    for count in labels:
        results[count] = {name: [] for name in study.variants}
        for seed in seeds:
            for name, experiment in study.variants.items():
                run_dir = study_dir / f"{count}_labels" / experiment / f"seed{seed}"
                init = [] if name == SCRATCH else [f"task.init_from={source_dir}"]
                run_overrides = [f"seed={seed}", f"data.train_per_class={count}", *init]
                seconds = train_run(experiment, run_dir, [*run_overrides, *overrides])
                results[count][name].append(read_result(run_dir, seconds))
    table = comparison_table(study, results, source_acc)
    write_text_atomic(study_dir / "comparison.md", table)
    return table


@report_errors
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnnlab.studies.transfer", description=__doc__)
    parser.add_argument("--study", choices=sorted(STUDIES), default="cluttered")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--labels", type=int, nargs="+", default=[2, 5, 10], help="labelled images per class"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"study folder (default ${LOG_DIR_ENV} or {DEFAULT_LOG_DIR}, /transfer_study/<time>)",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run")
    args = parser.parse_args(argv)
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    study_dir = Path(unique_dir(str(args.out or log_dir() / "transfer_study" / stamp)))
    table = run_study(STUDIES[args.study], study_dir, args.seeds, args.labels, args.overrides)
    print(f"\n{table}\nwritten to {study_dir / 'comparison.md'}")


if __name__ == "__main__":
    main()
