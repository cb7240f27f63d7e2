"""A search space in the syntax of Hydra's Optuna sweeper, as Optuna distributions.

`choice(a, b)`, `a,b`, `range(1, 5)`, `interval(0.0, 0.5)` and `tag(log, interval(1e-4, 1e-1))`
are parsed by Hydra's own override parser, so a space reads the same in a YAML file
(`hydra.sweeper.params`) and on the command line; plain values are fixed overrides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    RangeSweep,
    Transformer,
)
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from cnnlab.errors import ConfigError


@dataclass
class SearchSpace:
    """What each trial samples (`distributions`) and the overrides every trial shares."""

    distributions: dict[str, BaseDistribution] = field(default_factory=dict)
    fixed: list[str] = field(default_factory=list)

    def overrides(self, params: dict[str, Any]) -> list[str]:
        """A trial's sampled values as command-line overrides, then the shared ones."""
        return [f"{name}={value}" for name, value in params.items()] + self.fixed

    def grid(self) -> dict[str, list[Any]]:
        """The space as the lists GridSampler walks; only choices and stepped ranges have one."""
        grid = {}
        for name, distribution in self.distributions.items():
            if isinstance(distribution, CategoricalDistribution):
                grid[name] = list(distribution.choices)
            elif distribution.step is not None and not distribution.log:
                steps = round((distribution.high - distribution.low) / distribution.step)
                grid[name] = [distribution.low + i * distribution.step for i in range(steps + 1)]
            else:
                raise ConfigError(
                    f"sampler=grid cannot walk the continuous {name}; give it as choice(...) "
                    "or range(start, stop, step), or use sampler=tpe"
                )
        return grid


def parse_space(
    params: dict[str, str] | None, arguments: Iterable[str], config_loader: Any = None
) -> SearchSpace:
    """`hydra.sweeper.params` and the command line's overrides, as one space (the command line
    wins for a key given in both; the config loader expands globs of group options)."""
    parser = OverridesParser.create(config_loader=config_loader)
    lines = [f"{key}={value}" for key, value in _dotted(params or {})]
    parsed = [_parsed(parser, line) for line in [*lines, *arguments]]
    by_key = {override.get_key_element(): override for override in parsed}
    space = SearchSpace()
    for key, override in by_key.items():
        if override.is_sweep_override():
            space.distributions[key] = distribution(override)
        else:
            space.fixed.append(f"{key}={override.get_value_element_as_str()}")
    return space


def _parsed(parser: OverridesParser, line: str) -> Override:
    try:
        return parser.parse_override(line)
    except Exception as error:  # Hydra's OverrideParseException: the grammar's complaint
        reason = str(error).splitlines()[0]
        raise ConfigError(
            f"search space: {line} does not parse ({reason}); write e.g. "
            "task.optimizer.lr: tag(log, interval(1e-4, 1e-1))"
        ) from None


def _dotted(params: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """`{model: {dropout: ...}}` (from `+hydra.sweeper.params.model.dropout=...`) as the
    `model.dropout` a YAML file writes."""
    pairs = []
    for key, value in params.items():
        if isinstance(value, dict):
            pairs += _dotted(value, f"{prefix}{key}.")
        else:
            pairs.append((f"{prefix}{key}", value))
    return pairs


def distribution(override: Override) -> BaseDistribution:
    """One swept override as an Optuna distribution (the rules of Hydra's Optuna sweeper)."""
    value = override.value()
    if isinstance(value, ChoiceSweep) or (isinstance(value, RangeSweep) and value.shuffle):
        return CategoricalDistribution(
            list(override.sweep_iterator(transformer=Transformer.encode))
        )
    if isinstance(value, RangeSweep):
        if any(isinstance(v, float) for v in (value.start, value.stop, value.step)):
            return FloatDistribution(value.start, value.stop, step=value.step)
        return IntDistribution(int(value.start), int(value.stop - value.step), step=int(value.step))
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(value.start, value.end, log=log)
    raise ConfigError(
        f"{override.input_line}: a search takes choice(...), range(...), interval(...) or "
        "tag(log, interval(...))"
    )
