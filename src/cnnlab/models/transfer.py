"""Initialise a model from an earlier cnnlab run: copy every tensor that fits, report the rest.

The source can be any cnnlab task whose network shares layers with this one: a classifier
trained on other classes, or an autoencoder whose `encoder.features` match a classifier's
`features` (map them with `key_map={"encoder.features.": "features."}`). Tensors of another
shape (an old head sized to other classes) are skipped, never an error; by default the head is
not copied at all, because transfer learning gives the new task a new, random head.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from torch import Tensor, nn

from cnnlab.console import console
from cnnlab.errors import CheckpointError
from cnnlab.models.parts import classifier_head
from cnnlab.runs.checkpoints import load_checkpoint
from cnnlab.runs.layout import BEST_CHECKPOINT

TASK_PREFIX = "model."  # BaseTask stores the network as `self.model`


@dataclass
class TransferReport:
    """What `load_matching` did, per target tensor name; printed as one table."""

    loaded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # target name -> reason
    missing: list[str] = field(default_factory=list)  # target tensors left as initialised
    unused: list[str] = field(default_factory=list)  # source tensors that went nowhere

    def table(self, source: str) -> str:
        """Counts per top-level module: one line each, then the skip reasons and unused count."""
        modules = sorted({_top(name) for name in [*self.loaded, *self.skipped, *self.missing]})
        loaded, skipped, missing = (
            Counter(map(_top, names)) for names in (self.loaded, self.skipped, self.missing)
        )
        width = max(len("module"), *map(len, modules))
        lines = [f"init_from {source}", f"  {'module':<{width}}  loaded  skipped  missing"]
        lines += [
            f"  {m:<{width}}  {loaded[m]:>6}  {skipped[m]:>7}  {missing[m]:>7}" for m in modules
        ]
        reasons = Counter(self.skipped.values())
        lines += [f"  skipped: {count} x {reason}" for reason, count in reasons.items()]
        if self.unused:
            lines.append(f"  {len(self.unused)} source tensors unused, e.g. {self.unused[0]}")
        return "\n".join(lines)


def _top(name: str) -> str:
    return name.split(".")[0]


def resolve_checkpoint(source: str | Path) -> Path:
    """A .ckpt file, a run directory (its best.ckpt), or a folder of runs (the newest run's)."""
    path = Path(source).expanduser()
    if path.is_file():
        return path
    if (path / BEST_CHECKPOINT).is_file():
        return path / BEST_CHECKPOINT
    runs = sorted(path.glob(f"*/{BEST_CHECKPOINT}"), key=lambda p: p.stat().st_mtime)
    if runs:
        return runs[-1]
    raise CheckpointError(
        f"`init_from`={source} is neither a checkpoint file, nor a run directory with "
        f"{BEST_CHECKPOINT}, nor a folder of such runs: train the source run first or fix "
        "the path"
    )


def source_state_dict(checkpoint: dict, key_map: dict[str, str]) -> dict[str, Tensor]:
    """The network's tensors from a Lightning checkpoint, renamed for the target model.

    The task's `model.` prefix is dropped; with a `key_map`, only keys starting with one of its
    source prefixes are kept, renamed to the matching target prefix.
    """
    state = {
        key.removeprefix(TASK_PREFIX): value
        for key, value in checkpoint["state_dict"].items()
        if isinstance(value, Tensor)
    }
    if not key_map:
        return state
    renamed = {}
    for key, value in state.items():
        for old, new in key_map.items():
            if key.startswith(old):
                renamed[new + key.removeprefix(old)] = value
                break
    return renamed


def load_matching(
    model: nn.Module, source: dict[str, Tensor], load_head: bool = False
) -> TransferReport:
    """Copy into `model` every source tensor with the same name and shape; report the rest."""
    head_name, _ = classifier_head(model)
    target = model.state_dict()
    report = TransferReport(unused=[key for key in source if key not in target])
    matched = {}
    for name, tensor in target.items():
        if name not in source:
            report.missing.append(name)
        elif not load_head and name.startswith(f"{head_name}."):
            report.skipped[name] = "head (a new one is trained)"
        elif source[name].shape != tensor.shape:
            report.skipped[name] = "shape differs"
        else:
            matched[name] = source[name]
            report.loaded.append(name)
    model.load_state_dict(matched, strict=False)
    return report


def init_from(
    model: nn.Module,
    source: str | Path,
    key_map: dict[str, str] | None = None,
    load_head: bool = False,
) -> TransferReport:
    """Load the tensors of an earlier run that fit `model`; print the table; fail if none fit."""
    path = resolve_checkpoint(source)
    state = source_state_dict(load_checkpoint(path), dict(key_map or {}))
    report = load_matching(model, state, load_head)
    if not any(not name.endswith("num_batches_tracked") for name in report.loaded):
        example = next(iter(model.state_dict()), "?")
        found = next(iter(state), "nothing (no key matched `init_key_map`)")
        raise CheckpointError(
            f"no weights of {path} fit this model (it expects names like {example!r} and the "
            f"checkpoint offers {found!r}): use a checkpoint of a compatible network, or map "
            "its names with `init_key_map`, e.g. {'encoder.features.': 'features.'}"
        )
    console.info(report.table(str(path)))
    return report
