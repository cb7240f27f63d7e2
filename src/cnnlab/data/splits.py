"""The one seeded train/val/test split every data module uses, so a seed names one split.

Recorded results reproduce only if a seed keeps selecting the same samples, so this is the
single place that turns a seed into held-out indices: one permutation drawn from the
generator, cut into a part per fraction (in the order given) and the rest, which trains.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from cnnlab.errors import ConfigError, DataError


def seeded_split(
    size: int, fractions: Mapping[str, float], generator: torch.Generator | int
) -> list[Tensor]:
    """Indices 0..size-1 in a seeded order: one part per fraction, then the rest.

    `fractions` maps each argument's name to its value (e.g. {"val_fraction": 0.15}), so a bad
    value is reported under the name the caller was given it by. Each part holds
    round(size * fraction) indices, at least one; the rest must keep at least one too. An int
    `generator` is a seed for a fresh generator; a generator continues its own sequence.
    """
    for name, fraction in fractions.items():
        if not 0 < fraction < 1:
            raise ConfigError(f"`{name}`={fraction} must be a fraction between 0 and 1 (exclusive)")
    if isinstance(generator, int):
        generator = torch.Generator().manual_seed(generator)
    order = torch.randperm(size, generator=generator)
    sizes = [max(1, round(size * fraction)) for fraction in fractions.values()]
    if sum(sizes) >= size:
        held_out = " and ".join(f"`{name}`={value}" for name, value in fractions.items())
        raise DataError(
            f"{size} samples leave none for training after {held_out}: "
            "add samples or lower the fractions"
        )
    return list(order.split([*sizes, size - sum(sizes)]))
