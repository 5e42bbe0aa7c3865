"""Batch prediction of a whole file into a CSV, written atomically."""

from __future__ import annotations

import logging
from pathlib import Path

from tweetsent.config import DataConfig
from tweetsent.data import read_table, require_column, resolve_data_config

logger = logging.getLogger(__name__)


def output_columns(labels: list[str]) -> list[str]:
    return ["predicted_label", "confidence", *[f"p_{label}" for label in labels]]


def predict_file(
    classifier, input_path: str | Path, output_path: str | Path, data_config: DataConfig
) -> int:
    """Label every row of ``input_path``; write its columns plus ours to ``output_path``.

    Returns the number of rows written. Rows keep their order; empty texts get a prediction too
    (of the empty string), so the output lines up with the input row for row.
    """
    data_config = resolve_data_config(data_config)
    frame = read_table(input_path, data_config)
    text_col = data_config.text_col
    if text_col is None and frame.shape[1] == 1:
        text_col = frame.columns[0]
    text_col = require_column(frame, text_col, "text", input_path)
    proba = classifier.predict_proba(frame[text_col].fillna("").astype(str).tolist())
    best = proba.argmax(axis=1)
    if getattr(classifier, "multi_label", False):  # a label set per row, joined by the run's sep
        from tweetsent.multilabel import apply_thresholds

        sep = classifier.config.label_sep if classifier.config else "|"
        chosen = apply_thresholds(proba, classifier.thresholds)
        frame["predicted_label"] = [
            sep.join(label for label, on in zip(classifier.labels, row, strict=True) if on)
            for row in chosen
        ]
    else:
        frame["predicted_label"] = [classifier.labels[i] for i in best]
    frame["confidence"] = proba.max(axis=1).round(6)
    for j, label in enumerate(classifier.labels):
        frame[f"p_{label}"] = proba[:, j].round(6)
    output_path = Path(output_path)
    tmp = output_path.with_name(f".{output_path.name}.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(output_path)
    return len(frame)
