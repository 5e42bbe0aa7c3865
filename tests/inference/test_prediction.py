import numpy as np
import pytest

from tweetsent.errors import ModelError
from tweetsent.inference import TweetClassifier


def test_predict_and_predict_proba_agree(tiny_run):
    clf = TweetClassifier.load(tiny_run, backend="torch")
    texts = ["love great day", "hate awful day", "museum opens tuesday", ""]
    proba = clf.predict_proba(texts)
    assert proba.shape == (4, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    labels = clf.predict(texts)
    assert labels == [clf.labels[i] for i in proba.argmax(axis=1)]
    assert set(labels) <= set(clf.labels)


def test_single_string_in_single_label_out(tiny_run):
    clf = TweetClassifier.load(tiny_run)
    assert isinstance(clf.predict("love great day"), str)
    assert clf.predict_proba("love great day").shape == (1, 3)


def test_batching_and_length_sorting_keep_the_order(tiny_run):
    clf = TweetClassifier.load(tiny_run, backend="torch", precision="fp32")
    texts = ["love " * n + "day" for n in range(1, 20)] + ["hate awful"] * 3
    one_by_one = np.vstack([clf.predict_proba([t]) for t in texts])
    clf.batch_size = 4
    np.testing.assert_allclose(clf.predict_proba(texts), one_by_one, atol=1e-5)


def test_run_dir_and_model_dir_both_load(tiny_run):
    a = TweetClassifier.load(tiny_run, precision="fp32").predict_proba(["hello there"])
    b = TweetClassifier.load(tiny_run / "model", precision="fp32").predict_proba(["hello there"])
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_matches_transformers_pipeline(tiny_run):
    from transformers import pipeline

    pipe = pipeline("text-classification", model=str(tiny_run / "model"), top_k=None)
    clf = TweetClassifier.load(tiny_run, backend="torch", precision="fp32")
    # A plain pipeline knows nothing of the run's fitted temperature (documented): it matches
    # the raw softmax, and the labels.
    clf.temperature = None
    texts = ["love great day", "hate awful day"]
    ours = clf.predict_proba(texts)
    for row, theirs in zip(ours, pipe(texts), strict=True):
        by_label = {d["label"]: d["score"] for d in theirs}
        np.testing.assert_allclose(row, [by_label[lbl] for lbl in clf.labels], atol=1e-5)


def test_missing_or_corrupt_model(tmp_path, tiny_run):
    with pytest.raises(ModelError, match="not found"):
        TweetClassifier.load(tmp_path / "nope")
    (tiny_run / "model" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="corrupt"):
        TweetClassifier.load(tiny_run, backend="torch")


def test_loading_run_dir_model_keeps_the_runs_settings(_tiny_run):
    from tweetsent.inference import TweetClassifier

    whole = TweetClassifier.load(_tiny_run, backend="torch")
    inner = TweetClassifier.load(_tiny_run / "model", backend="torch")
    assert whole.max_length == 32  # the tiny run's own, not the default 128
    assert inner.max_length == whole.max_length and inner.config == whole.config
    texts = ["love this museum", "@bob hates https://x.y"]
    assert inner.predict(texts) == whole.predict(texts)
