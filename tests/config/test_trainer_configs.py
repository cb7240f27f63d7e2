"""conf/trainer/*: every trainer config composes with every experiment and builds a Trainer."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from cnnlab.config.validation import validate_config
from cnnlab.errors import ConfigError

CONF = Path(__file__).resolve().parents[2] / "conf"
TRAINERS = sorted(p.stem for p in (CONF / "trainer").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
EXPECTED = {  # what each config promises: (accelerator, strategy, devices, num_nodes)
    "cpu": ("cpu", "auto", 1, 1),
    "gpu": ("gpu", "auto", 1, 1),
    "ddp": ("gpu", "ddp", -1, 1),
    "ddp_cpu": ("cpu", "ddp", 2, 1),
    "multinode": ("gpu", "ddp", -1, 2),
}


def test_the_documented_trainer_configs_exist() -> None:
    assert set(EXPECTED) <= set(TRAINERS)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
@pytest.mark.parametrize("trainer", sorted(EXPECTED))
def test_trainer_config_overrides_any_experiment(
    trainer: str, experiment: str, compose_train
) -> None:
    """The trainer's settings apply, except the ones the experiment sets itself (which win)."""
    cfg = compose_train([f"experiment={experiment}", f"trainer={trainer}"])
    expected = dict(zip(("accelerator", "strategy", "devices", "num_nodes"), EXPECTED[trainer]))
    experiment_trainer = OmegaConf.load(CONF / "experiment" / f"{experiment}.yaml").get("trainer")
    expected.update(experiment_trainer or {})
    assert {key: cfg.trainer[key] for key in expected} == expected


@pytest.mark.parametrize("trainer", sorted(EXPECTED))
@pytest.mark.parametrize("precision", ["32-true", "16-mixed", "bf16-mixed"])
def test_trainer_configs_validate_with_each_precision(trainer, precision, compose_train) -> None:
    validate_config(compose_train([f"trainer={trainer}", f"trainer.precision={precision}"]))


def test_unknown_precision_is_a_config_error(compose_train) -> None:
    with pytest.raises(ConfigError, match=r"trainer\.precision"):
        validate_config(compose_train(["trainer.precision=bf32"]))


@pytest.mark.parametrize("trainer", ["cpu", "ddp_cpu"])
def test_cpu_trainer_configs_build_a_trainer(trainer: str, compose_train) -> None:
    cfg = compose_train([f"trainer={trainer}", "trainer.precision=bf16-mixed"])
    built = instantiate(cfg.trainer, logger=False)
    assert built.num_devices == cfg.trainer.devices
    assert type(built.strategy).__name__ == (
        "DDPStrategy" if trainer == "ddp_cpu" else "SingleDeviceStrategy"
    )
    assert built.precision == "bf16-mixed"
