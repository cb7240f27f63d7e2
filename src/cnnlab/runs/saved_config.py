"""Running an earlier run's saved config again: to resume it in place, or to reproduce it.

The saved `.hydra/config.yaml` is what ran (every override applied), so we execute it as is
instead of composing conf/ again: later edits to conf/ cannot change a resumed or reproduced
run. Its `${hydra:...}` interpolations are answered from the run's saved `.hydra/hydra.yaml`,
with the output directory pointed at where the new work goes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import setup_globals
from omegaconf import DictConfig, OmegaConf, open_dict

from cnnlab.config.trust import check_no_interpolation, check_trusted
from cnnlab.errors import ConfigError
from cnnlab.runs.atomic import write_text_atomic
from cnnlab.runs.layout import CONFIG_FILE, HYDRA_DIR, HYDRA_FILE
from cnnlab.runs.records import read_yaml_record

# the parts of hydra.yaml a rerun uses (the job reads runtime and job values; DDP ranks compose
# their config from the overrides)
_HYDRA_PARTS = ("runtime", "job", "overrides")


def load_run_config(run_dir: Path, trust: bool = False) -> DictConfig:
    """The run's job config, with Hydra's job state (HydraConfig) set from its hydra.yaml.

    A config is code (`_target_`), so targets outside the trusted libraries need `trust`.
    Then `place_run` says where the new work goes.
    """
    config_file = run_dir / CONFIG_FILE
    hydra_file = run_dir / HYDRA_FILE
    if not config_file.is_file() or not hydra_file.is_file():
        raise ConfigError(
            f"{run_dir} is not a cnnlab run directory (no {CONFIG_FILE} and {HYDRA_FILE}); "
            "give a directory that cnnlab-train created"
        )
    cfg = read_yaml_record(config_file)
    hydra_cfg = read_yaml_record(hydra_file)
    # unresolved: a `_target_` written as an interpolation is refused rather than guessed at
    check_trusted(OmegaConf.to_container(cfg, resolve=False), str(config_file), trust)
    check_hydra_record(hydra_cfg, hydra_file, trust)
    setup_globals()  # Hydra's `hydra` and `now` resolvers, which a job started by Hydra has
    # what run_job does; HydraConfig.set_config would insist on Hydra's typed schema
    HydraConfig.instance().cfg = hydra_cfg
    return cfg


def check_hydra_record(hydra_cfg: DictConfig, hydra_file: Path, trust: bool) -> None:
    """What the job takes from hydra.yaml: `${hydra:runtime...}`/`${hydra:job...}` values, which
    must be plain, and the overrides that DDP ranks compose their config from.

    Read as plain containers: going through OmegaConf nodes would resolve interpolations first.
    """
    raw = OmegaConf.to_container(hydra_cfg, resolve=False)
    node = raw.get("hydra") if isinstance(raw, dict) else None
    parts = {part: node.get(part) if isinstance(node, dict) else None for part in _HYDRA_PARTS}
    overrides = parts["overrides"]
    if not all(isinstance(value, dict) for value in parts.values()) or not all(
        isinstance(overrides.get(kind), list) for kind in ("hydra", "task")
    ):
        raise ConfigError(
            f"{hydra_file} is not Hydra's record of a run (hydra.runtime, hydra.job and "
            "hydra.overrides are missing or not plain); is the run directory damaged?"
        )
    for part in ("runtime", "job"):
        check_no_interpolation(parts[part], f"{hydra_file} (hydra.{part})", trust)
    as_config = {
        str(override).split("=", 1)[0].lstrip("+~"): str(override).split("=", 1)[-1]
        for kind in ("hydra", "task")
        for override in overrides[kind]
    }
    check_trusted(as_config, f"{hydra_file} (hydra.overrides)", trust)


def place_run(cfg: DictConfig, output_dir: Path) -> None:
    """Point the job (`${hydra:runtime.output_dir}`, `paths.output_dir`) at `output_dir`."""
    hydra_cfg = HydraConfig.get()
    with open_dict(hydra_cfg):
        hydra_cfg.runtime.output_dir = str(output_dir.resolve())
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir.resolve())


def copy_run_record(run_dir: Path, output_dir: Path) -> None:
    """Give `output_dir` the saved config files, so it can be resumed or reproduced in turn."""
    shutil.copytree(run_dir / HYDRA_DIR, output_dir / HYDRA_DIR, dirs_exist_ok=True)
    write_text_atomic(output_dir / HYDRA_FILE, OmegaConf.to_yaml(HydraConfig.instance().cfg))
