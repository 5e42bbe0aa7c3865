"""Classification metrics for imbalanced data, and evaluating a trained run on a file."""

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


def format_per_class(metrics: dict) -> str:
    """One line in the tutorials' form: ``happy 161/171, sad 2/5, ...``."""
    return ", ".join(f"{label} {row['accuracy']}" for label, row in metrics["per_class"].items())


def evaluate(
    run_dir, data_path, data_config=None, *, backend: str = "auto", batch_size: int = 64
) -> dict:
    """Score a trained run on a labelled file: loss plus every metric above.

    Raises ``DataError`` if the file holds labels the model was not trained on.
    """
    from tweetsent.config import DataConfig
    from tweetsent.data import load_labelled
    from tweetsent.errors import DataError
    from tweetsent.prediction import TweetClassifier

    warn_if_trained_on(run_dir, data_path)
    classifier = TweetClassifier.load(run_dir, backend=backend, batch_size=batch_size)
    data_config = data_config or classifier.data_config or DataConfig()
    if classifier.multi_label:
        return _evaluate_multilabel(classifier, data_path, data_config)
    data = load_labelled(data_path, data_config)
    known = set(classifier.labels)
    unknown = sorted(set(data.labels) - known)
    if unknown:
        raise DataError(
            f"{data_path}: label(s) the model was not trained on: {', '.join(unknown)} "
            f"(model labels: {', '.join(classifier.labels)})"
        )
    index = {label: i for i, label in enumerate(classifier.labels)}
    y_true = [index[label] for label in data.labels]
    proba = classifier.predict_proba(data.texts)
    metrics = classification_metrics(y_true, proba.argmax(axis=1), classifier.labels)
    metrics["loss"] = cross_entropy(proba, y_true)
    metrics["rows"] = len(data)
    metrics["dropped"] = data.dropped
    return metrics


def warn_if_trained_on(run_dir, data_path) -> bool:
    """Warn (and return True) when ``data_path`` is a file the run was trained on.

    Compared by content (the SHA-256 in the run's inputs.json), so a copy or another path to
    the same file is caught too. Scores on training rows overstate what the model does on new
    tweets, and nothing else in the output would say so.
    """
    import json
    from pathlib import Path

    from tweetsent.checkpoints import INPUTS

    run_dir = Path(run_dir)
    try:
        digests = json.loads((run_dir / INPUTS).read_text(encoding="utf-8"))
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        digest = _sha256(data_path)
    except (OSError, ValueError):
        return False  # no record (an older run) or no file: the loader reports the latter
    # The training file only: a separate --val-file is held out, and fine to score.
    trained = config.get("data_path")
    same = [trained] if trained and digests.get(str(trained)) == digest else []
    if same:
        logger.warning(
            "warning: %s is the data this run was trained on (%s): most of its rows were "
            "training rows, so these scores overstate quality on new tweets; evaluate a "
            "held-out file, or see the validation scores in %s",
            data_path,
            same[0],
            Path(run_dir) / "metrics.json",
        )
    return bool(same)


def _sha256(path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _evaluate_multilabel(classifier, data_path, data_config) -> dict:
    """Score a multi-label run with its saved thresholds: subset accuracy, micro/macro F1."""
    from tweetsent import multilabel as ml
    from tweetsent.data import load_labelled
    from tweetsent.errors import DataError

    sep = classifier.config.label_sep if classifier.config else "|"
    data = ml.canonical(load_labelled(data_path, ml.keep_multilabel_rows(data_config)), sep)
    unknown = sorted(set(ml.label_vocabulary(data.labels, sep)) - set(classifier.labels))
    if unknown:
        raise DataError(
            f"{data_path}: label(s) the model was not trained on: {', '.join(unknown)} "
            f"(model labels: {', '.join(classifier.labels)})"
        )
    y_true = ml.multi_hot(data.labels, classifier.labels, sep)
    proba = classifier.predict_proba(data.texts)
    predicted = ml.apply_thresholds(proba, classifier.thresholds)
    metrics = ml.multilabel_metrics(y_true, predicted, classifier.labels)
    metrics["loss"] = ml.binary_cross_entropy(proba, y_true)
    metrics["rows"] = len(data)
    metrics["dropped"] = data.dropped
    return metrics
