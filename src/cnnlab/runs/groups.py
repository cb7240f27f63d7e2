"""Results across seeds: runs grouped by some config keys, every metric as n, mean ± sd, min, max.

One seed is an anecdote; `cnnlab-compare --group-by model` (and a sweep summary over `seed`)
aggregates the runs that differ only in the remaining keys. `--baseline model=cnn` adds, per
group, the difference to that group paired by seed (same seed, same data order and init), with
the number of seeds on which the group wins; "wins" follows each metric's direction.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from cnnlab.errors import ConfigError
from cnnlab.runs.catalog import RunRecord, show, swept_keys
from cnnlab.runs.layout import METRICS_FILE
from cnnlab.runs.tables import render

SEED_KEY = "seed"  # what pairs runs with the baseline
# metric names (last part) that are better when lower; every other metric is better when higher
_LOWER_IS_BETTER = ("loss", "mse", "mae", "error", "kl", "nll")


@dataclass(frozen=True)
class Spread:
    """n, mean, sample standard deviation (ddof=1; 0 for one value), min and max of a metric."""

    n: int
    mean: float
    sd: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return cls(len(values), statistics.mean(values), sd, min(values), max(values))

    def text(self, signed: bool = False) -> str:
        """'mean ± sd' (only the mean for one value), three decimals."""
        mean = f"{self.mean:+.3f}" if signed else f"{self.mean:.3f}"
        return f"{mean} ± {self.sd:.3f}" if self.n > 1 else mean


@dataclass(frozen=True)
class Paired:
    """Differences group - baseline on their common seeds; wins: seeds where the group is better."""

    differences: Spread
    wins: int


def paired(values: dict[int, float], baseline: dict[int, float], higher_better: bool) -> Paired:
    """Pair by seed; a seed missing from either side is left out."""
    seeds = sorted(set(values) & set(baseline))
    if not seeds:
        raise ConfigError("the group and its baseline share no seed; run both with the same seeds")
    diffs = [values[s] - baseline[s] for s in seeds]
    wins = sum((d > 0) if higher_better else (d < 0) for d in diffs)
    return Paired(Spread.of(diffs), wins)


def higher_is_better(metric: str, records: list[RunRecord]) -> bool:
    """The objective's own mode for the objective metric, else by name (losses: lower)."""
    for record in records:
        if record.objective == metric:
            return record.objective_mode == "max"
    return not any(word in metric.rsplit("/", 1)[-1] for word in _LOWER_IS_BETTER)


def group_runs(records: list[RunRecord], keys: list[str]) -> dict[tuple[str, ...], list[RunRecord]]:
    """Finished runs by their values of `keys` (config keys or group choices such as `model`)."""
    finished = [r for r in records if r.metrics]
    if not finished:
        raise ConfigError(f"no finished run (none has {METRICS_FILE}) to group")
    for key in keys:
        if not any(key in r.config for r in finished):
            known = sorted({k for r in finished for k in r.config if "." not in k})
            raise ConfigError(
                f"--group-by {key}: no run has that config key; use a dotted config path "
                f"(e.g. task.optimizer.lr) or a config group such as {', '.join(known[:6])}"
            )
    groups: dict[tuple[str, ...], list[RunRecord]] = {}
    for record in finished:
        groups.setdefault(tuple(_cell(record, k) for k in keys), []).append(record)
    return groups


def parse_baseline(spec: str, keys: list[str]) -> tuple[str, ...]:
    """`KEY=VALUE[,KEY=VALUE]` over exactly the grouping keys -> the baseline group's values."""
    pairs = dict(part.split("=", 1) for part in spec.split(",") if "=" in part)
    if sorted(pairs) != sorted(keys) or spec.count("=") != len(keys):
        wanted = ",".join(f"{k}=VALUE" for k in keys)
        raise ConfigError(f"--baseline {spec}: give one value per grouping key, as {wanted}")
    return tuple(pairs[k] for k in keys)


def group_table(
    records: list[RunRecord], keys: list[str], baseline: str | None = None, fmt: str = "md"
) -> str:
    """One row per group and metric: n, mean ± sd, min, max (+ paired difference, wins)."""
    groups = group_runs(records, keys)
    base = parse_baseline(baseline, keys) if baseline else None
    if base is not None and base not in groups:
        raise ConfigError(
            f"--baseline {baseline}: no such group; the groups are "
            + "; ".join(",".join(f"{k}={v}" for k, v in zip(keys, g, strict=True)) for g in groups)
        )
    metrics = sorted({m for runs in groups.values() for r in runs for m in r.metrics})
    stats = ["mean", "sd"] if fmt == "csv" else ["mean ± sd"]
    extra = (["diff mean", "diff sd", "wins"] if fmt == "csv" else ["diff ± sd", "wins"]) * bool(
        base
    )
    columns = [*keys, "metric", "n", *stats, "min", "max", *extra]
    rows = []
    for values, runs in groups.items():
        for metric in metrics:
            found = [r.metrics[metric] for r in runs if metric in r.metrics]
            if not found:
                continue
            spread = Spread.of(found)
            row = {**dict(zip(keys, values, strict=True)), "metric": metric, "n": str(spread.n)}
            row.update(_spread_cells(spread, fmt, signed=False, names=("mean", "sd", "mean ± sd")))
            row.update(
                {"min": show(spread.low, fmt == "csv"), "max": show(spread.high, fmt == "csv")}
            )
            if base is not None and values != base:
                diff = paired(
                    _by_seed(runs, metric),
                    _by_seed(groups[base], metric),
                    higher_is_better(metric, records),
                )
                row.update(
                    _spread_cells(
                        diff.differences, fmt, True, ("diff mean", "diff sd", "diff ± sd")
                    )
                )
                row["wins"] = f"{diff.wins}/{diff.differences.n}"
            rows.append(row)
    return render(columns, rows, fmt)


def _by_seed(runs: list[RunRecord], metric: str) -> dict[int, float]:
    """Metric values keyed by seed, for pairing; two runs of one group with one seed differ in
    a key the grouping left out, so they cannot be paired."""
    found: dict[int, float] = {}
    for run in runs:
        if metric in run.metrics:
            seed = run.config.get(SEED_KEY)
            if seed in found:
                raise ConfigError(
                    f"--baseline: {run.path} and another run of its group share {SEED_KEY}={seed}; "
                    "add the key they differ in to --group-by"
                )
            found[seed] = run.metrics[metric]
    return found


def _spread_cells(
    spread: Spread, fmt: str, signed: bool, names: tuple[str, str, str]
) -> dict[str, str]:
    if fmt == "csv":
        return {names[0]: repr(spread.mean), names[1]: repr(spread.sd)}
    return {names[2]: spread.text(signed)}


def _cell(record: RunRecord, key: str) -> str:
    value = record.config.get(key)
    return "-" if key not in record.config else "null" if value is None else show(value, True)


def across_seeds_section(jobs: list[RunRecord], sweep_dir: Path) -> str:
    """For a sweep summary whose sweep varies `seed`: the group table over the other swept keys
    (empty when seed is not swept or no job has finished yet)."""
    swept = swept_keys(sweep_dir)
    if SEED_KEY not in swept or not any(job.metrics for job in jobs):
        return ""
    keys = sorted(swept - {SEED_KEY})
    grouped = f"grouped by {', '.join(keys)}" if keys else "all jobs"
    return f"\n## Across seeds ({grouped})\n\n" + group_table(jobs, keys)
