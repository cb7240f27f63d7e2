"""From a composed config to a trained, evaluated run: the whole training path in one file."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import LearningRateMonitor
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.loggers.logger import Logger
from pytorch_lightning.plugins.io import AsyncCheckpointIO
from pytorch_lightning.utilities.parsing import AttributeDict

from cnnlab.callbacks.seeding import RankSeed
from cnnlab.config.hparams import run_hparams
from cnnlab.config.loggers import validate_loggers
from cnnlab.config.trust import check_trusted
from cnnlab.config.validation import validate_config, validate_devices
from cnnlab.console import console, run_log
from cnnlab.data.base import ImageDataModule
from cnnlab.data.in_memory import InMemoryDataModule
from cnnlab.distributed import distributed_job
from cnnlab.errors import CheckpointError, CnnlabError
from cnnlab.runs.checkpoint_io import CrashSafeCheckpointIO
from cnnlab.runs.checkpoints import ConfigInCheckpoint, checkpoint_config, load_checkpoint
from cnnlab.runs.layout import ENVIRONMENT_FILE, RUN_LOG, SEARCH_TRIAL_ENV
from cnnlab.runs.lock import run_lock
from cnnlab.runs.records import write_environment, write_metrics
from cnnlab.tasks.base import BaseTask

log = logging.getLogger(__name__)


def instantiate_node(node: DictConfig, **kwargs: Any) -> Any:
    """`instantiate`, with a CnnlabError from a constructor naming its arguments by config path.

    Library code names its own arguments (`depth`); Hydra tells which node it was building
    (`model`, or a nested `model.encoder`), so the user reads `model.depth`. The one place that
    turns argument names into config paths, with `arguments_of` for errors raised later.
    """
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:  # Hydra wraps what a constructor raised
        if not isinstance(error.__cause__, CnnlabError):
            raise
        building = re.search(r"full_key: (\S+)", str(error))
        raise error.__cause__.at(building[1] if building else node_path(node)) from None


@contextmanager
def arguments_of(node: DictConfig, **filled_from: DictConfig) -> Iterator[None]:
    """Name by config path the arguments in a CnnlabError that `node`'s object raises meanwhile;
    `filled_from` maps its arguments built from other nodes (a task's `model`) to those nodes."""
    try:
        yield
    except CnnlabError as error:
        paths = {argument: node_path(source) for argument, source in filled_from.items()}
        raise error.at(node_path(node), **paths) from None


def node_path(node: DictConfig) -> str:
    """Where `node` sits in the run config, e.g. `model` (what a user types to override it)."""
    return str(node._get_full_key(None))


def build_datamodule(data_cfg: DictConfig) -> ImageDataModule:
    """Instantiate and set up the data, so missing files fail before any model is built."""
    datamodule = instantiate_node(data_cfg)
    with arguments_of(data_cfg):
        datamodule.prepare_data()
        datamodule.setup("fit")
    return datamodule


def build_task(cfg: DictConfig, datamodule: ImageDataModule) -> BaseTask:
    """Instantiate model and task, then check the model against one real batch of the data."""
    model = instantiate_node(cfg.model)
    task = instantiate_node(cfg.task, model=model)
    with arguments_of(cfg.task, model=cfg.model):
        task.check_batch(next(iter(datamodule.val_dataloader())))
    return task


def build_trainer(
    cfg: DictConfig, resolved: dict[str, Any], datamodule: ImageDataModule | None = None
) -> pl.Trainer:
    """The configured Trainer with cnnlab's callbacks, loggers and crash-safe checkpoints."""
    callbacks = [
        instantiate_node(c) for c in (cfg.get("callbacks") or {}).values() if c is not None
    ]
    callbacks += [ConfigInCheckpoint(resolved), RankSeed(cfg.seed)]
    if trial_id := os.environ.get(SEARCH_TRIAL_ENV):  # an Optuna trial: report, maybe stop early
        from cnnlab.search.trial import pruning_callback

        callbacks.append(pruning_callback(trial_id))
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c is not None]
    if not loggers:  # logger=none: Lightning refuses a learning-rate monitor with nowhere to log
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    # checkpoints replaced atomically with their SHA-256 beside them, and verified on resume
    checkpoint_io = CrashSafeCheckpointIO()
    if cfg.get("async_checkpoints"):
        checkpoint_io = AsyncCheckpointIO(checkpoint_io)
    plugins = [checkpoint_io]
    options: dict[str, Any] = {}
    if cfg.trainer.get("num_sanity_val_steps") is None and isinstance(
        datamodule, InMemoryDataModule
    ):  # its first validation batch already went through the model in build_task
        options["num_sanity_val_steps"] = 0
    return instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=plugins, **options
    )


