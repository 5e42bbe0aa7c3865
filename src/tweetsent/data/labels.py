"""Label sets: rows such as ``happy|surprise`` kept, not dropped, as multi-hot or soft targets.

A multi-label run trains a sigmoid head (``problem_type="multi_label_classification"``, binary
cross-entropy), tunes one decision threshold per label on the validation set, and saves the
thresholds in the model's ``config.json`` (``tweetsent_thresholds``), so prediction answers
with a set of labels per text exactly as validation scored it.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence

import numpy as np

from tweetsent.config import DataConfig
from tweetsent.data.presets import resolve_data_config
from tweetsent.data.reading import LabelledData
from tweetsent.errors import DataError


def keep_multilabel_rows(cfg: DataConfig) -> DataConfig:
    """The data config with its multi-label row filter (e.g. the SMILE preset's) switched off."""
    # The preset is resolved first and then cleared, so loading does not fill the filter back in.
    return dataclasses.replace(resolve_data_config(cfg), preset=None, drop_multilabel=None)


def split_labels(raw: str, sep: str) -> list[str]:
    """``" happy | surprise"`` -> ``["happy", "surprise"]`` (stripped, no repeats, sorted)."""
    return sorted({part.strip() for part in str(raw).split(sep) if part.strip()})


def canonical(data: LabelledData, sep: str) -> LabelledData:
    """The same rows with each label written as its sorted label set joined by ``sep``."""
    labels = []
    for row, raw in enumerate(data.labels):
        parts = split_labels(raw, sep)
        if not parts:
            where = data.rows[row] if data.rows else row + 1
            raise DataError(f"{data.source}: row {where} has an empty label set ({raw!r})")
        labels.append(sep.join(parts))
    return dataclasses.replace(data, labels=labels)  # rows, source and dropped kept


def label_vocabulary(labels: Sequence[str], sep: str) -> list[str]:
    return sorted({part for raw in labels for part in split_labels(raw, sep)})


def multi_hot(labels: Sequence[str], vocabulary: Sequence[str], sep: str) -> np.ndarray:
    index = {label: i for i, label in enumerate(vocabulary)}
    out = np.zeros((len(labels), len(vocabulary)), dtype=np.float32)
    for row, raw in enumerate(labels):
        for part in split_labels(raw, sep):
            out[row, index[part]] = 1.0
    return out


def soft_separator(config) -> str | None:
    """The separator of the rows a single-label run trains on as soft targets, else None.

    Soft rows are the ones cleaning would drop as multi-label (``drop_multilabel``, e.g. the
    SMILE preset's ``|``); without that filter a label such as ``a|b`` stays a class of its own.
    """
    if config.multi_label or config.multi_label_rows != "soft":
        return None
    return resolve_data_config(config.data).drop_multilabel


def split_off_multilabel(data: LabelledData, sep: str) -> tuple[LabelledData, LabelledData]:
    """Single-label runs with soft multi-label rows: ``(single-label rows, multi-label rows)``.

    Multi-label rows come back canonical (``happy|surprise``). Rows naming a label that no
    single-label row has are dropped and counted: no class may exist only as a share.
    """
    single = [i for i, raw in enumerate(data.labels) if sep not in raw]
    known = {data.labels[i] for i in single}
    multi, unknown = [], 0
    for i, raw in enumerate(data.labels):
        if sep in raw:
            parts = split_labels(raw, sep)
            if parts and set(parts) <= known:
                multi.append(i)
            else:
                unknown += 1
    rows = data.subset(single)
    rows.dropped = dict(data.dropped)
    if unknown:
        rows.dropped["multi-label with a label no single-label row has"] = unknown
    extra = canonical(data.subset(multi), sep)
    return rows, extra


def soft_targets(labels: Sequence[str], vocabulary: Sequence[str], sep: str) -> np.ndarray:
    """One probability row per label string: one-hot, or shared evenly (``a|b`` -> 0.5 each)."""
    hot = multi_hot(labels, vocabulary, sep)
    return hot / hot.sum(axis=1, keepdims=True)


def multilabel_split(
    data: LabelledData, val_size: float, seed: int, sep: str
) -> tuple[LabelledData, LabelledData]:
    """A split stratified by label combination; combinations seen once share one stratum."""
    from sklearn.model_selection import train_test_split

    counts = Counter(data.labels)
    if len(label_vocabulary(data.labels, sep)) < 2:
        raise DataError(f"{data.source}: only one label; a classifier needs at least two")
    keys = [label if counts[label] >= 2 else "<rare>" for label in data.labels]
    if keys.count("<rare>") == 1:  # a stratum of one cannot be split; fold it into the largest
        keys = [counts.most_common(1)[0][0] if k == "<rare>" else k for k in keys]
    try:
        train_idx, val_idx = train_test_split(
            list(range(len(data))), test_size=val_size, random_state=seed, stratify=keys
        )
    except ValueError as exc:
        raise DataError(f"{data.source}: cannot split {len(data)} rows ({exc})") from None
    train = data.subset(train_idx)
    train.dropped = dict(data.dropped)  # what cleaning dropped from the file: the run's summary
    return train, data.subset(val_idx)


def apply_thresholds(proba: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Labels at or above their threshold; a row with none gets its most probable label."""
    predicted = proba >= np.asarray(thresholds)[None, :]
    empty = ~predicted.any(axis=1)
    predicted[empty, proba[empty].argmax(axis=1)] = True
    return predicted


__all__ = [
    "apply_thresholds",
    "canonical",
    "keep_multilabel_rows",
    "label_vocabulary",
    "multi_hot",
    "multilabel_split",
    "soft_separator",
    "soft_targets",
    "split_off_multilabel",
    "split_labels",
]
