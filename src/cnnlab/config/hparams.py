"""What a run tells its loggers about its config: TensorBoard's HParams table, MLflow's params.

The HParams table reads best when the settings someone chose lead: the run's command-line
overrides come first (in a sweep only the swept keys, the ones that differ between its jobs),
`_target_`s are class names, and null keys are left out. The whole config stays in
`.hydra/config.yaml`; other loggers (MLflow, CSV) get every non-null key, overrides first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from cnnlab.config.flatten import flatten
from cnnlab.runs.catalog import swept_keys
from cnnlab.runs.layout import OVERRIDES_FILE

# parts of the config that say where and how a run is recorded, not what it trains
NOT_HPARAMS = ("paths", "callbacks", "logger", "hydra")
SEPARATOR = "/"  # task/optimizer/lr: TensorBoard groups columns by it


def run_hparams(resolved: dict[str, Any], run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the HParams table's columns, every setting) for the run in `run_dir`."""
    settings = {
        key: value
        for key, value in flatten(
            {k: v for k, v in resolved.items() if k not in NOT_HPARAMS}, SEPARATOR
        ).items()
        if value is not None
    }
    chosen = overridden(_overrides(run_dir / OVERRIDES_FILE), settings)
    everything = {**chosen, **settings}
    swept = {key.replace(".", SEPARATOR) for key in swept_keys(run_dir.parent)}
    table = {k: v for k, v in chosen.items() if k in swept} if swept else everything
    return {k: shown(k, v) for k, v in table.items()}, {
        k: shown(k, v) for k, v in everything.items()
    }


def overridden(overrides: list[str], settings: dict[str, Any]) -> dict[str, Any]:
    """Each override as `key/path: value`, in command-line order; a group choice (`model=cnn`)
    is `model: cnn`. Values come from the config where it has the key (typed, interpolated)."""
    chosen = {}
    for override in overrides:
        key, _, value = override.lstrip("+~").partition("=")
        if key.split(".")[0] in NOT_HPARAMS or not value:
            continue
        key = key.replace(".", SEPARATOR)
        chosen[key] = settings.get(key, value)
    return chosen


def shown(key: str, value: Any) -> Any:
    """A value TensorBoard can show: numbers, strings and booleans as they are, a `_target_` as
    its class name, anything else as text."""
    if key.endswith("_target_") and isinstance(value, str):
        return value.rsplit(".", 1)[-1]
    return value if isinstance(value, int | float | str | bool) else str(value)


def _overrides(path: Path) -> list[str]:
    return [str(o) for o in OmegaConf.load(path)] if path.is_file() else []
