"""`cnnlab-compare PATH...`: a table of runs showing only the config keys that differ, plus metrics.

PATHs are run directories or folders holding runs (sweep directories, `outputs/`). Config keys
are the saved `.hydra/config.yaml` flattened (`task.optimizer.lr`) plus the config group options
chosen (`model`: resnet18); a key missing from some runs (e.g. runs of different tasks) differs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnnlab.cli import report_errors
from cnnlab.errors import ConfigError
from cnnlab.runs.catalog import RunRecord, find_runs, show
from cnnlab.runs.groups import group_table
from cnnlab.runs.tables import FORMATS, render


def differing_keys(records: list[RunRecord]) -> list[str]:
    """Config keys whose value is not the same in every run (missing counts as a value)."""
    keys = sorted({key for record in records for key in record.config})
    return [key for key in keys if len({config_cell(r, key, precise=True) for r in records}) > 1]


def config_cell(record: RunRecord, key: str, precise: bool = False) -> str:
    """A config value as a cell: `null` when set to None, `-` when the run has no such key."""
    if key not in record.config:
        return "-"
    value = record.config[key]
    return "null" if value is None else show(value, precise)


def matches(record: RunRecord, condition: str) -> bool:
    """`key=value` on a config key, metric or `status`; numbers compare as numbers (1e-3=0.001)."""
    key, _, expected = condition.partition("=")
    values = {**record.config, **record.metrics, "status": record.status}
    if key not in values:
        return False
    actual = values[key]
    try:
        return float(actual) == float(expected)
    except (TypeError, ValueError):
        return show(actual) == expected


def sort_key(key: str) -> Any:
    """Sort by a metric or config key; runs without it go last."""

    def value(record: RunRecord) -> tuple[int, Any, str]:
        found = record.metrics.get(key, record.config.get(key))
        if found is None:
            return (2, 0, "")
        if isinstance(found, int | float) and not isinstance(found, bool):
            return (0, found, "")
        return (1, 0, show(found))

    return value


def compare_table(
    records: list[RunRecord],
    sort: str | None = None,
    descending: bool = False,
    fmt: str = "md",
) -> str:
    if sort:
        present = [r for r in records if sort in r.metrics or sort in r.config]
        if not present:
            raise ConfigError(f"--sort {sort}: no run has that metric or config key")
        ordered = sorted(present, key=sort_key(sort), reverse=descending)
        records = ordered + [r for r in records if r not in present]
    keys = differing_keys(records) if len(records) > 1 else []
    metrics = sorted({name for record in records for name in record.metrics})
    # why a run failed or cannot be read (a damaged run is a row, not the end of the table)
    errors = ["error"] if any(record.error for record in records) else []
    columns = ["run", "status", *keys, *metrics, *errors]
    rows = [
        {
            "run": str(record.path),
            "status": record.status,
            "error": record.error or "",
            **{key: config_cell(record, key, fmt == "csv") for key in keys},
            **{name: show(record.metrics.get(name), fmt == "csv") for name in metrics},
        }
        for record in records
    ]
    return render(columns, rows, fmt)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cnnlab-compare",
        description="Compare runs: the config keys that differ between them, and their metrics.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="run directories or folders of runs")
    parser.add_argument("--sort", metavar="KEY", help="a metric or config key, e.g. val/acc")
    parser.add_argument("--desc", action="store_true", help="sort descending (best val/acc first)")
    parser.add_argument("--format", choices=FORMATS, default="md", help="md (default) or csv")
    parser.add_argument(
        "--filter",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="keep runs whose config key, metric or status has this value (repeatable), "
        "e.g. --filter model=resnet18 --filter status=ok",
    )
    parser.add_argument(
        "--group-by",
        metavar="KEY[,KEY]",
        help="across seeds: per group of these config keys (e.g. model), every metric's n, "
        "mean ± sd, min and max over the runs that differ only in the other keys",
    )
    parser.add_argument(
        "--baseline",
        metavar="KEY=VALUE",
        help="with --group-by: each group's difference to this group, paired by seed, and wins/n",
    )
    parser.add_argument(
        "--plots",
        action="store_true",
        help="for the sweep directory of an Optuna search: (re)draw its plots as PNGs there",
    )
    return parser.parse_args(argv)


def draw_search_plots(sweep_dirs: list[Path]) -> None:
    """Optuna's plots of each search into its sweep directory (paths printed on stderr)."""
    from cnnlab.search.driver import load_recorded_study
    from cnnlab.search.plots import write_plots

    for sweep_dir in sweep_dirs:
        study, objectives = load_recorded_study(sweep_dir)
        for path in write_plots(study, objectives, sweep_dir):
            print(f"wrote {path}", file=sys.stderr)


@report_errors
def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    for condition in args.filter:
        if "=" not in condition:
            raise ConfigError(f"--filter {condition}: write it as KEY=VALUE, e.g. model=resnet18")
    if args.plots:
        draw_search_plots(args.paths)
    records = [r for r in find_runs(args.paths) if all(matches(r, c) for c in args.filter)]
    if not records:
        raise ConfigError(f"no run matches {' and '.join(args.filter)}")
    if args.baseline and not args.group_by:
        raise ConfigError("--baseline needs --group-by, e.g. --group-by model --baseline model=cnn")
    if args.group_by:
        keys = [key for key in args.group_by.split(",") if key]
        sys.stdout.write(group_table(records, keys, args.baseline, args.format))
        return
    sys.stdout.write(compare_table(records, args.sort, args.desc, args.format))


if __name__ == "__main__":
    main()
