"""cnnlab-predict on files the tests write: the numbers in its tables recomputed independently."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.cli.eval import evaluate
from cnnlab.data.digit_canvas import DigitCanvasDataModule
from cnnlab.inference.images import output_names
from cnnlab.inference.predict import PredictOptions, predict
from cnnlab.inference.sliding_window import model_stride, sliding_window_logits
from cnnlab.inference.writers import AutoencoderFiles
from cnnlab.pipeline import rebuild_from_checkpoint
from tests.conftest import run_cli

# PASCAL VOC's colours of classes 0-4: background, aeroplane, bicycle, bird, boat
VOC_FIRST_COLOURS = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0, 0, 0, 128]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def save_float_image(image: torch.Tensor, path: Path) -> None:
    """A grey image (1, H, W) in [0, 1] as a 32-bit float TIFF: no 8-bit rounding on the way."""
    Image.fromarray(image[0].numpy().astype(np.float32)).save(path)


def test_digits_test_images_as_files_get_the_classes_cnnlab_eval_scores(
    classifier: Path, tmp_path: Path
) -> None:
    task, datamodule = rebuild_from_checkpoint(classifier)
    datamodule.setup("test")
    images, labels = datamodule.splits["test"]
    raw = datamodule.denormalize(images)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, (image, label) in enumerate(zip(raw, labels, strict=True)):
        save_float_image(image, photos / f"{i:03d}_label{int(label)}.tiff")
    (photos / "notes.txt").write_text("not an image")
    first = photos / f"000_label{int(labels[0])}.tiff"
    (photos / "cut.png").write_bytes(first.read_bytes()[:40])  # a truncated image
    grey_png = (raw[0, 0].numpy() * 255).round().astype(np.uint8)
    Image.fromarray(grey_png).convert("RGBA").save(photos / "rgba.png")  # converted to grey

    result = run_cli(
        "predict",
        f"ckpt_path={classifier.parent.parent}",  # a run directory stands for best.ckpt
        f"input={photos}",
        "out=predicted",
        "top_k=3",
        "copy_into_class_folders=true",
        "device=cpu",
        cwd=tmp_path,
        check=False,
    )

    out = tmp_path / "predicted"
    assert result.returncode == 2, result.stderr  # the exit status counts the unreadable files
    errors = read_csv(out / "errors.csv")
    assert sorted(Path(row["file"]).name for row in errors) == ["cut.png", "notes.txt"]
    rows = {Path(row["file"]).name: row for row in read_csv(out / "predictions.csv")}
    assert len(rows) == len(labels) + 1  # every good file, the RGBA PNG among them

    # accuracy from the CSV equals cnnlab-eval's test accuracy on the same images
    tested = [rows[f"{i:03d}_label{int(y)}.tiff"] for i, y in enumerate(labels)]
    accuracy = np.mean(
        [int(r["class_index"]) == int(y) for r, y in zip(tested, labels, strict=True)]
    )
    (tmp_path / "eval").mkdir()
    metrics = evaluate(str(classifier), tmp_path / "eval")
    assert accuracy == pytest.approx(metrics["test/acc"], abs=1e-6)

    # probabilities recomputed from the model on the test tensors; top-k sorted, top1 = class
    with torch.no_grad():
        expected = task.eval()(images).softmax(dim=1)
    for row, p in zip(tested, expected, strict=True):
        assert float(row["probability"]) == pytest.approx(float(p.max()), abs=1e-5)
        assert row["top1"] == row["class"] == datamodule.class_names[int(p.argmax())]
        top = [float(row[f"top{k}_p"]) for k in (1, 2, 3)]
        assert top == sorted(top, reverse=True)
        assert top[1] == pytest.approx(float(p.sort(descending=True).values[1]), abs=1e-5)
    # sorted into class folders: each file under its predicted class
    for name, row in rows.items():
        assert (out / "by_class" / row["class"] / name).is_file()


@pytest.fixture(scope="module")
def canvases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 96x96 and a 100x75 digit canvas (real digits, drawn by the canvas data set) as PNGs."""
    folder = tmp_path_factory.mktemp("canvases")
    data = DigitCanvasDataModule(
        num_classes=11, in_channels=1, image_size=100, num_images=20, normalize=False, seed=3
    )
    data.setup("fit")
    images = data.splits["train"][0]
    for name, (height, width) in {"square.png": (96, 96), "wide.png": (75, 100)}.items():
        pixels = (images[0, 0, :height, :width].numpy() * 255).round().astype(np.uint8)
        Image.fromarray(pixels).save(folder / name)
    return folder


