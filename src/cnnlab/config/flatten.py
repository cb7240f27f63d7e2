"""Nested configs as flat `key.path -> value` rows: for run tables and HParams alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def flatten(node: Any, separator: str = ".", prefix: str = "") -> dict[str, Any]:
    """Leaves of nested mappings by joined key; lists and empty mappings are leaves."""
    if not isinstance(node, Mapping) or not node:
        return {prefix: node}
    flat: dict[str, Any] = {}
    for key, value in node.items():
        flat.update(flatten(value, separator, f"{prefix}{separator}{key}" if prefix else str(key)))
    return flat
