"""`cnnlab-export ckpt_path=... format=onnx|torchscript`: a checkpoint's model as a file that
runs without cnnlab, checked against PyTorch on the run's own test data (exit 1 if it differs)."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from cnnlab.cli import prepare_process, report_errors, required
from cnnlab.cli.predict import checkpoint_file
from cnnlab.runs.layout import BEST_CHECKPOINT, EXPORT_FILES

prepare_process()


@hydra.main(version_base="1.3", config_path="pkg://cnnlab.conf", config_name="export")
@report_errors
def main(cfg: DictConfig) -> None:
    from cnnlab.inference.deploy import export_checkpoint

    ckpt_path = required(cfg, "ckpt_path", f"ckpt_path=RUN_DIR/{BEST_CHECKPOINT}")
    out = Path(cfg.out or Path(cfg.paths.output_dir) / EXPORT_FILES.get(cfg.format, "model"))
    parity = export_checkpoint(
        checkpoint_file(Path(ckpt_path)),
        cfg.format,
        out,
        tolerance=cfg.tolerance,
        batches=cfg.batches,
        check_only=cfg.check_only,
        trust=cfg.trust,
    )
    if not parity.passed:
        print(
            f"cnnlab-export: parity check failed: {out} differs from the PyTorch model by up to "
            f"{parity.max_abs_diff:.3g}, above tolerance={cfg.tolerance:g}",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
