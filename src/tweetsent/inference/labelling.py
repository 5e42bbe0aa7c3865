"""Labelling a table's rows: the input's columns plus predicted_label, confidence, p_<label>."""

from __future__ import annotations

import pandas as pd

from tweetsent.data.labels import apply_thresholds
from tweetsent.inference.csvsafe import spreadsheet_safe


def label_frame(classifier, chunk: pd.DataFrame, text_col: str) -> pd.DataFrame:
    """A copy of ``chunk`` with ``output_columns(classifier.labels)`` set from its texts.

    The one place file outputs are labelled (``predict_file``, and on Ray: :mod:`tweetsent.ray`),
    so both write the same values: probabilities rounded to 6 decimals, missing texts as "".
    """
    proba = classifier.predict_proba(chunk[text_col].fillna("").astype(str).tolist())
    best = proba.argmax(axis=1)
    chunk = chunk.copy()
    if getattr(classifier, "multi_label", False):  # a label set per row, joined by the run's sep
        sep = classifier.config.label_sep if classifier.config else "|"
        chosen = apply_thresholds(proba, classifier.thresholds)
        predicted = [
            sep.join(label for label, on in zip(classifier.labels, row, strict=True) if on)
            for row in chosen
        ]
    else:
        predicted = [classifier.labels[i] for i in best]
    # Our own text cells only: the input's columns are copied exactly as they were given.
    chunk["predicted_label"] = [spreadsheet_safe(label) for label in predicted]
    chunk["confidence"] = proba.max(axis=1).round(6)
    for j, label in enumerate(classifier.labels):
        chunk[f"p_{label}"] = proba[:, j].round(6)
    return chunk


__all__ = ["label_frame"]
