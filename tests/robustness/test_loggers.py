"""Catalogue: a logger that cannot work is one sentence before training, no run dir left."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TINY, run_cli
from tests.robustness.conftest import assert_one_sentence_error


def test_mlflow_not_installed(
    tmp_path: Path, outputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    # at start-up, mark mlflow as unimportable (what an install without the extra looks like)
    (shim / "sitecustomize.py").write_text("import sys\nsys.modules['mlflow'] = None\n")
    monkeypatch.setenv("PYTHONPATH", str(shim))
    result = run_cli("train", "logger=mlflow", *TINY, cwd=tmp_path, check=False)
    assert_one_sentence_error(result, "logger.mlflow needs MLflow", 'pip install -e ".[mlflow]"')
    assert not list(outputs.rglob(".hydra"))


def test_an_unreachable_tracking_server(tmp_path: Path, outputs: Path) -> None:
    result = run_cli(
        "train",
        "logger=mlflow",
        "logger.mlflow.tracking_uri=http://127.0.0.1:9",
        *TINY,
        cwd=tmp_path,
        check=False,
    )
    assert_one_sentence_error(
        result, "logger.mlflow.tracking_uri=http://127.0.0.1:9 cannot be reached", "mlflow server"
    )
    assert not list(outputs.rglob(".hydra"))
