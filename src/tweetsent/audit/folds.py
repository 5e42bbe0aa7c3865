"""``tweetsent audit --mode finetune``: out-of-fold probabilities from one training run per fold.

Here rather than in :mod:`tweetsent.audit.core` because it trains, and training sits above
evaluation in the package's layers.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tweetsent.audit.core import AuditResult, audit
from tweetsent.config import DataConfig, TrainConfig
from tweetsent.errors import ConfigError, DataError
from tweetsent.inference.predictor import TweetClassifier
from tweetsent.training.run import train

logger = logging.getLogger(__name__)


def audit_finetune(*args: Any, **kwargs: Any) -> AuditResult:
    """:func:`tweetsent.audit.core.audit` in finetune mode: one ``train`` run per fold.

    Args:
        *args: as for :func:`tweetsent.audit.core.audit`.
        **kwargs: as for :func:`tweetsent.audit.core.audit` (``work_dir`` keeps the fold runs:
            a new or empty folder, or an earlier audit's).

    Returns:
        The audit.

    Raises:
        ConfigError: a bad option, or a ``work_dir`` holding other files.
        DataError: the data cannot be read, or a class is too small for the folds.
    """
    kwargs["mode"] = "finetune"
    return audit(*args, oof=finetune_oof, **kwargs)


WORK_MARKER = ".tweetsent-audit"


def _work_root(root: Path) -> Path:
    """The folder for the fold runs: new, empty, or an earlier audit's (its marker there).
    A folder of someone's files is refused: the folds' files would overwrite theirs."""
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root}: --work-dir exists and is not a directory")
    if root.is_dir() and any(root.iterdir()) and not (root / WORK_MARKER).is_file():
        raise ConfigError(
            f"{root}: --work-dir holds files that are not an earlier audit's; choose a new or "
            "empty folder"
        )
    root.mkdir(parents=True, exist_ok=True)
    (root / WORK_MARKER).touch()
    return root


def finetune_oof(data, labels, folds, recipe: TrainConfig, model, seed, work_dir) -> np.ndarray:
    """Train one run per fold (K-1 folds, its own validation split inside them), and predict
    the held-out fold with that run's calibrated probabilities."""

    proba = np.zeros((len(data), len(labels)), dtype=np.float64)
    holder = None if work_dir else tempfile.TemporaryDirectory(prefix="tweetsent-audit-")
    root = _work_root(Path(work_dir or holder.name))
    try:
        for k, (train_idx, held_idx) in enumerate(folds, start=1):
            fold_dir = root / f"fold-{k}"
            fold_dir.mkdir(exist_ok=True)
            train_file = fold_dir / "train.csv"
            # Raw texts: train() normalises them as its recipe says, as it would any file.
            pd.DataFrame(
                {
                    "text": [data.texts[i] for i in train_idx],
                    "label": [data.labels[i] for i in train_idx],
                }
            ).to_csv(train_file, index=False)
            config = dataclasses.replace(
                recipe,
                data_path=str(train_file),
                data=DataConfig(text_col="text", label_col="label"),
                val_file=None,
                limit=None,
                model=model if model is not None else recipe.model,
                seed=seed,
            )
            logger.info("fold %d/%d: training on %d rows", k, len(folds), len(train_idx))
            run = train(config, fold_dir / "run", overwrite=True, progress=False)
            classifier = TweetClassifier.load(run.run_dir, backend="torch")
            missing = sorted(set(labels) - set(classifier.labels))
            if missing:  # a class too small to reach this fold's training split
                raise DataError(f"fold {k}: class {missing[0]!r} missing from its training rows")
            columns = [classifier.labels.index(label) for label in labels]
            held = classifier.predict_proba([data.texts[i] for i in held_idx])
            proba[held_idx] = held[:, columns]
    finally:
        if holder is not None:
            holder.cleanup()
    return proba
