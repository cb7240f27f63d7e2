"""Oxford-IIIT Pet through torchvision, on tiny files written in torchvision's layout."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab.data.oxford_pets import OxfordPetsDataModule
from cnnlab.errors import ConfigError, DataError
from cnnlab.pipeline import train


def write_pets(root: Path, trainval: int = 6, test: int = 2) -> None:
    """root/oxford-iiit-pet/: images/*.jpg, annotations/{trainval,test}.txt, annotations/trimaps/.

    Every trimap: top half 2 (background), bottom-left 1 (pet), bottom-right 3 (border).
    """
    base = root / "oxford-iiit-pet"
    (base / "images").mkdir(parents=True)
    (base / "annotations" / "trimaps").mkdir(parents=True)
    trimap = np.full((16, 16), 2, dtype=np.uint8)
    trimap[8:, :8] = 1
    trimap[8:, 8:] = 3
    for split, count in (("trainval", trainval), ("test", test)):
        lines = []
        for index in range(count):
            image_id = f"Abyssinian_{split}{index}"
            lines.append(f"{image_id} 1 1 1")  # class id, species, breed id
            pixels = np.random.default_rng(index).integers(0, 255, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(base / "images" / f"{image_id}.jpg")
            Image.fromarray(trimap).save(base / "annotations" / "trimaps" / f"{image_id}.png")
        (base / "annotations" / f"{split}.txt").write_text("\n".join(lines) + "\n")


def pets(root: Path, **options) -> OxfordPetsDataModule:
    options = {"num_classes": 3, "in_channels": 3, "image_size": 8, "val_fraction": 0.1, **options}
    return OxfordPetsDataModule(root=str(root), num_workers=0, batch_size=4, **options)


def test_trimaps_become_background_pet_border_classes(tmp_path):
    write_pets(tmp_path)
    datamodule = pets(tmp_path)
    datamodule.prepare_data()
    datamodule.setup()
    assert {k: len(v) for k, v in datamodule.datasets.items()} == {"train": 5, "val": 1, "test": 2}
    images, masks = next(iter(datamodule.train_dataloader()))
    assert images.shape == (4, 3, 8, 8) and masks.shape == (4, 8, 8)
    assert masks[0, 0].tolist() == [0] * 8  # trimap 2: background
    assert masks[0, -1].tolist() == [1] * 4 + [2] * 4  # trimap 1: pet, 3: border
    assert datamodule.class_names == ["background", "pet", "border"]


def test_binary_trimaps_fold_the_border_into_the_pet(tmp_path):
    write_pets(tmp_path)
    datamodule = pets(tmp_path, num_classes=2, trimap="binary")
    datamodule.setup()
    _, mask = datamodule.datasets["test"][0]
    assert mask[-1].tolist() == [1] * 8 and mask[0].tolist() == [0] * 8


def test_missing_files_fail_fast_naming_the_folder_and_the_fix(tmp_path):
    start = time.monotonic()
    with pytest.raises(DataError) as raised:
        pets(tmp_path).prepare_data()
    assert time.monotonic() - start < 5
    message = str(raised.value)
    assert str(tmp_path / "oxford-iiit-pet") in message
    assert "download=true" in message


def test_class_count_must_match_the_trimap_choice(tmp_path):
    with pytest.raises(ConfigError, match=r"trimap=binary has 2 classes"):
        pets(tmp_path, num_classes=3, trimap="binary")


def test_the_pets_recipe_trains_on_files_in_torchvisions_layout(
    tmp_path, compose_train, monkeypatch
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    write_pets(tmp_path)
    cfg = compose_train(
        [
            "experiment=pets_unet",
            f"data.root={tmp_path}",
            "data.image_size=32",
            "data.num_workers=0",
            "model.encoder_name=resnet18",
            "model.weights=null",
            "trainer.accelerator=cpu",
            "trainer.precision=32-true",
            "trainer.max_epochs=1",
            "callbacks.progress_bar.refresh_rate=0",
        ]
    )
    metrics = train(cfg)
    assert {"test/iou_background", "test/iou_pet", "test/iou_border"} <= set(metrics)


def test_a_trimap_of_another_size_than_its_photo_names_both_files(tmp_path):
    write_pets(tmp_path)
    base = tmp_path / "oxford-iiit-pet"
    trimap = base / "annotations" / "trimaps" / "Abyssinian_test1.png"
    Image.fromarray(np.full((16, 20), 2, dtype=np.uint8)).save(trimap)
    with pytest.raises(DataError) as raised:
        pets(tmp_path).setup()
    message = str(raised.value)
    assert f"mask {trimap} is 20x16 pixels" in message
    assert f"its image {base / 'images' / 'Abyssinian_test1.jpg'} is 16x16" in message
