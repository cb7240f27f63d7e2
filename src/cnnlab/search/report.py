"""study.md: what a search found, in words a user can act on.

The best trial's run directory and a ready-to-paste command that rebuilds it, the counts of
complete/pruned/failed trials, and for several objectives the Pareto front (the trials no
other trial beats on every objective). The sweep summary (summary.md) includes it.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from cnnlab.runs.atomic import write_text_atomic
from cnnlab.runs.layout import STUDY_REPORT
from cnnlab.runs.tables import render
from cnnlab.search.driver import OVERRIDES_ATTR, RUN_DIR_ATTR


def write_report(study: optuna.Study, objectives: list[str], sweep_dir: Path) -> Path:
    """Write <sweep dir>/study.md; returns its path."""
    return write_text_atomic(sweep_dir / STUDY_REPORT, report(study, objectives))


def report(study: optuna.Study, objectives: list[str]) -> str:
    trials = study.get_trials(deepcopy=False)
    counts = {state: sum(t.state == state for t in trials) for state in TrialState}
    count_text = ", ".join(f"{n} {s.name.lower()}" for s, n in counts.items() if n)
    goals = ", ".join(f"{name} ({d.name.lower()})" for name, d in zip(objectives, study.directions))
    lines = [
        f"## Optuna study {study.study_name}",
        "",
        f"- objectives: {goals}",
        f"- trials in the study: {len(trials)} ({count_text or 'none'})",
    ]
    best = study.best_trials
    if not best:
        return "\n".join([*lines, "- no trial completed", ""])
    if len(objectives) == 1:
        lines += _best(best[0], objectives)
    else:
        lines += ["", f"### Pareto front ({len(best)} trials)", "", _front(best, objectives)]
    return "\n".join(lines) + "\n"


def _best(trial: FrozenTrial, objectives: list[str]) -> list[str]:
    return [
        f"- best: trial {trial.number}, {objectives[0]} = {trial.values[0]:.4g}",
        f"- its run directory: {trial.user_attrs.get(RUN_DIR_ATTR, '(unknown)')}",
        "- rerun it:",
        "",
        "```bash",
        command(trial),
        "```",
    ]


def _front(trials: list[FrozenTrial], objectives: list[str]) -> str:
    columns = ["trial", *objectives, "run_dir", "command"]
    rows = [
        {
            "trial": str(t.number),
            **{name: f"{value:.4g}" for name, value in zip(objectives, t.values)},
            "run_dir": t.user_attrs.get(RUN_DIR_ATTR, ""),
            "command": f"`{command(t)}`",
        }
        for t in sorted(trials, key=lambda t: t.number)
    ]
    return render(columns, rows, "md")


def command(trial: FrozenTrial) -> str:
    """`cnnlab-train` with the trial's overrides: a single run with the same config."""
    overrides = trial.user_attrs.get(OVERRIDES_ATTR) or [
        f"{k}={v}" for k, v in trial.params.items()
    ]
    return " ".join(["cnnlab-train", *(shlex.quote(o) for o in overrides)])
