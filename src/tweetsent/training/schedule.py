"""Size-aware defaults: the batch size and epoch count chosen from the number of training rows.

A fixed recipe does not hold across data sizes (bench/history/RESULTS-2026-11.md, quality
suite): batch 8 for 6 epochs was right for
SMILE's 1,258 tweets, took 1.8x the plain recipe's time for no gain on 3,000 and over-fitted
(validation loss 0.73 -> 1.77); batch 32 for 5 epochs gives a 500-tweet stance set only 80
optimizer steps and lost 12-24 points there. So with ``epochs`` / ``batch_size`` left at
``auto`` the run aims at a number of optimizer steps rather than of epochs: small sets get
small batches and more passes, large sets large batches (faster per tweet on a CPU) and few.
The numbers resolved are saved in the run's ``config.json``, so a run can be repeated exactly.
"""

from __future__ import annotations

import dataclasses
import logging
import math

from tweetsent.config import AUTO, TrainConfig

logger = logging.getLogger(__name__)

TARGET_STEPS = 600  # optimizer steps a run aims at (the 3,000-tweet win of plain took 470)
MIN_EPOCHS, MAX_EPOCHS = 3, 10
# (rows below, batch size): the first bound the training set falls under picks the batch.
BATCH_BY_ROWS = ((1_000, 8), (4_000, 16))
LARGE_BATCH = 32


def auto_batch_size(train_rows: int) -> int:
    for bound, batch in BATCH_BY_ROWS:
        if train_rows < bound:
            return batch
    return LARGE_BATCH


def auto_epochs(train_rows: int, batch_size: int, processes: int = 1) -> int:
    steps_per_epoch = max(1, math.ceil(train_rows / (batch_size * processes)))
    return min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / steps_per_epoch)))


def resolve_schedule(config: TrainConfig, train_rows: int, processes: int = 1) -> TrainConfig:
    """``config`` with ``auto`` batch size and epochs replaced by numbers for ``train_rows``."""
    if config.batch_size != AUTO and config.epochs != AUTO:
        return config
    batch = auto_batch_size(train_rows) if config.batch_size == AUTO else config.batch_size
    epochs = auto_epochs(train_rows, batch, processes) if config.epochs == AUTO else config.epochs
    logger.debug("schedule for %d training rows: batch %d, %d epochs", train_rows, batch, epochs)
    return dataclasses.replace(config, batch_size=batch, epochs=epochs)
