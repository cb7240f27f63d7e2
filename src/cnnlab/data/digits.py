"""scikit-learn's bundled handwritten digits: real data that needs no download."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits

from cnnlab.data.in_memory import Arrays, InMemoryDataModule


def load_digit_arrays() -> Arrays:
    """The 1,797 8x8 digits as images in [0, 1] (N, 1, 8, 8) and labels 0-9."""
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    return images, torch.tensor(digits.target, dtype=torch.long)


class DigitsDataModule(InMemoryDataModule):
    """The offline default: 8x8 digits upsampled to `image_size`, split by seed."""

    def load(self) -> dict[str, Arrays]:
        return {"all": load_digit_arrays()}
