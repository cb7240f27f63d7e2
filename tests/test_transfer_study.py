"""`python -m cnnlab.transfer_study`: source, three target variants, one comparison table."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import TINY, run_cli


def test_study_runs_every_variant_and_writes_the_table(tmp_path: Path) -> None:
    overrides = [o for o in TINY if not o.startswith("callbacks.progress_bar")]
    result = run_cli(
        "transfer_study", "--seeds", "0", "--out", str(tmp_path / "study"), *overrides,
        cwd=tmp_path,
    )  # fmt: skip
    table = (tmp_path / "study" / "comparison.md").read_text()
    assert table in result.stdout
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split(" | ")[0] for row in rows[1:]] == [
        "| scratch (random init, all trained)",
        "| frozen backbone + new head",
        "| new head, then full fine-tune",
    ]
    frozen_params = rows[2].split(" | ")[2]
    assert frozen_params == f"{64 * 2 * 2 * 5 + 5:,}"  # the head on 64 channels x 2 x 2 (8 px)
    for variant in ("digits59_scratch", "digits59_frozen", "digits59_finetune"):
        assert (tmp_path / "study" / variant / "seed0" / "metrics.json").is_file()
