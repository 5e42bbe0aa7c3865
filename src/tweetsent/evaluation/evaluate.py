"""Evaluating a trained run on a labelled file."""

from __future__ import annotations

from tweetsent.config import DataConfig
from tweetsent.data import labels as ml
from tweetsent.data.reading import load_labelled
from tweetsent.errors import DataError
from tweetsent.evaluation.metrics import (
    binary_cross_entropy,
    classification_metrics,
    cross_entropy,
    multilabel_metrics,
)
from tweetsent.inference.predictor import TweetClassifier


def evaluate(
    run_dir,
    data_path,
    data_config=None,
    *,
    backend: str = "auto",
    batch_size: int = 64,
    allow_pickle: bool = False,
) -> dict:
    """Score a trained run on a labelled file: loss plus every metric of :mod:`.metrics`.

    Raises ``DataError`` if the file holds labels the model was not trained on.
    """
    classifier = TweetClassifier.load(
        run_dir, backend=backend, batch_size=batch_size, allow_pickle=allow_pickle
    )
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


def _evaluate_multilabel(classifier, data_path, data_config) -> dict:
    """Score a multi-label run with its saved thresholds: subset accuracy, micro/macro F1."""
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
    metrics = multilabel_metrics(y_true, predicted, classifier.labels)
    metrics["loss"] = binary_cross_entropy(proba, y_true)
    metrics["rows"] = len(data)
    metrics["dropped"] = data.dropped
    return metrics


__all__ = ["evaluate"]
