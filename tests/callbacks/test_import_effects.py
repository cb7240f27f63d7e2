"""Importing cnnlab's data, tasks and callbacks changes nothing in the importing program."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cnnlab

LIBRARY = Path(cnnlab.__file__).parent
MODULES = sorted(
    f"cnnlab.{package}.{path.stem}"
    for package in ("data", "tasks", "callbacks")
    for path in (LIBRARY / package).glob("*.py")
    if path.stem != "__init__"
)
# the third-party libraries first, so only what cnnlab's own modules do is compared
PROBE = f"""
import warnings, importlib
import matplotlib, pytorch_lightning, torchmetrics, torchvision, segmentation_models_pytorch
import torch.utils.tensorboard, matplotlib.figure, sklearn.datasets
filters = list(warnings.filters)
for name in {MODULES!r}:
    importlib.import_module(name)
assert warnings.filters == filters, [f for f in warnings.filters if f not in filters]
assert matplotlib.rcParams._get_backend_or_none() is None, "a module chose a backend"
"""


def test_no_warning_filter_or_matplotlib_backend_at_import() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(MODULES) > 20
