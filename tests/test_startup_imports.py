"""Commands answer without loading training's libraries: help, printing a config, and the
config mistakes that need no library are instant; torch and Lightning load only to train."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TINY, read_json, run_dirs

HEAVY = ("torch", "pytorch_lightning", "lightning_fabric", "timm", "segmentation_models_pytorch")

# a console script in-process, then the heavy modules it loaded (whatever the exit status)
PROBE = """
import sys
sys.argv = [{name!r}, *{args!r}]
try:
    from {module} import main
    main()
except SystemExit:
    pass
finally:
    print("LOADED", sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def loaded(module: str, args: list[str], cwd: Path) -> tuple[list[str], str]:
    code = PROBE.format(name=module, args=args, module=module, heavy=HEAVY)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    line = next(x for x in result.stderr.splitlines() if x.startswith("LOADED"))
    return ast.literal_eval(line.removeprefix("LOADED ")), result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("cnnlab.cli.train", ["--help"]),
        ("cnnlab.cli.train", ["--cfg", "job"]),
        ("cnnlab.cli.train", ["--info"]),
        ("cnnlab.cli.eval", ["--help"]),
        ("cnnlab.cli.compare", ["--help"]),
        ("cnnlab.cli.reproduce", ["--help"]),
        ("cnnlab.cli.predict", ["--help"]),
    ],
)
def test_help_and_printed_configs_load_no_training_library(
    tmp_path: Path, module: str, args: list[str]
) -> None:
    heavy, output = loaded(module, args, tmp_path)
    assert heavy == [], output
    assert "cnnlab" in output or "data:" in output  # it did answer


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("task.optimizer.lr=0", "task.optimizer.lr=0 must be > 0"),
        ("trainer.max_epochs=0", "trainer.max_epochs=0"),
        ("experiment=nope", "experiment=nope is not a config in conf/experiment/"),
    ],
)
def test_a_config_mistake_is_reported_before_torch_loads(
    tmp_path: Path, override: str, message: str
) -> None:
    heavy, output = loaded("cnnlab.cli.train", [override], tmp_path)
    assert message in output
    assert heavy == [], output
    assert not (tmp_path / "outputs").exists() or not list((tmp_path / "outputs").rglob(".hydra"))


def test_composing_and_checking_values_imports_no_training_library(tmp_path: Path) -> None:
    code = f"""
import sys
from hydra import compose, initialize_config_module
from cnnlab.config.resolvers import register_resolvers
from cnnlab.config.validation import validate_values
register_resolvers()
with initialize_config_module("cnnlab.conf", version_base="1.3"):
    for overrides in ([], ["experiment=canvas_unet"], ["model=resnet18"], ["experiment=digits_ae"]):
        validate_values(compose("train", overrides=overrides))
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# a whole default run in one interpreter, then the modules it loaded
DEFAULT_RUN = """
import sys
from cnnlab.cli.train import main

sys.argv = ["cnnlab-train", *sys.argv[1:]]
main()
print(*sorted(sys.modules))
"""


def test_a_default_run_loads_neither_timm_nor_smp(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", DEFAULT_RUN, *TINY, "trainer.max_epochs=1"],
        cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(tmp_path / "outputs")
    assert "test/acc" in read_json(run_dir / "metrics.json")
    modules = set(result.stdout.splitlines()[-1].split())
    assert {"torch", "pytorch_lightning"} <= modules  # it did train, in this process
    assert not modules & {"timm", "segmentation_models_pytorch"}
