"""One random stream per DDP rank, so ranks do not augment their shards identically."""

from __future__ import annotations

import random

import numpy as np
import pytorch_lightning as pl
import torch


class RankSeed(pl.Callback):
    """Reseed with `seed + global_rank` once the ranks exist; single-process runs are untouched.

    Every rank builds the model from the same seed (DDP broadcasts rank 0's weights anyway), but
    flips, crops and dropout should differ between ranks. Only the RNGs are reseeded, not
    `PL_GLOBAL_SEED`: Lightning's DistributedSampler reads that, and it must agree across ranks.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if trainer.world_size > 1:
            rank_seed = self.seed + trainer.global_rank
            random.seed(rank_seed)
            np.random.seed(rank_seed)
            torch.manual_seed(rank_seed)
