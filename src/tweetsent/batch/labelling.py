"""Labelling a table's rows: the input's columns plus predicted_label, confidence, p_<label>."""

from __future__ import annotations

import pandas as pd

from tweetsent.batch.csvsafe import spreadsheet_safe


def label_frame(classifier, chunk: pd.DataFrame, text_col: str) -> pd.DataFrame:
    """A copy of ``chunk`` with ``output_columns(classifier.labels)`` set from its texts.

    The one place file outputs are labelled (``predict_file``, and on Ray:
    :mod:`tweetsent.batch.ray`), so both write the same values: probabilities rounded to 6
    decimals, missing texts as "".
    """
    proba = classifier.predict_proba(chunk[text_col].fillna("").astype(str).tolist())
    chunk = chunk.copy()
    # A multi-label set is joined by the run's separator; "uncertain" below min_confidence.
    predicted = [classifier.label_text(d) for d in classifier.decide(proba)]
    # Our own text cells only: the input's columns are copied exactly as they were given.
    chunk["predicted_label"] = [spreadsheet_safe(label) for label in predicted]
    chunk["confidence"] = proba.max(axis=1).round(6)
    for j, label in enumerate(classifier.labels):
        chunk[f"p_{label}"] = proba[:, j].round(6)
    return chunk


__all__ = ["label_frame"]
