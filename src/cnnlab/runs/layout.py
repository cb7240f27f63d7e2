"""The run-directory contract: every file, folder, environment variable and default, in one place.

Everything that reads or writes a run directory takes its names from here (nanoGPT keeps all its
defaults in one commented block; this is that block for the files cnnlab leaves behind).

    $CNNLAB_LOG_DIR (default outputs)/
      <run_name>/<date>_<time>/              one run, never reused (a suffix _1, _2 if taken)
        .hydra/config.yaml, overrides.yaml, hydra.yaml   what ran, as Hydra saved it
        checkpoints/best.ckpt, last.ckpt       + <name>.ckpt.sha256 beside each
        metrics.json                           final val/ and test/ metrics of the best checkpoint
        environment.json                       versions, git commit, seed, device, command
        status.json, error.txt                 a sweep job's outcome
        train.log                              what the console showed
        .lock                                  held while a process trains here
      multirun/<run_name>/<date>_<time>/       a sweep: <job number>/ per job, summary.csv/.md
      eval/<date>_<time>/                      cnnlab-eval's metrics.json
    <run dir>_reproduce/                       cnnlab-reproduce's rerun
"""

from __future__ import annotations

import os
from pathlib import Path

# environment variables
LOG_DIR_ENV = "CNNLAB_LOG_DIR"  # where run directories go
DATA_DIR_ENV = "CNNLAB_DATA_DIR"  # where downloaded data sets go
RUN_DIR_ENV = "CNNLAB_RUN_DIR"  # set while a job trains: its DDP ranks join this run directory
JOB_ARGS_ENV = "CNNLAB_JOB_ARGS"  # set while a job trains: the overrides its ranks compose
OFFLINE_ENV = "CNNLAB_OFFLINE"  # 1: never try to download weights
DEFAULT_LOG_DIR = "outputs"
DEFAULT_DATA_DIR = "data"

# inside a run directory
HYDRA_DIR = ".hydra"
CONFIG_FILE = f"{HYDRA_DIR}/config.yaml"
HYDRA_FILE = f"{HYDRA_DIR}/hydra.yaml"
OVERRIDES_FILE = f"{HYDRA_DIR}/overrides.yaml"
CHECKPOINT_DIR = "checkpoints"
BEST_CHECKPOINT = f"{CHECKPOINT_DIR}/best.ckpt"
LAST_CHECKPOINT = f"{CHECKPOINT_DIR}/last.ckpt"
CHECKSUM_SUFFIX = ".sha256"
METRICS_FILE = "metrics.json"
ENVIRONMENT_FILE = "environment.json"
STATUS_FILE = "status.json"
ERROR_FILE = "error.txt"
LOG_FILE = "train.log"
LOCK_FILE = ".lock"

# beside run directories
SUMMARY_NAME = "summary"  # summary.csv and summary.md in a sweep directory
REPRODUCE_SUFFIX = "_reproduce"


def log_dir() -> Path:
    """The folder that holds every run: $CNNLAB_LOG_DIR, else ./outputs."""
    return Path(os.environ.get(LOG_DIR_ENV, DEFAULT_LOG_DIR))
