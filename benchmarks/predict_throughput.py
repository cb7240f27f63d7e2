"""cnnlab-predict's throughput (images/s) on the CPU for each task, and the parity of exports.

    python benchmarks/predict_throughput.py CLASSIFIER_CKPT UNET_CKPT AUTOENCODER_CKPT [--threads 1]

Writes digit images (and, for the U-Net, 96x96 canvases predicted by sliding windows) into a
temporary folder, times `cnnlab.inference.predict.predict` on them minus the time to rebuild
the model from its checkpoint (measured alone), then exports each model to ONNX and TorchScript
and prints the parity check's largest absolute difference.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cnnlab.data.digits import load_digit_arrays
from cnnlab.inference.deploy import export_checkpoint
from cnnlab.inference.predict import PredictOptions, predict
from cnnlab.pipeline import rebuild_from_checkpoint


def write_images(folder: Path, count: int, side: int) -> None:
    """`count` digit images (tiled into side x side canvases when side > 8) as PNG files."""
    folder.mkdir(parents=True)
    digits = load_digit_arrays()[0][:, 0]
    for i in range(count):
        tiles = side // 8
        picks = digits[torch.arange(tiles * tiles) + i][: tiles * tiles]
        canvas = picks.view(tiles, tiles, 8, 8).permute(0, 2, 1, 3).reshape(side, side)
        Image.fromarray((canvas.numpy() * 255).astype(np.uint8)).save(folder / f"{i:04d}.png")


def images_per_second(ckpt: str, folder: Path, count: int) -> float:
    started = time.perf_counter()
    rebuild_from_checkpoint(ckpt)
    rebuild = time.perf_counter() - started
    started = time.perf_counter()
    predict(ckpt, str(folder), folder.parent / f"{folder.name}_out", PredictOptions(device="cpu"))
    return count / (time.perf_counter() - started - rebuild)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs=3, metavar="CKPT")
    parser.add_argument("--count", type=int, default=500)
    # on a machine shared with other jobs, 2 threads spin against each other: 1 is faster there
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, ckpt, side, count in zip(
            ("classifier", "unet", "autoencoder"),
            args.checkpoints,
            (8, 96, 8),
            (args.count, args.count // 10, args.count),
            strict=True,
        ):
            write_images(root / name, count, side)
            rate = images_per_second(ckpt, root / name, count)
            print(f"{name}: {rate:.1f} images/s ({count} images of {side}x{side})")
            for format in ("onnx", "torchscript"):
                out = root / f"{name}.{format}"
                parity = export_checkpoint(Path(ckpt), format, out)
                print(f"{name} {format}: max abs diff {parity.max_abs_diff:.3g}")


if __name__ == "__main__":
    main()
