"""`python -m cnnlab.studies.transfer`: source, every target variant, one comparison table."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnlab.studies.transfer import STUDIES, RunResult, comparison_table
from tests.conftest import TINY, run_cli

# the new head alone: 64 max-pooled channels (cluttered) or 64 channels x 2 x 2 (8 px digits)
FROZEN_PARAMS = {"cluttered": 64 * 5 + 5, "digits": 64 * 2 * 2 * 5 + 5}


@pytest.mark.parametrize(("name", "seeds"), [("cluttered", ["0", "1"]), ("digits", ["0"])])
def test_study_runs_every_variant_and_writes_the_table(
    tmp_path: Path, name: str, seeds: list[str]
) -> None:
    overrides = [o for o in TINY if not o.startswith("callbacks.progress_bar")]
    result = run_cli(
        "studies.transfer", "--study", name, "--seeds", *seeds, "--labels", "3",
        "--out", str(tmp_path / "study"), *overrides, cwd=tmp_path,
    )  # fmt: skip
    table = (tmp_path / "study" / "comparison.md").read_text()
    assert table in result.stdout
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| 3 ")]
    study = STUDIES[name]
    assert [row[1] for row in rows] == list(study.variants)
    scratch, frozen = rows[0], rows[1]
    assert scratch[3] == "" and scratch[4] == ""  # no gain of scratch over itself
    assert frozen[5] == f"{FROZEN_PARAMS[name]:,}"
    assert frozen[4] in {f"{wins}/{len(seeds)}" for wins in range(len(seeds) + 1)}
    for experiment in study.variants.values():
        for seed in seeds:
            assert (
                tmp_path / "study" / "3_labels" / experiment / f"seed{seed}" / "metrics.json"
            ).is_file()


def test_gains_are_paired_by_seed_with_scratch() -> None:
    study = STUDIES["digits"]
    scratch, frozen, finetune = study.variants
    accs = {scratch: [0.5, 0.9], frozen: [0.6, 0.8], finetune: [0.7, 1.0]}
    results = {
        4: {name: [RunResult(a, [10], 1.0) for a in values] for name, values in accs.items()}
    }
    rows = [line.split(" | ") for line in comparison_table(study, results, 0.99).splitlines()]
    by_variant = {row[1]: row for row in rows if row[0] == "| 4"}
    assert by_variant[frozen][3:5] == ["+0.000 ± 0.141", "1/2"]  # +0.1 and -0.1
    assert by_variant[finetune][3:5] == ["+0.150 ± 0.071", "2/2"]  # +0.2 and +0.1
    assert by_variant[scratch][2] == "0.700 ± 0.283"


@pytest.mark.slow
def test_fine_tuning_beats_scratch_on_five_labels_per_class(tmp_path: Path) -> None:
    """The README's claim on one seed, with the full recipes (about 80 s on 2 cores)."""
    run_cli(
        "studies.transfer", "--seeds", "0", "--labels", "5", "--out", str(tmp_path / "study"),
        "callbacks.progress_bar.refresh_rate=0", cwd=tmp_path,
    )  # fmt: skip
    table = (tmp_path / "study" / "comparison.md").read_text()
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| 5 ")]
    gains = {row[1]: row[3] for row in rows if row[3]}
    # measured: +0.149 (last block) and +0.167 (full fine-tune) over scratch's 0.746
    assert float(gains["last conv block + new head"]) > 0.05
    assert float(gains["new head, then full fine-tune"]) > 0.05


def test_the_old_module_name_still_runs_the_study_with_a_warning(tmp_path: Path) -> None:
    result = run_cli("transfer_study", "--help", cwd=tmp_path)
    assert "python -m cnnlab.studies.transfer" in result.stdout  # the study's own usage line
    assert "FutureWarning" in result.stderr and "cnnlab.studies.transfer" in result.stderr
