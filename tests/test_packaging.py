"""conf/ ships inside the wheel: configs are found from an installed (non-editable) package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("cnnlab-*.whl")
    return path


def test_wheel_contains_every_config(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for config in (ROOT / "conf").rglob("*.yaml"):
        assert f"cnnlab/conf/{config.relative_to(ROOT / 'conf')}" in names
    packages = {
        p.parent.relative_to(ROOT / "src") for p in (ROOT / "src/cnnlab").rglob("__init__.py")
    }
    for package in packages:
        assert f"{package}/__init__.py" in names, f"{package} missing: add it to pyproject packages"


def test_installed_wheel_composes(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)  # a wheel is a zip laid out as site-packages
    code = (
        "import cnnlab.conf, hydra;"
        "from hydra import compose, initialize_config_module;"
        "initialize_config_module('cnnlab.conf', version_base='1.3').__enter__();"
        "cfg = compose('train');"
        "print(cnnlab.conf.__file__); print(cfg.model._target_)"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    conf_file, target_name = result.stdout.split()
    assert conf_file.startswith(str(target))  # not the source tree's conf/
    assert target_name == "cnnlab.models.simple_cnn.SimpleCNN"