def load_weights(task: BaseTask, checkpoint_path: str | Path) -> None:
    """Load a checkpoint's weights into a task built from the same config."""
    _load_state(task, load_checkpoint(checkpoint_path), checkpoint_path)


def _load_state(task: BaseTask, checkpoint: dict[str, Any], source: str | Path) -> None:
    try:
        task.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        raise CheckpointError(
            f"{source} does not fit the model of this config: {str(error).splitlines()[0]}"
        ) from None


def rebuild_from_checkpoint(
    ckpt_path: str | Path,
    trust: bool = False,
    check_config: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[BaseTask, ImageDataModule]:
    """The data and the trained task of a checkpoint, built from the run config stored in it.

    The file is read once; its config is refused if it reaches outside the trusted libraries
    (unless `trust`) or fails `check_config`, before any data or model is built.
    """
    checkpoint = load_checkpoint(ckpt_path)
    run_config = checkpoint_config(checkpoint, ckpt_path)
    check_trusted(run_config, str(ckpt_path), trust)
    if check_config is not None:
        check_config(run_config)
    cfg = OmegaConf.create(run_config)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg.data)
    task = build_task(cfg, datamodule)
    _load_state(task, checkpoint, ckpt_path)
    return task, datamodule


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit, then validate and test the best checkpoint; write metrics.json and hparams.

    The process holds the run directory's lock meanwhile: one run, one writer.
    """
    run_dir = Path(cfg.paths.output_dir)
    with run_log(run_dir / RUN_LOG):
        validate_config(cfg)
        validate_devices(cfg)
        validate_loggers(cfg)
        if cfg.get("ckpt_path"):  # a bad file is reported here, before any data is loaded
            load_checkpoint(cfg.ckpt_path)
        with run_lock(run_dir), distributed_job(run_dir):
            return _fit_and_test(cfg, run_dir)


def _fit_and_test(cfg: DictConfig, run_dir: Path) -> dict[str, float]:
    pl.seed_everything(cfg.seed, workers=True)
    datamodule = build_datamodule(cfg.data)
    task = build_task(cfg, datamodule)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    trainer = build_trainer(cfg, resolved, datamodule)
    # a resumed run keeps the record of the environment it started in
    if trainer.is_global_zero and not (run_dir / ENVIRONMENT_FILE).exists():
        write_environment(run_dir, cfg.seed, str(cfg.trainer.get("accelerator", "auto")))

    trainer.fit(task, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    if trainer.checkpoint_callback is not None and trainer.checkpoint_callback.best_model_path:
        load_weights(task, trainer.checkpoint_callback.best_model_path)
    metrics: dict[str, float] = {}
    metrics.update(trainer.validate(task, datamodule=datamodule, verbose=False)[0])
    metrics.update(trainer.test(task, datamodule=datamodule, verbose=False)[0])
    if trainer.is_global_zero:
        write_metrics(run_dir, metrics)
        log_hparams(trainer.loggers, resolved, run_dir, metrics)
        print_summary(run_dir, metrics)
    return metrics


def log_hparams(
    loggers: list[Logger], resolved: dict[str, Any], run_dir: Path, metrics: dict[str, float]
) -> None:
    """Record the run's settings with its final metrics: TensorBoard's HParams table gets the
    chosen settings (cnnlab.config.hparams), other loggers (MLflow, CSV) every setting."""
    table, settings = run_hparams(resolved, run_dir)
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(AttributeDict(table), metrics)
        else:
            logger.log_hyperparams(AttributeDict(settings))
        # the Trainer already finalized its loggers; without this flush the event writer's
        # background thread can lose the hparams summaries when the process exits
        logger.finalize("success")


def print_summary(run_dir: Path, metrics: dict[str, float]) -> None:
    width = max(map(len, metrics), default=0)
    lines = [f"  {name:<{width}}  {value:.4f}" for name, value in sorted(metrics.items())]
    console.info(
        "\n".join(
            [
                "",
                f"Run directory: {run_dir}",
                "Final metrics:",
                *lines,
                f"TensorBoard:   tensorboard --logdir {run_dir}",
                "",
            ]
        )
    )
