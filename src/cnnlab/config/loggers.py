"""Checks of the chosen loggers before a run starts: a missing package or an unreachable
tracking server is one sentence now, not a traceback after the data has loaded."""

from __future__ import annotations

import importlib.util
import socket
from urllib.parse import urlparse

from omegaconf import DictConfig

from cnnlab.errors import ConfigError

REACH_TIMEOUT_S = 5.0


def validate_loggers(cfg: DictConfig) -> None:
    for name, node in (cfg.get("logger") or {}).items():
        if node is not None and str(node.get("_target_", "")).endswith(".MLFlowLogger"):
            _check_mlflow(f"logger.{name}", node)


def _check_mlflow(path: str, node: DictConfig) -> None:
    if importlib.util.find_spec("mlflow") is None:
        raise ConfigError(
            f'{path} needs MLflow, which is not installed: pip install -e ".[mlflow]"'
        )
    uri = str(node.get("tracking_uri") or "")
    address = urlparse(uri)
    if address.scheme not in ("http", "https"):
        return
    port = address.port or (443 if address.scheme == "https" else 80)
    try:
        socket.create_connection((address.hostname, port), timeout=REACH_TIMEOUT_S).close()
    except OSError as error:
        raise ConfigError(
            f"{path}.tracking_uri={uri} cannot be reached ({error.strerror or error}); start "
            "the server (mlflow server ...) or leave tracking_uri at its local default"
        ) from None
