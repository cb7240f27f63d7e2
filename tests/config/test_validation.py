"""Config mistakes become one sentence naming the key and what it should be."""

from __future__ import annotations

import pytest

from cnnlab.config.validation import validate_config
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
