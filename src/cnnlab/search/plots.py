"""A search as pictures: Optuna's matplotlib visualisations, saved as PNGs in the sweep dir.

Optimisation history, parameter importances, a contour of the two most important parameters
(a slice plot when there is one parameter) and the intermediate values each trial reported
(pruned trials stop early there); the Pareto front for several objectives. A plot the study
cannot support yet (importances need two complete trials) is skipped with a note.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from cnnlab.runs.atomic import write_atomic
from cnnlab.runs.layout import PLOT_PREFIX

log = logging.getLogger(__name__)


def write_plots(study: optuna.Study, objectives: list[str], sweep_dir: Path) -> list[Path]:
    """Write what the study supports as <sweep dir>/optuna_<name>.png; returns those written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as views

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    target = _first_objective(objectives) if len(objectives) > 1 else {}
    plots: dict[str, Callable[[], Any]] = {
        "history": lambda: views.plot_optimization_history(study, **target),
        "intermediate_values": lambda: views.plot_intermediate_values(study),
    }
    if len(complete) >= 2:
        by_value = {"target": target["target"]} if target else {}
        important = list(optuna.importance.get_param_importances(study, **by_value))[:2]
        plots["importances"] = lambda: views.plot_param_importances(study, **target)
        if len(important) == 2:
            plots["contour"] = lambda: views.plot_contour(study, params=important, **target)
        else:
            plots["slice"] = lambda: views.plot_slice(study, params=important, **target)
    else:
        log.info("parameter importances need two complete trials: not drawn yet")
    if len(objectives) > 1:
        plots["pareto_front"] = lambda: views.plot_pareto_front(study, target_names=objectives)
    written = []
    for name, draw in plots.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "experimental" warnings of Optuna's matplotlib API
            drawn = draw()
        figure = _figure(drawn)
        path = sweep_dir / f"{PLOT_PREFIX}{name}.png"
        write_atomic(path, lambda handle, figure=figure: figure.savefig(handle, format="png"))
        plt.close(figure)
        written.append(path)
    return written


def _first_objective(objectives: list[str]) -> dict[str, Any]:
    """Single-objective plots of a multi-objective study show its first objective."""
    return {"target": lambda t: t.values[0], "target_name": objectives[0]}


def _figure(drawn: Any) -> Any:
    """Optuna returns an Axes, or an array of Axes for several panels."""
    axes = drawn.flat[0] if hasattr(drawn, "flat") else drawn
    return axes.figure
