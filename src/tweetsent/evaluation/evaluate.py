"""Evaluating a trained run on a labelled file."""

from __future__ import annotations

import logging
from pathlib import Path

from tweetsent.config import DataConfig
from tweetsent.data import labels as ml
from tweetsent.data.reading import load_labelled
from tweetsent.errors import DataError, TweetsentError
from tweetsent.evaluation.metrics import (
    binary_cross_entropy,
    classification_metrics,
    cross_entropy,
    multilabel_metrics,
)
from tweetsent.fileio import content_digest
from tweetsent.inference.calibration import expected_calibration_error, softmax
from tweetsent.inference.predictor import TweetClassifier
from tweetsent.rundir import RunDir

logger = logging.getLogger(__name__)


def evaluate(
    run_dir: str | Path,
    data_path: str | Path,
    data_config: DataConfig | None = None,
    *,
    backend: str = "auto",
    precision: str = "auto",
    batch_size: int = 64,
    allow_pickle: bool = False,
) -> dict:
    """Score a trained run on a labelled file: loss, accuracy, F1 (weighted, macro, micro), MCC,
    per-class scores and calibration error.

    Warns when ``data_path`` is the file the run was trained on (its scores are then optimistic).

    Args:
        run_dir: a run directory (or a saved model directory).
        data_path: the labelled file.
        data_config: how to read it; default: as the run read its training data.
        backend: the inference engine (``auto``, ``torch``, ``onnx``, ``openvino``).
        precision: ``auto``, ``fp32`` or ``bf16`` (as for ``TweetClassifier.load``).
        batch_size: texts per forward pass.
        allow_pickle: allow pickle (``.bin``) weights.

    Returns:
        The metrics, plus ``rows`` and ``dropped`` (rows skipped, by reason).

    Raises:
        DataError: the file cannot be read, or holds labels the model was not trained on.
        ModelError: the run cannot be loaded.
    """
    warn_if_trained_on(run_dir, data_path)
    saved = _saved_config(run_dir)
    data = None
    if saved is not None and not saved.multi_label:
        # The file first: a missing file or column is reported before the model loads (seconds).
        data = load_labelled(data_path, data_config or saved.data)
    classifier = TweetClassifier.load(
        run_dir,
        backend=backend,
        precision=precision,
        batch_size=batch_size,
        allow_pickle=allow_pickle,
    )
    data_config = data_config or classifier.data_config or DataConfig()
    if classifier.multi_label:
        return _evaluate_multilabel(classifier, data_path, data_config)
    data = data if data is not None else load_labelled(data_path, data_config)
    _check_known_labels(data, classifier.labels, data_path)
    return _single_label_metrics(classifier, data)


def _single_label_metrics(classifier: TweetClassifier, data) -> dict:
    """The scores of ``classifier`` on labelled ``data``, with the calibration figures."""
    index = {label: i for i, label in enumerate(classifier.labels)}
    y_true = [index[label] for label in data.labels]
    logits = classifier.predict_logits(data.texts)
    proba = softmax(logits, classifier.temperature)  # what predict_proba shows
    # The classifier's own decision, with no "uncertain": every row is scored.
    y_pred = [index[label] for label in classifier.decide(proba, min_confidence=None)]
    metrics = classification_metrics(y_true, y_pred, classifier.labels)
    metrics["loss"] = cross_entropy(proba, y_true)
    # Calibration of the probabilities users see, and of the raw softmax for comparison.
    metrics["ece"] = expected_calibration_error(proba, y_true)
    metrics["ece_uncalibrated"] = expected_calibration_error(softmax(logits), y_true)
    metrics["loss_uncalibrated"] = cross_entropy(softmax(logits), y_true)
    metrics["temperature"] = classifier.temperature
    metrics["rows"] = len(data)
    metrics["dropped"] = data.dropped
    return metrics


def _check_known_labels(data, labels: list[str], data_path) -> None:
    unknown = sorted(set(data.labels) - set(labels))
    if unknown:
        raise DataError(
            f"{data_path}: label(s) the model was not trained on: {', '.join(unknown)} "
            f"(model labels: {', '.join(labels)})"
        )


def _saved_config(run_dir):
    """The run's TrainConfig as ``TweetClassifier.load`` reads it, or None (a bare model dir)."""
    run = RunDir(run_dir)
    return run.read_config() if run.has_config() else None


def warn_if_trained_on(run_dir, data_path) -> bool:
    """Warn (and return True) when ``data_path`` is a file the run was trained on.

    Compared by content (the SHA-256 in the run's inputs.json), so a copy or another path to
    the same file is caught too. Scores on training rows overstate what the model does on new
    tweets, and nothing else in the output would say so.
    """
    run = RunDir(run_dir)
    digests = run.read_inputs()
    try:
        config = run.read_config()
        digest = content_digest(data_path)
    except (OSError, ValueError, TweetsentError):
        return False  # no record (an older run) or no file: the loader reports the latter
    # The training file only: a separate --val-file is held out, and fine to score.
    trained = config.data_path if config else None
    same = [trained] if trained and digests.get(str(trained)) == digest else []
    if same:
        logger.warning(
            "warning: %s is the data this run was trained on (%s): most of its rows were "
            "training rows, so these scores overstate quality on new tweets; evaluate a "
            "held-out file, or see the validation scores in %s",
            data_path,
            same[0],
            run.metrics_file,
        )
    return bool(same)


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
    predicted = ml.multi_hot(
        [sep.join(labels) for labels in classifier.decide(proba)], classifier.labels, sep
    )
    metrics = multilabel_metrics(y_true, predicted, classifier.labels)
    metrics["loss"] = binary_cross_entropy(proba, y_true)
    metrics["rows"] = len(data)
    metrics["dropped"] = data.dropped
    return metrics


__all__ = ["evaluate"]
