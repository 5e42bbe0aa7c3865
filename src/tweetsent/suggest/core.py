"""Active learning: the tweets from an unlabelled pool worth labelling next.

A trained run scores the pool; the most uncertain tweets (``margin``: smallest gap between the
two most probable labels; ``entropy``: the most spread-out probabilities) are the candidates,
and a diversity step keeps the N chosen from being near-copies of each other: the
``factor * N`` most uncertain candidates are embedded (the embedded MiniLM, mean-pooled, as in
``tweetsent audit``), clustered into N groups with k-means, and each group gives its most
uncertain tweet. ``random`` picks N at random: the control to compare a labelling loop with.

The output is ready to label: the text and an empty label column named as in the run's
training data, so the labelled file joins the old labels by column name (see README,
*Better labels*); ``train`` drops rows whose label is still empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from tweetsent.config import DataConfig
from tweetsent.data.duplicates import duplicate_key
from tweetsent.data.labels import apply_thresholds
from tweetsent.data.normalize import clean_tweet
from tweetsent.data.presets import resolve_data_config
from tweetsent.data.reading import read_table, require_column
from tweetsent.errors import ConfigError, DataError
from tweetsent.fileio import atomic_write_bytes, check_output_file
from tweetsent.inference.predictor import TweetClassifier
from tweetsent.modeling.embeddings import sentence_embeddings
from tweetsent.rules import seed as seed_rule

logger = logging.getLogger(__name__)

STRATEGIES = ("margin", "entropy", "random")
DEFAULT_FACTOR = 5


def uncertainty(proba: np.ndarray, strategy: str, thresholds=None) -> np.ndarray:
    """Higher = more uncertain. Single-label: ``1 - (p1 - p2)`` (margin) or the entropy of the
    softmax. Multi-label (``thresholds`` given): ``1 - min |p - t|`` over labels (margin) or the
    sum of the labels' binary entropies."""
    proba = np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0)
    if strategy not in ("margin", "entropy"):
        raise ConfigError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if thresholds is not None:
        if strategy == "margin":
            return 1.0 - np.abs(proba - np.asarray(thresholds)).min(axis=1)
        q = np.clip(1.0 - proba, 1e-12, 1.0)
        return -(proba * np.log(proba) + q * np.log(q)).sum(axis=1)
    if strategy == "margin":
        top2 = np.sort(proba, axis=1)[:, -2:]
        return 1.0 - (top2[:, 1] - top2[:, 0])
    return -(proba * np.log(proba)).sum(axis=1)


