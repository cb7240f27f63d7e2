"""The trust boundary itself: exact import paths, side-effect-free resolvers, nothing imported."""

from __future__ import annotations

import re
import sys
from importlib import resources
from pathlib import Path

import pytest
from hydra.utils import get_object
from omegaconf import OmegaConf

from cnnlab.config.resolvers import register_resolvers
from cnnlab.config.trust import ALLOWED_TARGETS, allowed, check_trusted, conf_targets
from cnnlab.errors import ConfigError
from cnnlab.runs.saved_config import check_hydra_record

CONF = Path(str(resources.files("cnnlab.conf")))
TOUCH = "touch /tmp/cnnlab-pwned"


def written_targets() -> set[str]:
    """Every `_target_` in conf/, read as text (not by the code under test)."""
    pattern = re.compile(r"^\s*_target_:\s*(\S+)\s*$", re.M)
    return {t for path in CONF.rglob("*.yaml") for t in pattern.findall(path.read_text())}


def test_every_target_in_conf_is_allowed() -> None:
    targets = written_targets()
    assert len(targets) > 30  # the models, data modules, tasks, callbacks, losses, optimizers
    assert targets <= conf_targets()
    assert all(allowed(target) for target in targets)


@pytest.mark.parametrize("target", sorted(ALLOWED_TARGETS | conf_targets()))
def test_each_allowed_path_names_itself(target: str) -> None:
    """No entry is an attribute chain to something else (as `torch.os.system` would be): each
    imports as a class or function of its own package, under its own name."""
    obj = get_object(target)
    assert isinstance(obj, type) or callable(obj)
    assert obj.__module__.split(".")[0] == target.split(".")[0]
    assert obj.__qualname__ == target.rsplit(".", 1)[1]


PAYLOADS = {
    "writes a file": {"model": {"_target_": "cnnlab.runs.sweep_summary._replace", "path": "x"}},
    "torch.save": {"model": {"_target_": "torch.save", "obj": 1, "f": "x"}},
    "starts training": {"model": {"_target_": "cnnlab.studies.transfer.train_run"}},
    "attribute chain": {"model": {"_target_": "torch.os.system", "_args_": [TOUCH]}},
    "chain in cnnlab": {"model": {"_target_": "cnnlab.runs.records.subprocess.call"}},
    "builtins": {"model": {"_target_": "builtins.exec", "_args_": ["1"]}},
    "os.system": {"model": {"_target_": "os.system", "_args_": [TOUCH]}},
    "in a list": {"data": {"transforms": [{"_target_": "os.system", "_args_": [TOUCH]}]}},
    "in callbacks": {"callbacks": {"x": {"_target_": "torch.save"}}},
    "in a logger": {"logger": {"x": {"_target_": "torch.save"}}},
    "via _args_": {
        "model": {
            "_target_": "cnnlab.models.simple_cnn.SimpleCNN",
            "_args_": [{"_target_": "torch.os.system", "_args_": [TOUCH]}],
        }
    },
    "interpolated target": {"model": {"_target_": "${data.evil}"}, "data": {"evil": "os.system"}},
    "creating resolver": {"data": {"root": "${cnnlab.unique_dir:/tmp/cnnlab-pwned}"}},
    "nested resolver": {"data": {"root": "${oc.env:HOME,${cnnlab.unique_dir:/tmp/pwned}}"}},
    "decoded node": {"model": "${oc.decode:'{_target_: os.system}'}"},
    "hydra beyond the job": {"run_name": "${hydra:run.dir}"},
}


@pytest.mark.parametrize("config", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_payloads_are_refused_with_their_keys(config: dict) -> None:
    with pytest.raises(ConfigError, match="--trust") as refused:
        check_trusted(config, "run.ckpt")
    message = str(refused.value)
    assert message.startswith("run.ckpt names code or resolvers")
    # the offending key is named (the first leaf under the payload's top-level key)
    assert re.search(rf"\b{next(iter(config))}[.\[=]", message), message
    check_trusted(config, "run.ckpt", trust=True)  # the explicit escape


def test_nothing_is_imported_to_decide() -> None:
    """Refused on the string alone: `this` prints the Zen of Python when imported."""
    assert "this" not in sys.modules
    with pytest.raises(ConfigError, match=r"model\._target_=this\.s"):
        check_trusted({"model": {"_target_": "this.s"}}, "run.ckpt")
    assert "this" not in sys.modules


def test_a_composed_config_is_trusted_saved_and_resolved(compose_train) -> None:
    """What cnnlab writes is accepted: a run's saved (unresolved) config, with its `${hydra:...}`
    and `${oc.env:...}`, and the resolved one stored in its checkpoints."""
    for overrides in ([], ["experiment=canvas_unet"], ["experiment=digits_vae"]):
        cfg = compose_train(overrides)
        check_trusted(OmegaConf.to_container(cfg, resolve=False), "config.yaml")
        check_trusted(OmegaConf.to_container(cfg, resolve=True), "best.ckpt")


def test_a_user_target_added_by_override_is_allowed_when_cnnlab_lists_it(compose_train) -> None:
    cfg = compose_train(["task.optimizer._target_=torch.optim.SGD"])
    check_trusted(OmegaConf.to_container(cfg, resolve=True), "best.ckpt")
    with pytest.raises(ConfigError, match=r"task\.optimizer\._target_=torch\.optim\.Foo"):
        check_trusted({"task": {"optimizer": {"_target_": "torch.optim.Foo"}}}, "best.ckpt")


@pytest.mark.parametrize(
    "hydra",
    [
        "${cnnlab.unique_dir:VICTIM}",
        {"runtime": {}, "job": {}, "overrides": "${cnnlab.unique_dir:VICTIM}"},
        {
            "runtime": {},
            "job": {},
            "overrides": {"hydra": [], "task": ["a=${cnnlab.unique_dir:VICTIM}"]},
        },
        {
            "runtime": {"output_dir": "${cnnlab.unique_dir:VICTIM}"},
            "job": {},
            "overrides": {"hydra": [], "task": []},
        },
    ],
    ids=["whole section", "overrides node", "an override", "runtime value"],
)
def test_a_saved_hydra_record_is_read_without_resolving_it(hydra: object, tmp_path: Path) -> None:
    """hydra.yaml of a run dir: a resolver anywhere the rerun reads is refused, never run."""
    register_resolvers()
    victim = tmp_path / "victim"
    text = OmegaConf.to_yaml({"hydra": hydra}).replace("VICTIM", str(victim))
    with pytest.raises(ConfigError, match=r"hydra\.yaml.*(damaged|--trust)"):
        check_hydra_record(OmegaConf.create(text), tmp_path / "hydra.yaml", trust=False)
    assert not victim.exists()
