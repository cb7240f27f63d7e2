"""Config mistakes become one sentence naming the key and what it should be."""

from __future__ import annotations

import logging
import os

import pytest
import torch

from cnnlab.config.validation import validate_choices, validate_config, validate_devices
from cnnlab.errors import ConfigError


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["trainer.max_epochs=abc"], "trainer.max_epochs='abc' (str) has the wrong type"),
        (["trainer.max_epochs=abc"], "expects int or None"),
        (["data.batch_size=1.5"], "data.batch_size=1.5 (float)"),
        (["trainer.precision=bf16x"], "'bf16-mixed'"),
        (["model.channels=[a,b]"], "model.channels"),
        (["model.pool=median"], "one of 'max', 'avg', 'none'"),
        (
            ["+model.depth=3"],
            "model.depth is not an argument of cnnlab.models.simple_cnn.SimpleCNN",
        ),
        (["seed=abc"], "seed='abc' must be of type int"),
        (["data=image_folder"], "missing required value(s): data.num_classes, data.root"),
        (["task.optimizer._target_=torch.optim.Nope"], "cannot be imported"),
    ],
)
def test_bad_value_is_named(compose_train, overrides: list[str], expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        validate_config(compose_train(overrides))
    assert expected in str(error.value)


def test_good_overrides_pass(compose_train) -> None:
    validate_config(
        compose_train(["trainer.max_epochs=3", "task.optimizer.lr=1e-3", "data.batch_size=32"])
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("task.optimizer.lr=0", "task.optimizer.lr=0 must be > 0"),
        ("task.optimizer.lr=-0.01", "task.optimizer.lr=-0.01 must be > 0"),
        ("data.batch_size=0", "data.batch_size=0 must be at least 1"),
        ("data.image_size=0", "data.image_size=0 must be at least 1"),
        ("trainer.max_epochs=0", "trainer.max_epochs=0 must be at least 1 (or -1"),
        ("trainer.max_epochs=-2", "trainer.max_epochs=-2 must be at least 1 (or -1"),
    ],
)
def test_values_that_cannot_train_are_refused(compose_train, override: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        validate_config(compose_train([override]))
    assert str(error.value).startswith(expected)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("task.optimizer.lr=2", "task.optimizer.lr=2 is above 1"),
        ("trainer.max_epochs=-1", "trainer.max_epochs=-1 trains until stopped"),
    ],
)
def test_legal_but_suspicious_values_warn(compose_train, caplog, override, expected) -> None:
    with caplog.at_level(logging.WARNING, logger="cnnlab.config.validation"):
        validate_config(compose_train([override]))
    assert [r.getMessage() for r in caplog.records if expected in r.getMessage()]


def test_sensible_values_do_not_warn(compose_train, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="cnnlab.config.validation"):
        validate_config(compose_train(["task.optimizer.lr=1", "trainer.max_epochs=1"]))
    assert not caplog.records


CORES = len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    "devices",
    [str(CORES + 1), "[" + ",".join(map(str, range(CORES + 1))) + "]"],  # a count, a list of ids
)
def test_more_cpu_processes_than_cores_are_refused(compose_train, devices: str) -> None:
    with pytest.raises(ConfigError) as error:
        validate_devices(compose_train([f"trainer.devices={devices}"]))
    assert str(error.value) == (
        f"trainer.devices={CORES + 1} asks for more processes than this machine has CPU cores "
        f"({CORES}): set trainer.devices={CORES} or fewer"
    )


def test_more_gpus_than_the_machine_has_are_refused(compose_train) -> None:
    cfg = compose_train(["trainer=gpu", f"trainer.devices={torch.cuda.device_count() + 1}"])
    with pytest.raises(ConfigError, match=r"this machine has GPUs \(\d+\)"):
        validate_devices(cfg)


@pytest.mark.parametrize("devices", ["1", "auto", "-1"])
def test_devices_this_machine_has_pass(compose_train, devices: str) -> None:
    validate_devices(compose_train([f"trainer.devices={devices}"]))


def test_an_unknown_option_of_an_optional_group_lists_the_options() -> None:
    options = {"experiment": ["digits_cnn", "digits_ae"], "debug": ["fast_dev_run"]}
    validate_choices({"experiment": "digits_cnn", "debug": None}, options.get)
    with pytest.raises(ConfigError) as error:
        validate_choices({"experiment": "digits_cnn", "debug": "fast_dev_rn"}, options.get)
    assert str(error.value) == (
        "debug=fast_dev_rn is not a config in conf/debug/; choose one of: fast_dev_run"
    )
