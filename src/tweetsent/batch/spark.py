"""Batch prediction in PySpark: a ``predict_batch_udf`` that labels a DataFrame's tweet column.

Spark does the distributed work (partitions, executors, task retries), and pyspark's own
``predict_batch_udf`` loads the model once per Python worker and hands it numpy batches. What is
ours is only the predict function, so that Spark labels exactly as ``tweetsent predict`` does:
the same ``TweetClassifier`` (cleaning, backend, temperature) and the same label decision
(multi-label sets joined by the run's separator, ``uncertain`` below ``min_confidence``).

>>> from tweetsent.batch.spark import predict_udf                        # doctest: +SKIP
>>> label = predict_udf("runs/smile")
>>> df.withColumn("pred", label("text")).select("text", "pred.label", "pred.confidence")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tweetsent import rundir
from tweetsent.errors import ConfigError, ModelError
from tweetsent.hardware import check_inference_precision
from tweetsent.inference.calibration import check_min_confidence
from tweetsent.inference.predictor import TweetClassifier
from tweetsent.modeling.loading import labels_from_config

INSTALL_HINT = 'pip install -e ".[spark]"'


def import_spark_functions():
    """``pyspark.ml.functions``, or a one-line error saying how to install PySpark."""
    try:
        from pyspark.ml import functions
    except ImportError:
        raise ConfigError(
            f"PySpark is not installed; install the extra with: {INSTALL_HINT}"
        ) from None
    return functions


def run_labels(run_dir: str | Path) -> list[str]:
    """The label names a run (``RUN_DIR`` or a model directory) predicts, in column order."""

    path = Path(run_dir)
    model_dir = rundir.model_folder(path)
    saved = rundir.read_model_config(model_dir)
    if not saved:
        message = f"{path}: not a run or model directory (no readable {rundir.CONFIG})"
        raise ModelError(message) from None
    return labels_from_config(saved, model_dir)


def predict_udf(
    run_dir: str | Path,
    *,
    backend: str = "auto",
    batch_size: int = 64,
    probabilities: bool = False,
    min_confidence: float | None = None,
    precision: str = "auto",
):
    """A pandas UDF that labels a string column: a struct of ``label``, ``confidence`` and, with
    ``probabilities=True``, one ``p_<label>`` column per label (as ``predict --input`` writes).

    ``run_dir`` must be readable at the same path on every executor (a shared file system, or
    the same folder on each node). ``batch_size``: tweets per forward pass, also the rows Spark
    hands the model at a time. Missing texts are labelled as empty tweets. ``precision`` (torch):
    ``auto`` (bf16 weights where the CPU computes bf16 natively), ``fp32`` or ``bf16``; in bf16 a
    tweet's probabilities move in the fifth decimal with the batch it lands in.
    """
    functions = import_spark_functions()
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    path = Path(run_dir).resolve()  # executors do not share the driver's working directory
    labels = run_labels(path)
    check_min_confidence(min_confidence)
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    check_inference_precision(precision)  # said here, not by every executor
    fields = [StructField("label", StringType()), StructField("confidence", DoubleType())]
    if probabilities:
        fields += [StructField(f"p_{label}", DoubleType()) for label in labels]

    def make_predict_fn():
        classifier = TweetClassifier.load(
            path, backend=backend, batch_size=batch_size, precision=precision
        )
        if min_confidence is not None:
            if classifier.multi_label:
                raise ConfigError("min_confidence applies to single-label runs only")
            classifier.min_confidence = min_confidence

        def predict(texts: np.ndarray) -> dict[str, np.ndarray]:
            proba = classifier.predict_proba(["" if t is None else str(t) for t in texts])
            decisions = classifier.decide(proba)
            columns = {
                "label": np.array([classifier.label_text(d) for d in decisions], dtype=object),
                "confidence": proba.max(axis=1).astype(np.float64),
            }
            if probabilities:
                for j, label in enumerate(classifier.labels):
                    columns[f"p_{label}"] = proba[:, j].astype(np.float64)
            return columns

        return predict

    return functions.predict_batch_udf(
        make_predict_fn, return_type=StructType(fields), batch_size=batch_size
    )


__all__ = ["INSTALL_HINT", "predict_udf", "run_labels"]