def select(
    proba: np.ndarray,
    n: int,
    *,
    strategy: str = "margin",
    embed: Callable[[np.ndarray], np.ndarray] | None = None,
    factor: int = DEFAULT_FACTOR,
    thresholds=None,
    seed: int = 17,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into ``proba``'s rows) of the ``n`` to label, most uncertain first, and their
    uncertainty scores.

    ``embed(indices) -> vectors`` embeds candidate rows for the diversity step (None or
    ``factor`` 1: the ``n`` most uncertain, no diversity).
    """
    rows = len(proba)
    if not isinstance(n, int) or n <= 0:
        raise ConfigError(f"n must be a positive number of tweets, got {n!r}")
    seed_rule("seed", seed)
    n = min(n, rows)
    if strategy == "random":
        chosen = np.random.default_rng(seed).choice(rows, n, replace=False)
        return chosen, np.full(n, np.nan)
    scores = uncertainty(proba, strategy, thresholds)
    order = np.argsort(-scores, kind="stable")
    if embed is None or factor <= 1 or n == rows:
        chosen = order[:n]
        return chosen, scores[chosen]
    from sklearn.cluster import KMeans

    candidates = order[: min(rows, n * factor)]
    vectors = embed(candidates)
    groups = KMeans(n_clusters=n, n_init=3, random_state=seed).fit_predict(vectors)
    chosen = []
    for g in range(n):
        members = candidates[groups == g]
        if len(members):  # the first member is the most uncertain: candidates are in order
            chosen.append(members[0])
    chosen = np.array(sorted(chosen, key=lambda i: -scores[i]), dtype=int)
    return chosen, scores[chosen]


def suggest(
    run_dir: str | Path | TweetClassifier,
    pool_path: str | Path,
    n: int,
    data_config: DataConfig | None = None,
    *,
    strategy: str = "margin",
    factor: int = DEFAULT_FACTOR,
    seed: int = 17,
    backend: str = "auto",
    precision: str = "auto",
    batch_size: int = 64,
) -> pd.DataFrame:
    """The ``n`` tweets of ``pool_path`` to label next, as a frame ready to write.

    Args:
        run_dir: a run directory, or a loaded ``TweetClassifier``.
        pool_path: the unlabelled tweets.
        n: how many to pick.
        data_config: how to read the pool; default: the run's text column.
        strategy: ``margin``, ``entropy`` or ``random`` (the check).
        factor: ``factor`` × ``n`` most uncertain are clustered for diversity (1: none).
        seed: the clustering's and ``random``'s seed.
        backend: the inference engine.
        precision: ``auto``, ``fp32`` or ``bf16`` (as for ``TweetClassifier.load``).
        batch_size: texts per forward pass.

    Returns:
        The run's text and (empty) label columns, ``rank``, ``pool_row``, ``predicted_label``,
        ``confidence``, ``uncertainty``, then the pool's other columns.

    Raises:
        ConfigError: a bad option.
        DataError: the pool cannot be read or has no usable tweets.
    """
    _check_options(strategy, factor, n, seed)
    classifier = _classifier(run_dir, backend, precision, batch_size)
    cfg = resolve_data_config(data_config or _pool_config(classifier.data_config))
    frame, text_col, usable = _read_pool(pool_path, cfg, n)
    pool_texts = frame[text_col].iloc[usable].fillna("").astype(str).tolist()
    random = strategy == "random"
    proba = np.zeros((len(usable), len(classifier.labels))) if random else None
    proba = classifier.predict_proba(pool_texts) if proba is None else proba

    def embed(indices: np.ndarray) -> np.ndarray:
        return sentence_embeddings([_clean(classifier, pool_texts[i]) for i in indices])

    chosen, scores = select(
        proba,
        min(n, len(usable)),
        strategy=strategy,
        embed=embed,
        factor=factor,
        thresholds=classifier.thresholds if classifier.multi_label else None,
        seed=seed,
    )
    # random: predictions for the record, for the chosen rows only
    proba = classifier.predict_proba([pool_texts[i] for i in chosen]) if random else proba[chosen]
    label_col = _label_column(classifier.data_config, cfg)
    return _to_label(frame, text_col, label_col, usable[chosen], scores, classifier, proba)


def _classifier(run_dir, backend: str, precision: str, batch_size: int) -> TweetClassifier:
    if isinstance(run_dir, TweetClassifier):
        return run_dir
    return TweetClassifier.load(
        run_dir, backend=backend, precision=precision, batch_size=batch_size
    )


def _check_options(strategy: str, factor: int, n: int, seed: int) -> None:
    if strategy not in STRATEGIES:
        raise ConfigError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if not isinstance(factor, int) or factor < 1:
        raise ConfigError(f"the candidate factor must be a positive integer, got {factor!r}")
    if not isinstance(n, int) or n <= 0:
        raise ConfigError(f"n must be a positive number of tweets, got {n!r}")
    seed_rule("seed", seed)


def _read_pool(pool_path, cfg: DataConfig, n: int) -> tuple[pd.DataFrame, str, np.ndarray]:
    """The pool's table, its text column, and the rows worth considering: empty tweets teach
    nothing and a repeated tweet needs one label, so each text is kept once."""
    frame = read_table(pool_path, cfg)
    text_col = cfg.text_col
    if text_col is None and frame.shape[1] == 1:
        text_col = frame.columns[0]
    text_col = require_column(frame, text_col, "text", pool_path)
    keys = frame[text_col].fillna("").astype(str).map(duplicate_key)
    usable = np.flatnonzero(((keys != "") & ~keys.duplicated()).to_numpy())
    if len(usable) == 0:
        raise DataError(f"{pool_path}: no tweets to choose from")
    if n > len(usable):
        logger.warning(
            "%s: only %d distinct tweets; suggesting all of them", pool_path, len(usable)
        )
    return frame, text_col, usable


def _to_label(frame, text_col, label_col, rows, scores, classifier, proba) -> pd.DataFrame:
    """The chosen rows, ready to label: text, an empty label, then what the model thought."""
    picked = frame.iloc[rows]
    out = pd.DataFrame(
        {
            text_col: picked[text_col].fillna("").astype(str).to_numpy(),
            label_col: "",
            "rank": np.arange(1, len(rows) + 1),
            "pool_row": rows + 1,
            "predicted_label": _predicted(classifier, proba),
            "confidence": proba.max(axis=1).round(6),
            "uncertainty": np.round(scores, 6),
        }
    )
    for column in frame.columns:
        if column not in out.columns and column not in (text_col, label_col):
            out[column] = picked[column].to_numpy()
    return out


def _pool_config(run_data: DataConfig | None) -> DataConfig:
    """The run's own layout for the pool (text column, format, header); labels not needed."""
    if run_data is None:
        return DataConfig()
    return DataConfig(
        preset=run_data.preset,
        text_col=run_data.text_col,
        format=run_data.format,
        header=run_data.header,
        columns=run_data.columns,
        encoding=run_data.encoding,
    )


def _label_column(run_data: DataConfig | None, pool: DataConfig) -> str:
    for cfg in (run_data, pool):
        if cfg is not None:
            label = resolve_data_config(cfg).label_col
            if isinstance(label, str) and label and not label.isdigit():
                return label
    return "label"


def _clean(classifier, text: str) -> str:
    """The text as the run's model reads it (normalised, emoji named, if it trained so)."""

    return clean_tweet(text, normalize=classifier.normalize, demojize_emoji=classifier.demojize)


def _predicted(classifier, proba: np.ndarray) -> list[str]:
    if classifier.multi_label:
        sep = classifier.config.label_sep if classifier.config else "|"
        chosen = apply_thresholds(proba, classifier.thresholds)
        return [
            sep.join(lab for lab, on in zip(classifier.labels, r, strict=True) if on)
            for r in chosen
        ]
    return [classifier.labels[i] for i in proba.argmax(axis=1)]


def write_suggestions(frame: pd.DataFrame, out: str | Path) -> Path:
    """Write the suggestions as CSV, under a temporary name renamed into place.

    Args:
        frame: what :func:`suggest` returned.
        out: the CSV to write.

    Returns:
        The path written.

    Raises:
        ConfigError: an output that is not a regular file name, or a file the command read.
    """
    out = check_output_file(out)
    atomic_write_bytes(out, frame.to_csv(index=False).encode("utf-8"))
    return out


__all__ = ["STRATEGIES", "select", "suggest", "uncertainty", "write_suggestions"]
