"""Batch prediction in PySpark (tweetsent.batch.spark.predict_udf) on a real local Spark session.

PySpark is an optional extra and needs Java: these tests skip without them, except where CI
sets TWEETSENT_REQUIRE_SPARK=1 (its own step installs the extra), so there they cannot
silently skip. The Spark session runs its Python workers as separate processes, as on a
cluster; every result is compared with the same ``TweetClassifier`` in this process.
"""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

from tweetsent.batch.spark import predict_udf, run_labels
from tweetsent.errors import ConfigError, ModelError
from tweetsent.inference.predictor import TweetClassifier

REQUIRED = os.environ.get("TWEETSENT_REQUIRE_SPARK") == "1"


@pytest.fixture(scope="module")
def spark():
    if not REQUIRED:
        pytest.importorskip("pyspark", reason='PySpark is an optional extra: ".[spark]"')
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            pytest.skip("PySpark needs Java (java on PATH or JAVA_HOME)")
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers import this tweetsent
    session = (
        SparkSession.builder.master("local[2]")
        .appName("tweetsent-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.python.worker.reuse", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def tweets(smile_path) -> list[str | None]:
    texts = pd.read_csv(smile_path, header=None)[1].head(300).tolist()
    return [*texts[:100], None, "", *texts[100:]]  # a missing and an empty tweet among them


@pytest.mark.needs_shared_data
def test_udf_labels_a_dataframe_as_the_classifier_does(spark, _tiny_run, tweets):
    frame = spark.createDataFrame([(i, t) for i, t in enumerate(tweets)], "id long, text string")
    frame = frame.repartition(3)  # several partitions, each labelled by a Python worker
    # fp32: in bf16 (auto on a bf16 CPU) a probability moves with the batch a tweet lands in.
    udf = predict_udf(
        _tiny_run, backend="torch", batch_size=16, probabilities=True, precision="fp32"
    )
    rows = frame.withColumn("pred", udf("text")).select("id", "pred.*").toPandas()
    rows = rows.sort_values("id").reset_index(drop=True)

    classifier = TweetClassifier.load(_tiny_run, backend="torch", batch_size=16, precision="fp32")
    texts = ["" if t is None else t for t in tweets]
    proba = classifier.predict_proba(texts)
    assert rows["id"].tolist() == list(range(len(tweets)))  # every row exactly once
    assert rows["label"].tolist() == classifier.predict(texts)
    np.testing.assert_allclose(rows["confidence"], proba.max(axis=1), atol=1e-5)
    got = rows[[f"p_{label}" for label in classifier.labels]].to_numpy()
    np.testing.assert_allclose(got, proba, atol=1e-5)


@pytest.mark.needs_shared_data
def test_min_confidence_routes_doubtful_tweets_to_uncertain(spark, _tiny_run, tweets):
    texts = [t for t in tweets if t][:120]
    classifier = TweetClassifier.load(_tiny_run, backend="torch", precision="fp32")
    proba = classifier.predict_proba(texts)
    threshold = float(np.median(proba.max(axis=1)))  # about half the rows fall below it
    udf = predict_udf(_tiny_run, backend="torch", min_confidence=threshold, precision="fp32")
    frame = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "id long, text string")
    rows = frame.select("id", udf("text").alias("pred")).toPandas().sort_values("id")
    labels = [p["label"] for p in rows["pred"]]
    assert labels == classifier.decide(proba, min_confidence=threshold)
    assert 0 < labels.count("uncertain") < len(labels)
    assert set(rows["pred"].iloc[0]) == {"label", "confidence"}  # no p_<label>: not asked for


def test_bad_arguments_fail_on_the_driver_before_spark_runs(_tiny_run, tmp_path):
    pytest.importorskip("pyspark")
    with pytest.raises(ModelError, match="not a run or model directory"):
        predict_udf(tmp_path)
    with pytest.raises(ConfigError, match="min_confidence must be in"):
        predict_udf(_tiny_run, min_confidence=1.5)
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        predict_udf(_tiny_run, batch_size=0)
    with pytest.raises(ConfigError, match="precision must be auto, fp32 or bf16"):
        predict_udf(_tiny_run, precision="fp16")


def test_labels_come_from_the_run_without_loading_the_model(_tiny_run):
    assert run_labels(_tiny_run) == TweetClassifier.load(_tiny_run, backend="torch").labels
    assert run_labels(_tiny_run / "model") == run_labels(_tiny_run)


def test_without_pyspark_the_error_says_how_to_install(monkeypatch, _tiny_run):
    # None in sys.modules makes the import fail as it does where PySpark is not installed.
    for name in ("pyspark", "pyspark.ml", "pyspark.ml.functions"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ConfigError, match=r'pip install -e "\.\[spark\]"'):
        predict_udf(_tiny_run)