def test_a_unet_trained_on_32px_canvases_segments_larger_canvases_by_sliding_windows(
    unet: Path, canvases: Path, tmp_path: Path
) -> None:
    predicted, failed = predict(str(unet), str(canvases), tmp_path, PredictOptions(overlap=0.25))

    assert (predicted, failed) == (2, 0)
    counts = {Path(r["file"]).name: r for r in read_csv(tmp_path / "class_pixels.csv")}
    for name, size in {"square.png": (96, 96), "wide.png": (75, 100)}.items():
        with Image.open(tmp_path / "predicted_masks" / name) as mask:
            assert mask.mode == "P" and mask.size == size[::-1]
            assert mask.getpalette()[: 3 * 5] == VOC_FIRST_COLOURS
            classes = np.asarray(mask)
        with Image.open(tmp_path / "mask_overlays" / name) as overlay:
            assert overlay.mode == "RGB" and overlay.size == size[::-1]
        row = counts[name]
        assert (int(row["height"]), int(row["width"])) == size
        recounted = np.bincount(classes.ravel(), minlength=11)
        names = ["background", *map(str, range(10))]
        assert [int(row[f"pixels_{n}"]) for n in names] == recounted.tolist()


def test_sliding_windows_on_an_image_of_the_training_size_equal_the_plain_forward_pass(
    unet: Path,
) -> None:
    task, datamodule = rebuild_from_checkpoint(unet)
    image = datamodule.splits["test"][0][0]  # (1, 32, 32), normalised
    task.eval()
    with torch.no_grad():
        plain = task(image[None])[0]
        tiled = sliding_window_logits(task, image, 32, overlap=0.5, stride=model_stride(task.model))
    torch.testing.assert_close(tiled, plain, rtol=0, atol=1e-5)
    assert torch.equal(tiled.argmax(0), plain.argmax(0))


def test_the_autoencoder_ranks_out_of_distribution_images_above_digits(
    autoencoder: Path, tmp_path: Path
) -> None:
    _, datamodule = rebuild_from_checkpoint(autoencoder)
    digits = datamodule.splits["test"][0][:8]  # un-normalised: the AE recipe keeps [0, 1]
    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(digits):
        save_float_image(image, folder / f"digit{i}.tiff")
    save_float_image(1 - digits[0], folder / "inverted.tiff")
    save_float_image(
        torch.rand(1, 16, 16, generator=torch.Generator().manual_seed(0)), folder / "noise.tiff"
    )

    predict(str(autoencoder), str(folder), tmp_path / "out", PredictOptions(batch_size=4))

    out = tmp_path / "out"
    ranked = read_csv(out / "reconstruction_errors.csv")
    assert {Path(r["file"]).name for r in ranked[:2]} == {"inverted.tiff", "noise.tiff"}
    errors = [float(r["mse"]) for r in ranked]
    assert errors == sorted(errors, reverse=True)
    # recomputed: MSE between each image and its reconstruction by the model itself
    task, _ = rebuild_from_checkpoint(autoencoder)
    files = [Path(r["file"]).name for r in read_csv(out / "latents.csv")]
    latents = np.load(out / "latents.npy")
    assert latents.shape == (10, 16)
    by_name = {f"digit{i}.tiff": d for i, d in enumerate(digits)}
    with torch.no_grad():
        output = task.eval().model(torch.stack([by_name["digit3.tiff"]]))
    row = files.index("digit3.tiff")
    np.testing.assert_allclose(latents[row], output.latent[0].numpy(), atol=1e-5)
    mse = float(((output.reconstruction - by_name["digit3.tiff"]) ** 2).mean())
    listed = next(float(r["mse"]) for r in ranked if r["file"].endswith("digit3.tiff"))
    assert listed == pytest.approx(mse, rel=1e-4)
    with Image.open(out / "reconstructed_images" / "digit3.png") as png:
        assert png.size == (16, 16)


def test_outputs_of_inputs_that_differ_only_by_suffix_do_not_overwrite_each_other(
    tmp_path: Path,
) -> None:
    files = [tmp_path / "a" / "x.jpg", tmp_path / "a" / "x.png", tmp_path / "b" / "x.png"]
    writer = AutoencoderFiles(files, output_names(files), tmp_path)
    names = [writer.png_name(i) for i in range(3)]
    assert names == [Path("a/x.jpg.png"), Path("a/x.png.png"), Path("b/x.png")]
