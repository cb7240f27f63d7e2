"""Wall time of cnnlab's commands that should not pay for torch: help, a printed config, errors.

Each case is a fresh process (`subprocess.run`), so the time includes the interpreter start and
every import the command makes. Repetitions are interleaved (case 1, 2, ..., then again) so
machine noise hits all cases alike; the table shows the median and the spread.

    python benchmarks/startup.py                    # print a markdown table
    python benchmarks/startup.py --repeats 7
    python benchmarks/startup.py --before /tmp/old/src   # and another copy of the code, interleaved

The console scripts are the ones beside this interpreter (`.venv/bin/cnnlab-train`). With
--before, each case also runs with PYTHONPATH=that folder, so the scripts import that copy of
cnnlab (e.g. `git archive main src | tar -x -C /tmp/old`) in the same interleaved rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def cases(run_root: str) -> dict[str, list[str]]:
    """Name -> command; runs that write go under `run_root` (a temporary folder)."""
    train = [str(BIN / "cnnlab-train")]
    first_step = [
        *train,
        "debug=limit",
        "trainer.max_epochs=1",
        "+trainer.max_steps=1",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
        f"paths.log_dir={run_root}",
    ]
    return {
        "`cnnlab-train --help`": [*train, "--help"],
        "`cnnlab-train --cfg job`": [*train, "--cfg", "job"],
        "`cnnlab-train --info`": [*train, "--info"],
        "`cnnlab-train model=nope` (error)": [*train, "model=nope"],
        "`cnnlab-train task.optimizer.lr=-1` (error)": [*train, "task.optimizer.lr=-1"],
        '`python -c "import cnnlab.cli.train"`': [sys.executable, "-c", "import cnnlab.cli.train"],
        "`cnnlab-eval --help`": [str(BIN / "cnnlab-eval"), "--help"],
        "`cnnlab-compare --help`": [str(BIN / "cnnlab-compare"), "--help"],
        "default recipe, 1 training step (whole run)": first_step,
    }


def measure(command: list[str], code: str | None) -> float:
    """Seconds from start to exit of one process importing cnnlab from `code` (None: the
    installed one); its output is discarded."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if code is not None:
        env["PYTHONPATH"] = code
    start = time.perf_counter()
    subprocess.run(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per case (median of them)")
    parser.add_argument("--skip-run", action="store_true", help="leave out the 1-step training")
    parser.add_argument("--before", help="a src/ folder of another cnnlab copy to time as well")
    args = parser.parse_args()
    codes = {"after": None, "before": args.before} if args.before else {"s": None}
    with tempfile.TemporaryDirectory() as run_root:
        commands = cases(run_root)
        if args.skip_run:
            commands.popitem()
        times = {(name, code): [] for name in commands for code in codes}
        for _ in range(args.repeats):
            for name, code in times:
                times[name, code].append(measure(commands[name], codes[code]))
    heads = [f"{code} median s (min-max)" for code in codes] if args.before else ["median s"]
    print(f"| command (n={args.repeats}) | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * len(heads))
    for name in commands:
        cells = []
        for code in codes:
            seconds = times[name, code]
            median = statistics.median(seconds)
            cells.append(f"{median:.2f} ({min(seconds):.2f}-{max(seconds):.2f})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
