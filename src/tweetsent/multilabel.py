"""Multi-label classification: rows such as ``happy|surprise`` kept, not dropped.

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
from tweetsent.data import LabelledData, resolve_data_config
from tweetsent.errors import DataError

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)


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
            raise DataError(f"{data.source}: row {row + 1} has an empty label set ({raw!r})")
        labels.append(sep.join(parts))
    return LabelledData(data.texts, labels, data.source, data.dropped)


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
    return data.subset(train_idx), data.subset(val_idx)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))


def tune_thresholds(y_true: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Per label, the threshold on THRESHOLD_GRID with the best F1 on these rows.

    Ties go to the threshold nearest 0.5; a label without positives here keeps 0.5.
    """
    from sklearn.metrics import f1_score

    thresholds = np.full(y_true.shape[1], 0.5)
    for j in range(y_true.shape[1]):
        if y_true[:, j].sum() == 0:
            continue
        scores = [
            (f1_score(y_true[:, j], proba[:, j] >= t, zero_division=0), -abs(t - 0.5), t)
            for t in THRESHOLD_GRID
        ]
        thresholds[j] = max(scores)[2]
    return thresholds


def apply_thresholds(proba: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Labels at or above their threshold; a row with none gets its most probable label."""
    predicted = proba >= np.asarray(thresholds)[None, :]
    empty = ~predicted.any(axis=1)
    predicted[empty, proba[empty].argmax(axis=1)] = True
    return predicted


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict:
    """Subset accuracy, micro / macro / weighted / samples F1, Hamming loss and per-label F1."""
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        hamming_loss,
        precision_recall_fscore_support,
    )

    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, zero_division=0
    )
    per_class = {}
    for i, label in enumerate(labels):
        correct = int(((y_true[:, i] == 1) & (y_pred[:, i] == 1)).sum())
        per_class[label] = {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "correct": correct,
            "accuracy": f"{correct}/{int(support[i])}",
        }
    kw = {"zero_division": 0}
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),  # subset accuracy: the exact set
        "subset_accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_weighted": float(f1_score(y_true, y_pred, average="weighted", **kw)),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro", **kw)),
        "f1_micro": float(f1_score(y_true, y_pred, average="micro", **kw)),
        "f1_samples": float(f1_score(y_true, y_pred, average="samples", **kw)),
        "hamming_loss": float(hamming_loss(y_true, y_pred)),
        "per_class": per_class,
        "labels": list(labels),
        "multi_label": True,
    }


def binary_cross_entropy(proba: np.ndarray, y_true: np.ndarray) -> float:
    proba = np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1 - 1e-12)
    y_true = np.asarray(y_true, dtype=np.float64)
    return float(-np.mean(y_true * np.log(proba) + (1 - y_true) * np.log(1 - proba)))


__all__ = [
    "apply_thresholds",
    "binary_cross_entropy",
    "canonical",
    "keep_multilabel_rows",
    "label_vocabulary",
    "multi_hot",
    "multilabel_metrics",
    "multilabel_split",
    "sigmoid",
    "soft_separator",
    "soft_targets",
    "split_off_multilabel",
    "split_labels",
    "tune_thresholds",
]
