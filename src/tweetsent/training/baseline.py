"""An honest baseline: TF-IDF + logistic regression on the very split the transformer sees.

Seconds to fit, so every ``tweetsent train`` report shows it beside the model: a fine-tuned
encoder that does not beat this has not earned its cost.
"""

from __future__ import annotations

import logging
import time

from tweetsent.config import TrainConfig
from tweetsent.data import labels as ml
from tweetsent.data.prepare import prepare_data
from tweetsent.data.presets import resolve_data_config
from tweetsent.data.reading import LabelledData
from tweetsent.evaluation.metrics import classification_metrics, multilabel_metrics

logger = logging.getLogger(__name__)


def make_pipeline(class_weight: str | None = None, multi_label: bool = False):
    """Word 1-2-grams with sublinear tf; a plain, untuned logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline

    classifier = LogisticRegression(max_iter=2000, class_weight=class_weight)
    if multi_label:
        classifier = OneVsRestClassifier(classifier)
    return Pipeline(
        [
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)),
            ("clf", classifier),
        ]
    )


def baseline_metrics(
    train_data: LabelledData, val_data: LabelledData, config: TrainConfig | None = None
) -> dict:
    """Fit on ``train_data``, score ``val_data`` with the transformer's metrics.

    Class weighting follows ``config.class_weights`` (any weighting: scikit-learn's
    ``balanced``); multi-label runs get one-vs-rest with threshold 0.5.
    """
    config = config or TrainConfig()
    class_weight = None if config.class_weights == "none" else "balanced"
    started = time.perf_counter()
    if config.multi_label:
        labels = ml.label_vocabulary(train_data.labels, config.label_sep)
        y_train = ml.multi_hot(train_data.labels, labels, config.label_sep)
        y_val = ml.multi_hot(val_data.labels, labels, config.label_sep)
        pipeline = make_pipeline(class_weight, multi_label=True).fit(train_data.texts, y_train)
        proba = pipeline.predict_proba(val_data.texts)
        metrics = multilabel_metrics(y_val, ml.apply_thresholds(proba, [0.5] * len(labels)), labels)
    else:
        texts, y, weights = _expanded(train_data, config)
        labels = sorted(set(y))
        index = {label: i for i, label in enumerate(labels)}
        pipeline = make_pipeline(class_weight).fit(
            texts, [index[label] for label in y], clf__sample_weight=weights
        )
        predicted = pipeline.predict(val_data.texts)
        metrics = classification_metrics([index[y] for y in val_data.labels], predicted, labels)
    metrics["model"] = "tfidf+logreg" + (" (balanced)" if class_weight else "")
    metrics["seconds"] = time.perf_counter() - started
    logger.info(
        "baseline %s: f1_weighted %.4f, f1_macro %.4f (%.1fs)",
        metrics["model"],
        metrics["f1_weighted"],
        metrics["f1_macro"],
        metrics["seconds"],
    )
    return metrics


def _expanded(data: LabelledData, config: TrainConfig):
    """Texts, labels and sample weights; a soft ``a|b`` row becomes two rows of weight 1/2."""
    sep = ml.soft_separator(config)
    if not sep:
        return data.texts, data.labels, None
    texts, y, weights = [], [], []
    for text, raw in zip(data.texts, data.labels, strict=True):
        parts = ml.split_labels(raw, sep)
        texts += [text] * len(parts)
        y += parts
        weights += [1 / len(parts)] * len(parts)
    return texts, y, weights


def run_baseline(config: TrainConfig) -> dict:
    """Load and split ``config.data_path`` as ``train`` would, then fit and score the baseline."""
    config.data = resolve_data_config(config.data)
    train_data, val_data = prepare_data(config)
    metrics = baseline_metrics(train_data, val_data, config)
    metrics["train_rows"] = len(train_data)
    metrics["validation_rows"] = len(val_data)
    return metrics


__all__ = ["baseline_metrics", "make_pipeline", "run_baseline"]
