"""Loss weights and the soft-target cross-entropy the recipe trains with."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from tweetsent.data.labels import soft_targets
from tweetsent.errors import ConfigError


def class_weights(
    spec: str, labels: Sequence[str], train_labels: Sequence[str], *, sep: str | None = None
) -> list | None:
    """Per-class loss weights in ``labels`` order, or None for an unweighted loss.

    ``balanced`` is scikit-learn's ``n / (k * count)``; ``sqrt`` its square root, a milder
    push towards the rare classes; any other value is a JSON file ``{label: weight}``. With
    ``sep``, a row labelled ``a|b`` counts one half towards each of its classes.
    """
    if spec == "none":
        return None
    if spec in ("balanced", "sqrt"):
        import numpy as np

        if sep is None:
            from sklearn.utils.class_weight import compute_class_weight

            weights = compute_class_weight(
                "balanced", classes=np.asarray(labels), y=np.asarray(train_labels)
            )
        else:  # fractional counts, which compute_class_weight cannot take; same formula
            counts = soft_targets(train_labels, labels, sep).sum(axis=0)
            weights = len(train_labels) / (len(labels) * counts)
        if spec == "sqrt":
            weights = [math.sqrt(w) for w in weights]
        return [float(w) for w in weights]
    path = Path(spec)
    try:
        given = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: class-weights file not found (use balanced, sqrt, none or a JSON file)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable JSON object of label weights ({exc})") from None
    if not isinstance(given, dict):
        raise ConfigError(f"{path}: class weights must be a JSON object {{label: weight}}")
    missing = [label for label in labels if label not in given]
    if missing:
        raise ConfigError(f"{path}: no weight for label(s) {', '.join(missing)}")
    unknown = sorted(set(given) - set(labels))
    if unknown:
        raise ConfigError(f"{path}: weight for unknown label(s) {', '.join(unknown)}")
    weights = []
    for label in labels:
        value = given[label]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{path}: weight of {label!r} must be a positive number")
        weights.append(float(value))
    return weights


def positive_weights(spec: str, labels: Sequence[str], y) -> list | None:
    """Multi-label runs: BCE ``pos_weight`` per label, ``negatives / positives`` for
    ``balanced`` (its square root for ``sqrt``), or a JSON file's weights."""
    import numpy as np

    if spec not in ("balanced", "sqrt"):
        return class_weights(spec, labels, list(labels))
    y = np.asarray(y, dtype=np.float64)
    positives = np.maximum(y.sum(axis=0), 1.0)
    weights = (len(y) - positives) / positives
    weights = np.maximum(weights, 1e-3)
    return [float(w) for w in (np.sqrt(weights) if spec == "sqrt" else weights)]


def soft_cross_entropy(logits, targets, weight=None, label_smoothing: float = 0.0):
    """Cross-entropy against probability rows, weighted and smoothed as torch's class-index
    form is: one-hot rows give exactly ``functional.cross_entropy(logits, index, ...)``.

    torch's probability-target form divides a weighted loss by the batch size, not by the
    targets' total weight as its class-index form does, so it would train one-hot and soft
    rows at different scales; hence this normalisation of our own.
    """
    import torch

    log_q = torch.log_softmax(logits, dim=-1)
    if weight is None:
        weight = torch.ones(logits.shape[-1], dtype=log_q.dtype, device=log_q.device)
    smoothed = targets * (1 - label_smoothing) + label_smoothing / logits.shape[-1]
    return -(smoothed * weight * log_q).sum() / (targets * weight).sum()


__all__ = ["class_weights", "positive_weights", "soft_cross_entropy"]
