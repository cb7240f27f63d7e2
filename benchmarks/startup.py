"""How long cnnlab's commands take to answer before any training: start-up, measured.

Each case is a fresh subprocess (what a user waits for at the prompt); cases are interleaved
rep by rep so machine noise hits all alike, and the median of --reps is reported. Also lists the
heavy libraries (torch, Lightning, timm, smp) each case imported, from `python -X importtime`.

    python benchmarks/startup.py                 # a markdown table
    python benchmarks/startup.py --reps 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

CASES = {
    "cnnlab-train --help": ["cnnlab.cli.train", "--help"],
    "cnnlab-train --cfg job": ["cnnlab.cli.train", "--cfg", "job"],
    "cnnlab-train --info": ["cnnlab.cli.train", "--info"],
    "config error (task.optimizer.lr=0)": ["cnnlab.cli.train", "task.optimizer.lr=0"],
    "config error (model=nope)": ["cnnlab.cli.train", "model=nope"],
    "cnnlab-eval --help": ["cnnlab.cli.eval", "--help"],
    "cnnlab-compare --help": ["cnnlab.cli.compare", "--help"],
    "cnnlab-predict --help": ["cnnlab.cli.predict", "--help"],
}
HEAVY = ("torch", "pytorch_lightning", "lightning_fabric", "timm", "segmentation_models_pytorch")


def seconds(module_args: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", *module_args],
        cwd=cwd,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - start


def heavy_imports(module_args: list[str], cwd: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", *module_args],
        cwd=cwd,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    names = {line.rsplit("|", 1)[-1].strip() for line in lines}
    return [name for name in HEAVY if name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cwd:  # config errors must not leave runs here
        times: dict[str, list[float]] = {name: [] for name in CASES}
        for _ in range(args.reps):
            for name, module_args in CASES.items():
                times[name].append(seconds(module_args, cwd))
        print(f"| command | median of {args.reps} (s) | min (s) | heavy libraries imported |")
        print("|---|---|---|---|")
        for name, module_args in CASES.items():
            heavy = ", ".join(heavy_imports(module_args, cwd)) or "none"
            print(
                f"| `{name}` | {statistics.median(times[name]):.2f} "
                f"| {min(times[name]):.2f} | {heavy} |"
            )


if __name__ == "__main__":
    main()
