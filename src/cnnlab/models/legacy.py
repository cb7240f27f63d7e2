"""Old argument spellings of the model factories, kept working for one release.

Before the one vocabulary (`weights` for every source of known weights, `num_classes` for the
outputs), each family had its own words: torchvision `weights_file`, timm `pretrained`, smp
`encoder_weights` and `classes`. Configs and run directories recorded with them still build;
each use warns once, naming the argument that replaces it. Delete this module, and the
deprecated parameters that call it, in the release after.
"""

from __future__ import annotations

import warnings
from typing import TypeVar

T = TypeVar("T")


def renamed(old: str, new: str, old_value: T | None, value: T) -> T:
    """`value`, or what the caller gave under the deprecated name `old` (with a FutureWarning).

    new: how to say it now, e.g. "`weights`=PATH".

    The old spelling wins when both are given: a config that still sets it was written for it,
    while the new argument then holds only its default.
    """
    if old_value is None:
        return value
    warnings.warn(
        f"`{old}` is deprecated and goes in the next release: use {new} instead",
        FutureWarning,
        stacklevel=3,
    )
    return old_value
