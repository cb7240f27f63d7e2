"""The run-directory contract: every file, folder, environment variable and default, in one place.

Everything that reads or writes a run directory takes its names from here, the way nanoGPT keeps
all its defaults in one commented block:

    $CNNLAB_LOG_DIR (default outputs)/
      <run_name>/<date>_<time>/              one run, never reused (suffix _1, _2 if taken)
        .hydra/config.yaml, overrides.yaml, hydra.yaml   what ran, as Hydra saved it
        checkpoints/best.ckpt, last.ckpt       each with NAME.ckpt.sha256 beside it
        metrics.json                           final val/ and test/ metrics of the best checkpoint
        environment.json                       versions, git commit, seed, device, command
        status.json, error.txt                 a sweep job's outcome (and its traceback)
        train.log                              what the console showed, the error included
        train.lock                             flock-ed by the process training here; its PID
      multirun/<run_name>/<date>_<time>/       a sweep: <job number>/ per job, summary.csv/.md,
                                               multirun.yaml; a search: study.json/.md, PNGs
      optuna/<study>.log                       an Optuna study's journal (the default storage)
      mlflow.db                                logger=mlflow's local tracking store
      eval/<date>_<time>/                      cnnlab-eval's own metrics.json
      predict/<date>_<time>/                   cnnlab-predict's outputs (names below)
      export/<date>_<time>/                    cnnlab-export's model file and its JSON sidecar
    <run dir>_reproduce/                       cnnlab-reproduce's rerun of <run dir>
"""

from __future__ import annotations

import os
from pathlib import Path

# Environment variables
LOG_DIR_ENV = "CNNLAB_LOG_DIR"  # where run directories go (conf/paths reads it too)
DATA_DIR_ENV = "CNNLAB_DATA_DIR"  # where downloaded data sets go (conf/paths)
OFFLINE_ENV = "CNNLAB_OFFLINE"  # 1: never try to download pretrained weights
RUN_DIR_ENV = "CNNLAB_RUN_DIR"  # set while a job trains: its DDP ranks join this run directory
JOB_ARGS_ENV = "CNNLAB_JOB_ARGS"  # set while a job trains: the overrides its ranks compose
DEFAULT_LOG_DIR = "outputs"

# Inside a run directory
HYDRA_DIR = ".hydra"  # Hydra's record of the job, three files:
CONFIG_FILE = Path(HYDRA_DIR) / "config.yaml"  # the composed config, every override applied
HYDRA_FILE = Path(HYDRA_DIR) / "hydra.yaml"  # Hydra's own settings (answers ${hydra:...})
OVERRIDES_FILE = Path(HYDRA_DIR) / "overrides.yaml"  # the command-line overrides
CHECKPOINT_DIR = "checkpoints"
BEST_CHECKPOINT = Path(CHECKPOINT_DIR) / "best.ckpt"  # best by the task's monitored metric
LAST_CHECKPOINT = Path(CHECKPOINT_DIR) / "last.ckpt"  # after every epoch, SIGTERM and Ctrl-C
CHECKSUM_SUFFIX = ".sha256"  # beside every checkpoint: NAME.ckpt.sha256
METRICS_FILE = "metrics.json"  # written once a run has finished: it marks a run as finished
ENVIRONMENT_FILE = "environment.json"
STATUS_FILE = "status.json"  # a sweep job's outcome: ok, pruned, failed
ERROR_FILE = "error.txt"  # a failed sweep job's traceback
RUN_LOG = "train.log"
LOCK_FILE = "train.lock"

# Beside run directories
SUMMARY_NAME = "summary"  # summary.csv and summary.md in a sweep directory
REPRODUCE_SUFFIX = "_reproduce"  # RUN_DIR_reproduce: where cnnlab-reproduce reruns RUN_DIR

# What cnnlab-predict writes into its output folder (out=)
PREDICTIONS_FILE = "predictions.csv"  # classification: one row per file, top-k classes
BY_CLASS_DIR = "by_class"  # copy_into_class_folders=true: by_class/<class name>/<file>
MASKS_DIR = "predicted_masks"  # segmentation: one palette PNG of class indices per input
OVERLAYS_DIR = "mask_overlays"  # segmentation: the mask's colours over the input image
CLASS_PIXELS_FILE = "class_pixels.csv"  # segmentation: pixels of each class per image
RECONSTRUCTIONS_DIR = "reconstructed_images"  # autoencoder: one reconstruction PNG per input
LATENTS_FILE = "latents.npy"  # autoencoder: (images, latent_dim), rows in latents.csv's order
LATENTS_TABLE = "latents.csv"  # autoencoder: row, file
RECONSTRUCTION_ERRORS_FILE = "reconstruction_errors.csv"  # autoencoder: highest error first
PREDICT_ERRORS_FILE = "errors.csv"  # files that could not be read, with the reason

# What cnnlab-export writes by default: the model file, and beside it FILE.json (`sidecar`)
EXPORT_FILES = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}


# A sweep directory (multirun/<run_name>/<date>_<time>/) beside its numbered job directories
MULTIRUN_FILE = "multirun.yaml"  # Hydra's record of the sweep: its overrides, the swept keys

# Sweeps: resume and one GPU per job (resuming sweeper, runs/gpus.py)
RESUME_CHECKPOINT_ENV = "CNNLAB_RESUME_CHECKPOINT"  # set by a resumed sweep for an unfinished job
GPU_POOL_ENV = "CNNLAB_GPU_POOL"  # GPU ids sweep jobs share, e.g. 0,1,2,3 (default: all visible)
GPU_CLAIMS_DIR = ".gpu_claims"  # in a sweep dir: <id>.lock, flock-ed by the job using GPU <id>
SWEEPS_DIR = "multirun"  # under the log dir: multirun/<run_name>/<date>_<time>/ (resume=latest)

# Optuna search (hydra_plugins/cnnlab_search, cnnlab.search)
SEARCH_TRIAL_ENV = "CNNLAB_SEARCH_TRIAL"  # set for a trial's job: its Optuna trial id
STUDY_RECORD = "study.json"  # in a search's sweep dir: the study's name, storage, objectives
STUDY_REPORT = "study.md"  # in a search's sweep dir: best trial, its command, Pareto front
PLOT_PREFIX = "optuna_"  # the search's PNGs in its sweep dir: optuna_history.png, ...


def sidecar(model_file: Path) -> Path:
    """The JSON beside an exported model that says how to feed it: FILE.json."""
    return model_file.with_name(model_file.name + ".json")


def log_dir() -> Path:
    """The folder that holds every run: $CNNLAB_LOG_DIR, else ./outputs."""
    return Path(os.environ.get(LOG_DIR_ENV, DEFAULT_LOG_DIR))
