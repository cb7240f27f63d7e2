"""init_from: an earlier run's weights seed a new classifier; bad sources fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from PIL import Image

from cnnlab.errors import CheckpointError
from cnnlab.pipeline import build_datamodule, build_task, train
from cnnlab.runs.checkpoints import load_checkpoint
from tests.conftest import TINY, compose_config, read_json, run_cli


def train_run(directory: Path, overrides: list[str]) -> Path:
    directory.mkdir(parents=True)
    train(compose_config([*TINY, *overrides], directory))
    return directory


@pytest.fixture(scope="module")
def source_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10-class digits classifier: its head does not fit the 5-class targets."""
    return train_run(tmp_path_factory.mktemp("source") / "run", [])


def network(checkpoint: Path) -> dict[str, torch.Tensor]:
    state = load_checkpoint(checkpoint)["state_dict"]
    return {k.removeprefix("model."): v for k, v in state.items()}


def test_init_from_a_run_loads_the_backbone_and_skips_the_old_head(
    source_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    overrides = ["experiment=digits59_frozen", f"task.init_from={source_run.parent}"]
    target = train_run(tmp_path / "target", overrides)  # a folder of runs: the newest is used
    source, trained = (
        network(source_run / "checkpoints/best.ckpt"),
        network(target / "checkpoints/best.ckpt"),
    )
    backbone = [k for k in trained if k.startswith(("features.", "neck."))]
    assert backbone and all(torch.equal(source[k], trained[k]) for k in backbone)
    assert source["head.weight"].shape[0] == 10 and trained["head.weight"].shape[0] == 5
    table = capsys.readouterr().out
    assert "module    loaded  skipped  missing" in table
    assert "skipped: 2 x head (a new one is trained)" in table
    assert "skipped: 2 x head (a new one is trained)" in (target / "train.log").read_text()


def test_a_corrupt_or_incompatible_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"not a checkpoint at all")
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"model.blocks.0.weight": torch.zeros(3, 3)}}, foreign)
    for path, message in [(corrupt, "corrupt, truncated"), (foreign, "no weights of .* fit")]:
        cfg = compose_config(
            ["experiment=digits59_frozen", f"task.init_from={path}", *TINY], tmp_path
        )
        task = build_task(cfg, build_datamodule(cfg.data))
        with pytest.raises(CheckpointError, match=message):
            task.setup("fit")


def test_autoencoder_encoder_seeds_the_classifier_features(tmp_path: Path) -> None:
    autoencoder = train_run(tmp_path / "ae", ["experiment=digits_ae"])
    overrides = ["experiment=digits59_from_autoencoder", f"task.init_from={autoencoder}"]
    cfg = compose_config([*TINY, *overrides], tmp_path)
    task = build_task(cfg, build_datamodule(cfg.data))
    task.setup("fit")
    encoder = network(autoencoder / "checkpoints/best.ckpt")
    features = task.model.state_dict()
    keys = [k for k in features if k.startswith("features.")]
    assert keys and all(torch.equal(features[k], encoder[f"encoder.{k}"]) for k in keys)


def test_missing_source_run_fails_fast_from_the_command_line(tmp_path: Path) -> None:
    result = run_cli(
        "train", "experiment=digits59_frozen", f"task.init_from={tmp_path}/nowhere",
        *TINY, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cnnlab: error: init_from=" in result.stderr and "train the source run" in result.stderr


def write_image_folder(root: Path) -> None:
    for split in ("train", "val"):
        for index, name in enumerate(("ants", "bees")):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(4):
                colour = (200 * index + 10 * i, 50, 255 - 200 * index)
                Image.new("RGB", (40, 30), colour).save(folder / f"{i}.png")


def test_ants_bees_resnet18_recipe_loads_a_local_weights_file(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "hymenoptera")
    imagenet = torchvision.models.resnet18()
    torch.save(imagenet.state_dict(), tmp_path / "resnet18.pth")
    run = tmp_path / "run"
    train_run(
        run,
        [
            "experiment=ants_bees_resnet18",
            f"data.root={tmp_path / 'hymenoptera'}",
            "data.num_workers=0",
            "data.batch_size=4",
            f"model.weights={tmp_path / 'resnet18.pth'}",
            "data.image_size=32",  # after TINY's image_size=8, too small for a ResNet
        ],
    )
    trained = network(run / "checkpoints/best.ckpt")
    frozen = {k: v for k, v in imagenet.state_dict().items() if not k.startswith("fc.")}
    assert all(torch.equal(trained[k], v) for k, v in frozen.items())  # frozen backbone
    assert trained["fc.weight"].shape == (2, 512)
    assert "test/acc" in read_json(run / "metrics.json")
