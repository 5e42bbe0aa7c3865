"""A training run's data: loaded, cleaned and split exactly as ``train`` (and the baseline,
cross-validation and the benchmarks) see it."""

from __future__ import annotations

import logging
from pathlib import Path

from tweetsent import fileio
from tweetsent.config import TrainConfig
from tweetsent.data import labels as ml
from tweetsent.data.checks import is_stream
from tweetsent.data.normalize import clean_tweet
from tweetsent.data.presets import resolve_data_config
from tweetsent.data.reading import LabelledData, load_labelled
from tweetsent.data.split import stratified_split
from tweetsent.errors import ConfigError, DataError

logger = logging.getLogger(__name__)


def prepare_data(config: TrainConfig) -> tuple[LabelledData, LabelledData]:
    """Load, clean and split the data exactly as a training run does."""
    if not config.data_path:
        raise ConfigError("no training data given (pass DATA or data_path in --config)")
    for path in (config.data_path, config.val_file):
        if path and is_stream(path):  # read again for inputs.json, and by --resume
            raise ConfigError(
                f"{path}: a pipe, not a file; training reads its data more than once (to split, "
                "to fingerprint it for --resume), so save it to a file first"
            )
    _check_held_out(config)
    data_config = run_data_config(config)
    soft = ml.soft_separator(config)
    data = cleaned(load_labelled(config.data_path, data_config, limit=config.limit), config)
    extra = None
    if soft:  # single-label rows are split as usual; the multi-label ones only ever train
        data, extra = ml.split_off_multilabel(data, soft)
    if config.val_file:
        train_data = data
        val = cleaned(load_labelled(config.val_file, data_config), config)
        if soft:
            val, _ = ml.split_off_multilabel(val, soft)
        known = run_labels(train_data, config)
        if len(known) < 2:
            raise DataError(f"{config.data_path}: only one class; a classifier needs two")
        unknown = sorted(set(run_labels(val, config)) - set(known))
        if unknown:
            raise DataError(
                f"{config.val_file}: label(s) absent from the training data: {', '.join(unknown)}"
            )
    elif config.multi_label:
        return ml.multilabel_split(data, config.val_size, config.split_seed, config.label_sep)
    else:
        train_data, val = stratified_split(data, config.val_size, config.split_seed)
    if extra:
        logger.info("%d multi-label row(s) join the training rows as soft targets", len(extra))
        train_data = LabelledData(
            train_data.texts + extra.texts,
            train_data.labels + extra.labels,
            train_data.source,
            train_data.dropped,
        )
    return train_data, val


def _check_held_out(config: TrainConfig) -> None:
    """A ``val_file`` with the training file's bytes (the same file, a link or a copy) would
    choose the best epoch and fit the temperature on training rows: refused, not trained."""
    paths = (config.val_file, config.data_path)
    if not all(path and Path(path).is_file() for path in paths):
        return  # the reader names a missing file; a datasets folder is never a val_file
    if fileio.content_digest(config.val_file) == fileio.content_digest(config.data_path):
        raise ConfigError(
            f"{config.val_file}: holds the same data as the training file {config.data_path}; "
            "validation rows must be held out (drop --val-file to split them off)"
        )


def run_data_config(config: TrainConfig):
    """How a run reads its data file: the data config, with multi-label rows kept where the
    run trains on them (multi-label runs, or soft targets of a single-label run)."""
    data_config = resolve_data_config(config.data)
    if config.multi_label or ml.soft_separator(config):
        data_config = ml.keep_multilabel_rows(data_config)
    return data_config


def cleaned(data: LabelledData, config: TrainConfig) -> LabelledData:
    """Normalised (and demojized) texts if asked and, for multi-label runs, canonical label
    sets."""
    if config.normalize or config.demojize:
        data.texts = [
            clean_tweet(text, normalize=config.normalize, demojize_emoji=config.demojize)
            for text in data.texts
        ]
    return ml.canonical(data, config.label_sep) if config.multi_label else data


def run_labels(data: LabelledData, config: TrainConfig) -> list[str]:
    """The label vocabulary a run on ``data`` trains: classes, or labels of label sets."""
    if config.multi_label:
        return ml.label_vocabulary(data.labels, config.label_sep)
    sep = ml.soft_separator(config)
    return ml.label_vocabulary(data.labels, sep) if sep else data.label_set


__all__ = ["cleaned", "prepare_data", "run_labels"]
