"""Catalogue: hostile configs in checkpoints and run directories, given to the real commands.

Each payload would write a file, create a folder or start a process if it were instantiated or
resolved. Without trust each is refused in one sentence naming its key, exit 2, and the would-be
file does not exist afterwards, no earlier file changed, no run directory was left behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import yaml

from cnnlab.runs.checkpoints import CONFIG_KEY
from tests.conftest import run_cli, run_dirs
from tests.robustness.conftest import assert_one_sentence_error, assert_unchanged, snapshot

# payload(config, victim) -> None: plants code that would create `victim` if it ran; an
# interpolated `_target_` and other resolvers are covered in tests/config/test_trust.py
Payload = Callable[[dict, Path], None]


def _set(path: str, node: object) -> Payload:
    def plant(config: dict, victim: Path) -> None:
        *parents, last = path.split(".")
        for key in parents:
            config = config.setdefault(key, {})
        config[last] = yaml.safe_load(yaml.safe_dump(node).replace("VICTIM", str(victim)))

    return plant


TOUCH = {"_target_": "os.system", "_args_": ["touch VICTIM"]}
CHECKPOINT_PAYLOADS: dict[str, tuple[Payload, str]] = {
    "sweep_summary._replace writes a file": (
        _set(
            "model",
            {"_target_": "cnnlab.runs.sweep_summary._replace", "path": "VICTIM", "text": "x"},
        ),
        "model._target_=cnnlab.runs.sweep_summary._replace",
    ),
    "torch.save writes a file": (
        _set("model", {"_target_": "torch.save", "obj": 1, "f": "VICTIM"}),
        "model._target_=torch.save",
    ),
    "transfer_study.train_run starts a training": (
        _set(
            "model",
            {
                "_target_": "cnnlab.studies.transfer.train_run",
                "experiment": "digits_cnn",
                "run_dir": "VICTIM",
                "overrides": [],
            },
        ),
        "model._target_=cnnlab.studies.transfer.train_run",
    ),
    "torch.os.system": (
        _set("model", {"_target_": "torch.os.system", "_args_": ["touch VICTIM"]}),
        "model._target_=torch.os.system",
    ),
    "cnnlab.runs.records.subprocess.call": (
        _set(
            "model",
            {"_target_": "cnnlab.runs.records.subprocess.call", "_args_": [["touch", "VICTIM"]]},
        ),
        "model._target_=cnnlab.runs.records.subprocess.call",
    ),
    "builtins.exec": (
        _set("model", {"_target_": "builtins.exec", "_args_": ["open('VICTIM', 'w')"]}),
        "model._target_=builtins.exec",
    ),
    "os.system": (_set("model", TOUCH), "model._target_=os.system"),
    "hidden in a list": (_set("data.transforms", [TOUCH]), "data.transforms[0]._target_=os.system"),
    "hidden in callbacks": (_set("callbacks.evil", TOUCH), "callbacks.evil._target_=os.system"),
    "hidden in a logger": (_set("logger.evil", TOUCH), "logger.evil._target_=os.system"),
    "hidden in _args_": (_set("model._args_", [TOUCH]), "model._args_[0]._target_=os.system"),
    "a directory-creating resolver": (
        _set("data.root", "${cnnlab.unique_dir:VICTIM}"),
        "data.root=${cnnlab.unique_dir:",
    ),
}


def tampered_checkpoint(trained: Path, folder: Path, plant: Payload, victim: Path) -> Path:
    checkpoint = torch.load(trained / "checkpoints/best.ckpt", weights_only=True)
    plant(checkpoint[CONFIG_KEY], victim)
    path = folder / "tampered.ckpt"
    torch.save(checkpoint, path)
    return path


@pytest.mark.parametrize(
    ("plant", "key"), CHECKPOINT_PAYLOADS.values(), ids=CHECKPOINT_PAYLOADS.keys()
)
def test_a_checkpoint_payload_is_refused_by_cnnlab_eval(
    finished_run: Path, tmp_path: Path, outputs: Path, plant: Payload, key: str
) -> None:
    victim = tmp_path / "pwned"
    checkpoint = tampered_checkpoint(finished_run, tmp_path, plant, victim)
    before = snapshot(tmp_path)

    result = run_cli("eval", f"ckpt_path={checkpoint}", cwd=tmp_path, check=False)

    assert_one_sentence_error(result, str(checkpoint), key, "--trust")
    assert not victim.exists()
    assert_unchanged(before, tmp_path)
    assert run_dirs(outputs) == []  # the eval run directory was given back


def test_a_checkpoint_payload_is_refused_by_cnnlab_generate(
    finished_run: Path, tmp_path: Path, outputs: Path
) -> None:
    victim = tmp_path / "pwned"
    plant, key = CHECKPOINT_PAYLOADS["torch.save writes a file"]
    checkpoint = tampered_checkpoint(finished_run, tmp_path, plant, victim)
    result = run_cli("generate", f"ckpt_path={checkpoint}", cwd=tmp_path, check=False)
    assert_one_sentence_error(result, key, "--trust")
    assert not victim.exists()


def test_trust_true_is_the_escape(finished_run: Path, tmp_path: Path, outputs: Path) -> None:
    """The same torch.save payload, trusted, runs: it was the boundary that stopped it."""
    victim = tmp_path / "pwned"
    plant, _ = CHECKPOINT_PAYLOADS["torch.save writes a file"]
    checkpoint = tampered_checkpoint(finished_run, tmp_path, plant, victim)
    result = run_cli("eval", f"ckpt_path={checkpoint}", "trust=true", cwd=tmp_path, check=False)
    assert victim.exists(), result.stderr
    assert result.returncode != 0  # torch.save returns no model, so the eval fails after it


def test_a_legit_checkpoint_still_evaluates(
    finished_run: Path, tmp_path: Path, outputs: Path
) -> None:
    result = run_cli("eval", f"ckpt_path={finished_run / 'checkpoints/best.ckpt'}", cwd=tmp_path)
    assert "test/acc" in result.stdout
    assert len(run_dirs(outputs)) == 1


def copy_run(trained: Path, tmp_path: Path, finished: bool) -> Path:
    """A copy of the run; unfinished (no metrics.json) for resume."""
    run_dir = tmp_path / "runs" / "copied"
    shutil.copytree(trained, run_dir)
    if not finished:
        (run_dir / "metrics.json").unlink()
    return run_dir


def edit_yaml(path: Path, edit: Callable[[dict], None]) -> None:
    content = yaml.safe_load(path.read_text())
    edit(content)
    path.write_text(yaml.safe_dump(content))


CALLBACK = _set(
    "callbacks.evil",
    {"_target_": "cnnlab.runs.sweep_summary._replace", "path": "VICTIM", "text": "x"},
)
# (command, file in .hydra/, payload, the key named): the callback for both commands,
# the other ways into a run's config once each (subprocesses are the slow part)
RUN_DIR_PAYLOADS: dict[str, tuple[str, str, Payload, str]] = {
    "reproduce: a file-writing callback": (
        "reproduce",
        "config.yaml",
        CALLBACK,
        "callbacks.evil._target_=cnnlab.runs.sweep_summary._replace",
    ),
    "resume: a file-writing callback": (
        "resume",
        "config.yaml",
        CALLBACK,
        "callbacks.evil._target_=cnnlab.runs.sweep_summary._replace",
    ),
    "reproduce: a torch.save logger": (
        "reproduce",
        "config.yaml",
        _set("logger.evil", {"_target_": "torch.save", "obj": 1, "f": "VICTIM"}),
        "logger.evil._target_=torch.save",
    ),
    "resume: a directory-creating resolver": (
        "resume",
        "config.yaml",
        _set("paths.data_dir", "${cnnlab.unique_dir:VICTIM}"),
        "paths.data_dir=${cnnlab.unique_dir:",
    ),
    "resume: a target in the overrides DDP ranks compose from": (
        "resume",
        "hydra.yaml",
        lambda hydra, victim: hydra["hydra"]["overrides"]["task"].extend(
            ["+callbacks.evil._target_=torch.save", f"+callbacks.evil.f={victim}"]
        ),
        "callbacks.evil._target_=torch.save",
    ),
    "reproduce: a resolver in the saved runtime": (
        "reproduce",
        "hydra.yaml",
        _set("hydra.runtime.choices.task", "${cnnlab.unique_dir:VICTIM}"),
        "hydra.runtime",
    ),
}


@pytest.mark.parametrize(
    ("command", "file", "plant", "key"), RUN_DIR_PAYLOADS.values(), ids=RUN_DIR_PAYLOADS.keys()
)
def test_a_run_dir_payload_is_refused_by_reproduce_and_resume(
    finished_run: Path,
    tmp_path: Path,
    outputs: Path,
    command: str,
    file: str,
    plant: Payload,
    key: str,
) -> None:
    victim = tmp_path / "pwned"
    run_dir = copy_run(finished_run, tmp_path, finished=command == "reproduce")
    edit_yaml(run_dir / ".hydra" / file, lambda content: plant(content, victim))
    before = snapshot(tmp_path)

    if command == "reproduce":
        result = run_cli("reproduce", str(run_dir), cwd=tmp_path, check=False)
    else:
        result = run_cli("train", f"resume={run_dir}", cwd=tmp_path, check=False)

    assert_one_sentence_error(result, key, "--trust")
    assert not victim.exists()
    assert_unchanged(before, tmp_path)
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["copied"]  # no rerun dir


def test_a_legit_run_still_resumes(finished_run: Path, tmp_path: Path, outputs: Path) -> None:
    run_dir = copy_run(finished_run, tmp_path, finished=False)
    run_cli("train", f"resume={run_dir}", cwd=tmp_path)
    assert (run_dir / "metrics.json").is_file()
