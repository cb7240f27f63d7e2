"""Catalogue: bad split fractions, unknown data arguments and data that does not fit the task."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.robustness.conftest import assert_one_sentence_error, assert_unchanged, snapshot

CASES = {
    # overrides: a fragment of the one-sentence error
    "data.val_fraction=0": "val_fraction=0 must be a fraction between 0 and 1 (exclusive)",
    "data.test_fraction=0.5 data.val_fraction=0.9995": (
        "899 samples leave none for training after data.val_fraction=0.9995"
    ),
    "task=segmentation": "segmentation needs masks of shape (N, H, W)",
    "+data.bogus=1": "data.bogus is not an argument of cnnlab.data.digits.DigitsDataModule",
    "data.seed=abc": "data.seed='abc' (str) has the wrong type",
}


@pytest.mark.parametrize("overrides", sorted(CASES))
def test_bad_data_setting_stops_before_training(
    overrides: str, outputs: Path, tmp_path: Path
) -> None:
    earlier = outputs / "earlier_run" / "metrics.json"
    earlier.parent.mkdir()
    earlier.write_text('{"test/acc": 0.9}\n')
    before = snapshot(outputs)
    result = run_cli("train", *overrides.split(), "trainer.max_epochs=1", cwd=tmp_path, check=False)
    assert_one_sentence_error(result, CASES[overrides])
    assert_unchanged(before, outputs)
    assert not list(outputs.rglob("*.ckpt"))  # it stopped before any training step
