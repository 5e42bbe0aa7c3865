"""Classification metrics for imbalanced data, single-label and multi-label (tuned thresholds)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

logger = logging.getLogger(__name__)


def classification_metrics(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]
) -> dict:
    """Accuracy, weighted / macro / micro F1, MCC, per-class scores and the confusion matrix.

    ``y_true`` and ``y_pred`` are indices into ``labels``. Per-class accuracy comes in the
    tutorials' form too (``"happy": "161/171"``: correct predictions / true rows).
    """
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        matthews_corrcoef,
        precision_recall_fscore_support,
    )

    ids = list(range(len(labels)))
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    kw = dict(labels=ids, zero_division=0)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, **kw)
    matrix = confusion_matrix(y_true, y_pred, labels=ids)
    per_class = {}
    for i, label in enumerate(labels):
        correct, total = int(matrix[i, i]), int(support[i])
        per_class[label] = {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": total,
            "correct": correct,
            "accuracy": f"{correct}/{total}",
        }
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_weighted": float(f1_score(y_true, y_pred, average="weighted", **kw)),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro", **kw)),
        "f1_micro": float(f1_score(y_true, y_pred, average="micro", **kw)),
        "mcc": float(matthews_corrcoef(y_true, y_pred)),
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
        "labels": list(labels),
    }


def cross_entropy(probabilities: np.ndarray, y_true: Sequence[int]) -> float:
    """Mean negative log-likelihood of the true class (the validation loss)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    picked = probabilities[np.arange(len(y_true)), np.asarray(y_true, dtype=int)]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def format_per_class(metrics: dict, most: int = 30) -> str:
    """One line in the tutorials' form: ``happy 161/171, sad 2/5, ...`` (the first ``most``)."""
    items = list(metrics["per_class"].items())
    more = f", ... ({len(items) - most} more)" if len(items) > most else ""
    return ", ".join(f"{label} {row['accuracy']}" for label, row in items[:most]) + more


# --- multi-label: per-label thresholds tuned on validation ---------------------------------------
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)


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
    "THRESHOLD_GRID",
    "binary_cross_entropy",
    "classification_metrics",
    "cross_entropy",
    "format_per_class",
    "multilabel_metrics",
    "sigmoid",
    "tune_thresholds",
]
