"""`cnnlab-predict ckpt_path=... input=...`: a trained model applied to new image files."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from cnnlab.cli import prepare_process, report_errors, required
from cnnlab.runs.layout import BEST_CHECKPOINT, PREDICT_ERRORS_FILE

prepare_process()

# the exit status counts unreadable files up to this (statuses above 125 mean signals)
MAX_FAILED_STATUS = 100


@hydra.main(version_base="1.3", config_path="pkg://cnnlab.conf", config_name="predict")
@report_errors
def main(cfg: DictConfig) -> None:
    from cnnlab.inference.predict import PredictOptions, predict

    ckpt_path = required(cfg, "ckpt_path", f"ckpt_path=RUN_DIR/{BEST_CHECKPOINT}")
    pattern = required(cfg, "input", "input=photos/ or input='photos/*.png'")
    options = PredictOptions(
        top_k=cfg.top_k,
        copy_into_class_folders=cfg.copy_into_class_folders,
        overlap=cfg.overlap,
        batch_size=cfg.batch_size,
        device=cfg.device,
        trust=cfg.trust,
    )
    out = Path(cfg.out)
    _, failed = predict(str(checkpoint_file(Path(ckpt_path))), str(pattern), out, options)
    if failed:
        print(
            f"cnnlab-predict: {failed} file(s) could not be read: see {out / PREDICT_ERRORS_FILE}",
            file=sys.stderr,
        )
        sys.exit(min(failed, MAX_FAILED_STATUS))


def checkpoint_file(path: Path) -> Path:
    """A run directory stands for its best checkpoint."""
    return path / BEST_CHECKPOINT if (path / BEST_CHECKPOINT).is_file() else path


if __name__ == "__main__":
    main()
