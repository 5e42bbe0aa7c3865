"""Confidence that means what it says: temperature scaling, calibration error, min-confidence.

A fine-tuned classifier's softmax is usually over-confident. Temperature scaling (Guo et al.,
2017) divides the logits by one scalar ``T`` fitted on held-out rows by minimising the negative
log-likelihood; the argmax, so every label and accuracy figure, is unchanged. ``train`` fits
``T`` on the validation split of a single-label run and stores it in the model's
``config.json`` (``tweetsent_temperature``); :class:`tweetsent.inference.predictor.TweetClassifier`
divides the logits of every engine (torch, ONNX) by it before the softmax. A plain
``transformers.pipeline`` over ``RUN_DIR/model`` does not know the field and shows the raw,
uncalibrated softmax.

Multi-label runs fit no temperature: their per-label thresholds are tuned on validation instead.
Fitting at the end of training and the reliability diagram: :mod:`tweetsent.evaluation.calibration`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from tweetsent.errors import ConfigError

logger = logging.getLogger(__name__)

N_BINS = 15
UNCERTAIN = "uncertain"
MULTI_LABEL_NOTE = (
    "multi-label run: no temperature is fitted; per-label decision thresholds are tuned on the "
    "validation split instead"
)


def softmax(logits: np.ndarray, temperature: float | None = 1.0) -> np.ndarray:
    from scipy.special import softmax as _softmax

    logits = np.asarray(logits, dtype=np.float64)
    return _softmax(logits / (temperature or 1.0), axis=1)


def fit_temperature(logits: np.ndarray, y_true: Sequence[int]) -> float:
    """The temperature that minimises the negative log-likelihood of ``y_true`` on ``logits``.

    scikit-learn's own temperature scaling (``CalibratedClassifierCV(method="temperature")``)
    wraps a fitted estimator, not saved logits, so the one-dimensional fit is done here with
    scipy, over log T (T stays positive), as scikit-learn does it.
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    logits = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y_true, dtype=int)
    if logits.ndim != 2 or len(logits) != len(y) or len(y) == 0:
        raise ConfigError(f"need one logit row per label, got {logits.shape} and {len(y)} labels")
    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[rows, y].mean())

    # T in [0.05, 20]: far beyond any temperature a fine-tuned encoder needs.
    found = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(found.x))


def reliability_bins(
    probabilities: np.ndarray, y_true: Sequence[int], n_bins: int = N_BINS
) -> list[dict]:
    """Top-label confidence in ``n_bins`` equal-width bins: rows, mean confidence, accuracy."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(y_true, dtype=int)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Bin i holds (edges[i], edges[i+1]]; a confidence of exactly 0 cannot happen (max of a
    # softmax is at least 1/k).
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    bins = []
    for i in range(n_bins):
        mask = which == i
        count = int(mask.sum())
        bins.append(
            {
                "low": float(edges[i]),
                "high": float(edges[i + 1]),
                "count": count,
                "confidence": float(confidence[mask].mean()) if count else None,
                "accuracy": float(correct[mask].mean()) if count else None,
            }
        )
    return bins


def expected_calibration_error(
    probabilities: np.ndarray, y_true: Sequence[int], n_bins: int = N_BINS
) -> float:
    """ECE: the row-weighted mean gap between top-label confidence and accuracy per bin."""
    bins = reliability_bins(probabilities, y_true, n_bins)
    total = sum(b["count"] for b in bins)
    if not total:
        return 0.0
    return float(
        sum(b["count"] * abs(b["confidence"] - b["accuracy"]) for b in bins if b["count"]) / total
    )


def check_min_confidence(value: float | None) -> float | None:
    if value is not None and not 0.0 < value <= 1.0:
        raise ConfigError(f"min_confidence must be in (0, 1], got {value}")
    return value


def apply_min_confidence(
    labels: Sequence[str], probabilities: np.ndarray, min_confidence: float | None
) -> list[str]:
    """Each row's most probable label, or ``uncertain`` where its probability is below the
    threshold, so doubtful tweets can be routed to a person."""
    check_min_confidence(min_confidence)
    if min_confidence is not None and UNCERTAIN in labels:
        raise ConfigError(
            f"the model has a label named {UNCERTAIN!r}; --min-confidence needs it free"
        )
    probabilities = np.asarray(probabilities)
    best = probabilities.argmax(axis=1)
    chosen = [labels[i] for i in best]
    if min_confidence is None:
        return chosen
    confidence = probabilities[np.arange(len(best)), best]
    return [
        c if p >= min_confidence else UNCERTAIN for c, p in zip(chosen, confidence, strict=True)
    ]
