"""`cnnlab-eval ckpt_path=...`: test a checkpoint with the config stored inside it."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from cnnlab.cli import prepare_process, report_errors, required
from cnnlab.runs.layout import BEST_CHECKPOINT
from cnnlab.runs.records import write_metrics

prepare_process()


def evaluate(
    ckpt_path: str, output_dir: Path, accelerator: str = "cpu", trust: bool = False
) -> dict[str, float]:
    """Rebuild data, model and task from the checkpoint's config and run the test split."""
    import pytorch_lightning as pl  # here, not on import: `cnnlab-eval --help` is instant

    from cnnlab.pipeline import print_summary, rebuild_from_checkpoint

    task, datamodule = rebuild_from_checkpoint(ckpt_path, trust)
    trainer = pl.Trainer(
        accelerator=accelerator, devices=1, logger=False, enable_checkpointing=False
    )
    metrics = trainer.test(task, datamodule=datamodule, verbose=False)[0]
    write_metrics(output_dir, metrics)
    print_summary(output_dir, metrics)
    return metrics


@hydra.main(version_base="1.3", config_path="pkg://cnnlab.conf", config_name="eval")
@report_errors
def main(cfg: DictConfig) -> None:
    ckpt_path = required(cfg, "ckpt_path", f"ckpt_path=RUN_DIR/{BEST_CHECKPOINT}")
    evaluate(ckpt_path, Path(cfg.paths.output_dir), cfg.accelerator, cfg.trust)


if __name__ == "__main__":
    main()
