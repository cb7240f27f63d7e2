"""`cnnlab-reproduce RUN_DIR`: rerun a run's saved config into a new run dir and compare metrics.

The rerun executes the saved `.hydra/config.yaml` (same seed, every override applied; see
cnnlab.runs.saved_config), so edits to conf/ since then do not matter; changed code or packages
do, and are warned about from the run's environment.json. On a CPU a rerun is bit-identical
(tolerance 0); GPU kernels may not be, hence --tolerance.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from cnnlab.cli import prepare_process, report_errors
from cnnlab.config.resolvers import unique_dir
from cnnlab.config.validation import validate_config
from cnnlab.errors import ConfigError
from cnnlab.runs.layout import ENVIRONMENT_FILE, METRICS_FILE, REPRODUCE_SUFFIX
from cnnlab.runs.records import environment_record, read_metrics
from cnnlab.runs.saved_config import copy_run_record, load_run_config, place_run

prepare_process()


def environment_changes(saved: dict, current: dict) -> list[str]:
    """What differs between the saved environment and this one: packages and git commit."""
    changes = []
    saved_packages, packages = saved.get("packages", {}), current.get("packages", {})
    for name in sorted(set(saved_packages) | set(packages)):
        if saved_packages.get(name) != packages.get(name):
            changes.append(f"{name} {saved_packages.get(name)} -> {packages.get(name)}")
    if saved.get("git_commit") != current.get("git_commit"):
        changes.append(f"git commit {saved.get('git_commit')} -> {current.get('git_commit')}")
    return changes


def metric_deltas(
    original: dict[str, float], reproduced: dict[str, float], tolerance: float
) -> list[tuple[str, float | None, float | None, float | None, bool]]:
    """(metric, original, reproduced, delta, within tolerance); a metric missing from one fails."""
    rows = []
    for name in sorted(set(original) | set(reproduced)):
        before, after = original.get(name), reproduced.get(name)
        delta = after - before if before is not None and after is not None else None
        rows.append((name, before, after, delta, delta is not None and abs(delta) <= tolerance))
    return rows


def format_deltas(rows: list[tuple[str, float | None, float | None, float | None, bool]]) -> str:
    width = max([len("metric"), *(len(row[0]) for row in rows)])

    def number(value: float | None) -> str:
        return f"{value:>12.6f}" if value is not None else f"{'missing':>12}"

    lines = [f"{'metric':<{width}}  {'original':>12}  {'reproduced':>12}  {'delta':>12}  result"]
    for name, before, after, delta, ok in rows:
        delta_text = f"{delta:>+12.2e}" if delta is not None else f"{'-':>12}"
        result = "ok" if ok else "MISMATCH"
        lines.append(f"{name:<{width}}  {number(before)}  {number(after)}  {delta_text}  {result}")
    return "\n".join(lines)


def reproduce(
    run_dir: Path, tolerance: float = 0.0, trust: bool = False, output_dir: Path | None = None
) -> bool:
    """Rerun `run_dir` into a new directory; print the deltas; True if every metric is within.

    Everything that can be checked is checked before the rerun: the config (trust, values) and
    the original metrics.
    """
    cfg = load_run_config(run_dir, trust)
    if not (run_dir / METRICS_FILE).is_file():
        raise ConfigError(
            f"{run_dir} has no {METRICS_FILE} (it did not finish): nothing to compare against; "
            f"resume it first with cnnlab-train resume={run_dir}"
        )
    original = read_metrics(run_dir)
    validate_config(cfg)  # before a new run dir is claimed
    target = Path(unique_dir(str(output_dir or run_dir.with_name(run_dir.name + REPRODUCE_SUFFIX))))
    place_run(cfg, target)
    copy_run_record(run_dir, target)
    warnings = _environment_warnings(run_dir, cfg.seed, str(cfg.trainer.get("accelerator", "auto")))
    from cnnlab.pipeline import train  # torch and Lightning: not for --help or a refused run

    reproduced = train(cfg)
    rows = metric_deltas(original, reproduced, tolerance)
    failed = [row[0] for row in rows if not row[4]]
    print(f"\nReproduction of {run_dir}\n        in {target} (tolerance {tolerance:g})\n")
    print(format_deltas(rows))
    for warning in warnings:
        print(f"warning: {warning}")
    if failed:
        print(f"\nNOT REPRODUCED: {len(failed)} of {len(rows)} metrics differ by more than that")
    else:
        print(f"\nREPRODUCED: all {len(rows)} metrics within {tolerance:g}")
    return not failed


def _environment_warnings(run_dir: Path, seed: int, accelerator: str) -> list[str]:
    saved_file = run_dir / ENVIRONMENT_FILE
    if not saved_file.is_file():
        return [f"{run_dir} has no {ENVIRONMENT_FILE}: versions and commit cannot be checked"]
    try:
        saved = json.loads(saved_file.read_text())
    except (OSError, ValueError) as error:  # a damaged record only costs the comparison
        return [f"{saved_file} cannot be read ({error}): versions and commit cannot be checked"]
    changes = environment_changes(saved, environment_record(seed, accelerator))
    return [f"the environment differs from the original run's: {change}" for change in changes]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cnnlab-reproduce",
        description="Rerun a run's saved config and compare its metrics with the original's.",
    )
    parser.add_argument("run_dir", type=Path, help="the run directory to reproduce")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        help="largest accepted |delta| per metric (default 0: exact, as on a CPU)",
    )
    parser.add_argument(
        "--trust",
        action="store_true",
        help="run a config that instantiates more than cnnlab uses (see cnnlab.config.trust)",
    )
    parser.add_argument(
        "--output-dir", type=Path, help=f"where the rerun goes (default: RUN_DIR{REPRODUCE_SUFFIX})"
    )
    return parser.parse_args(argv)


@report_errors
def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if not reproduce(args.run_dir, args.tolerance, args.trust, args.output_dir):
        sys.exit(1)


if __name__ == "__main__":
    main()
