"""Temperature scaling: the fit, ECE, storage with the model, every predictor, --min-confidence."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tweetsent.errors import ConfigError
from tweetsent.evaluation.calibration import calibrate
from tweetsent.inference.calibration import (
    UNCERTAIN,
    apply_min_confidence,
    expected_calibration_error,
    fit_temperature,
    softmax,
)
from tweetsent.inference.predictor import TweetClassifier

TEXTS = ["love great day", "hate awful furious", "museum opens tuesday", "day", "ticket love"]


def calibrated_set(n: int = 4000, k: int = 4, seed: int = 0):
    """Logits and labels drawn from softmax(logits): calibrated by construction."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=1.5, size=(n, k))
    proba = softmax(logits)
    y = np.array([rng.choice(k, p=row) for row in proba])
    return logits, y


def test_temperature_undoes_over_confident_logits():
    logits, y = calibrated_set()
    over = logits * 5  # the same ranking, five times too confident
    result = calibrate(over, y)
    assert result["temperature"] == pytest.approx(5.0, rel=0.15)
    assert result["ece_before"] > 0.15
    assert result["ece_after"] < result["ece_before"] / 4
    assert result["nll_after"] < result["nll_before"]
    # Dividing by a positive scalar keeps every label.
    after = softmax(over, result["temperature"])
    assert (after.argmax(axis=1) == over.argmax(axis=1)).all()


def test_a_temperature_that_raises_the_ece_is_not_kept():
    # 60 noisy rows (seed 13): the NLL-best temperature, 4.06, raises the binned ECE.
    rng = np.random.default_rng(13)
    y = rng.integers(0, 3, 60)
    logits = rng.normal(0, 2, (60, 3))
    logits[np.arange(60), y] += rng.normal(1, 1, 60)
    result = calibrate(logits, y)
    assert result["rejected_temperature"] == pytest.approx(fit_temperature(logits, y))
    assert result["rejected_ece"] > result["ece_before"]
    assert result["temperature"] == 1.0 and result["ece_after"] == result["ece_before"]


def test_calibrated_logits_keep_a_temperature_near_one():
    logits, y = calibrated_set(seed=1)
    assert fit_temperature(logits, y) == pytest.approx(1.0, abs=0.1)


def test_temperature_matches_scikit_learn():
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    class Logits(ClassifierMixin, BaseEstimator):
        """An already 'fitted' model whose decision function is its input."""

        def fit(self, X, y=None):
            self.classes_ = np.arange(3)
            return self

        def decision_function(self, X):
            return np.asarray(X)

        def predict(self, X):
            return np.asarray(X).argmax(axis=1)

    logits, y = calibrated_set(n=600, k=3, seed=2)
    logits = logits * 3
    sk = CalibratedClassifierCV(FrozenEstimator(Logits().fit(None)), method="temperature")
    sk.fit(logits, y)
    ours = softmax(logits, fit_temperature(logits, y))
    np.testing.assert_allclose(ours, sk.predict_proba(logits), atol=1e-4)


def test_ece_by_hand():
    # Four rows in the 0.9 bin, half right: a gap of 0.4; two rows at 0.6, both right: 0.4.
    proba = np.array([[0.9, 0.1]] * 4 + [[0.4, 0.6]] * 2)
    y = np.array([0, 0, 1, 1, 1, 1])
    assert expected_calibration_error(proba, y) == pytest.approx((4 * 0.4 + 2 * 0.4) / 6)
    assert expected_calibration_error(np.array([[0.25, 0.75]] * 4), [1, 1, 1, 0]) == 0.0


def test_min_confidence_marks_doubtful_rows():
    proba = np.array([[0.9, 0.1], [0.55, 0.45], [0.3, 0.7]])
    assert apply_min_confidence(["a", "b"], proba, None) == ["a", "a", "b"]
    assert apply_min_confidence(["a", "b"], proba, 0.6) == ["a", UNCERTAIN, "b"]
    assert apply_min_confidence(["a", "b"], proba, 0.7) == ["a", UNCERTAIN, "b"]
    with pytest.raises(ConfigError, match="min_confidence"):
        apply_min_confidence(["a", "b"], proba, 1.5)
    with pytest.raises(ConfigError, match="uncertain"):
        apply_min_confidence(["uncertain", "b"], proba, 0.5)


# --- with a trained run ------------------------------------------------------------------------


def test_train_fits_and_stores_a_temperature(_tiny_run):
    metrics = json.loads((_tiny_run / "metrics.json").read_text())
    cal = metrics["calibration"]
    saved = json.loads((_tiny_run / "model" / "config.json").read_text())
    assert cal["method"] == "temperature"
    assert saved["tweetsent_temperature"] == pytest.approx(cal["temperature"])
    # T = 1 lies inside the search, so the fitted T can only lower the validation NLL.
    assert cal["nll_after"] <= cal["nll_before"] + 1e-9
    assert {"ece_before", "ece_after", "bins_before", "bins_after"} <= set(cal)
    assert (_tiny_run / "reliability.png").stat().st_size > 1000
    report = (_tiny_run / "report.md").read_text()
    assert "temperature scaling" in report and "reliability.png" in report
    assert TweetClassifier.load(_tiny_run).temperature == pytest.approx(cal["temperature"])


@pytest.fixture
def hot_run(tiny_run):
    """The tiny run with a temperature far from 1, so its effect cannot hide in rounding."""
    path = tiny_run / "model" / "config.json"
    saved = json.loads(path.read_text())
    saved["tweetsent_temperature"] = 0.2
    path.write_text(json.dumps(saved))
    return tiny_run


def test_temperature_reaches_torch_and_onnx(hot_run):
    from tweetsent.export import export_onnx

    export_onnx(hot_run)
    for backend in ("torch", "onnx"):
        clf = TweetClassifier.load(hot_run, backend=backend, precision="fp32")
        assert clf.temperature == pytest.approx(0.2)
        logits = clf.predict_logits(TEXTS)
        proba = clf.predict_proba(TEXTS)
        np.testing.assert_allclose(proba, softmax(logits, 0.2), atol=1e-5)
        assert not np.allclose(proba, softmax(logits), atol=1e-3), backend
        assert clf.predict(TEXTS) == [clf.labels[i] for i in logits.argmax(axis=1)]


def test_cli_predict_shows_calibrated_confidence_and_min_confidence(hot_run, run_cli, tmp_path):
    clf = TweetClassifier.load(hot_run, backend="torch")
    confidence = clf.predict_proba(TEXTS).max(axis=1)
    cut = float(np.sort(confidence)[2])  # between the rows: two below, three at or above
    code, out, err = run_cli("predict", hot_run, *TEXTS, "--min-confidence", cut)
    assert code == 0, err
    lines = [line.split("\t") for line in out.strip().splitlines()]
    assert [float(row[1]) for row in lines] == pytest.approx(confidence, abs=1e-3)
    assert [row[0] == UNCERTAIN for row in lines] == [c < cut for c in confidence]
    assert sum(row[0] == UNCERTAIN for row in lines) == 2

    source = tmp_path / "in.csv"
    with open(source, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        writer.writerows([t] for t in TEXTS)
    out_file = tmp_path / "out.csv"
    code, _, err = run_cli(
        "predict", hot_run, "--input", source, "--output", out_file, "--min-confidence", cut
    )
    assert code == 0, err
    with open(out_file, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["predicted_label"] == UNCERTAIN for r in rows] == [c < cut for c in confidence]
    assert [float(r["confidence"]) for r in rows] == pytest.approx(confidence, abs=1e-5)


def test_cli_min_confidence_out_of_range(tiny_run, run_cli):
    code, _, err = run_cli("predict", tiny_run, "hello", "--min-confidence", "1.5")
    assert code == 1 and err.startswith("error:") and "min_confidence" in err
    assert len(err.strip().splitlines()) == 1


def test_evaluate_reports_ece_before_and_after(hot_run, small_csv):
    from tweetsent.evaluation import evaluate

    metrics = evaluate(hot_run, small_csv, backend="torch")
    assert metrics["temperature"] == pytest.approx(0.2)
    assert metrics["ece"] != pytest.approx(metrics["ece_uncalibrated"])
    # The calibrated ECE is that of the probabilities predict_proba shows a user.
    import pandas as pd

    rows = pd.read_csv(small_csv)
    clf = TweetClassifier.load(hot_run, backend="torch")
    y_true = [clf.labels.index(label) for label in rows["label"]]
    shown = clf.predict_proba(rows["text"].tolist())
    assert metrics["ece"] == pytest.approx(expected_calibration_error(shown, y_true), abs=1e-6)


def test_service_applies_min_confidence(tiny_server, _tiny_run):
    import httpx

    texts = ["love great day", "hate awful furious"]
    clf = TweetClassifier.load(_tiny_run, backend="torch")
    proba = clf.predict_proba(texts)
    cut = float(proba.max(axis=1).mean())  # between the two, or above both
    answer = httpx.post(
        f"{tiny_server.url}/predict", json={"texts": texts, "min_confidence": cut}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    got = [p["label"] for p in answer.json()["predictions"]]
    assert got == apply_min_confidence(clf.labels, proba, cut)
    assert httpx.get(f"{tiny_server.url}/model").json()["temperature"] == pytest.approx(
        clf.temperature
    )
    bad = httpx.post(f"{tiny_server.url}/predict", json={"texts": texts, "min_confidence": 2})
    assert bad.status_code == 422 and "min_confidence" in bad.json()["detail"]
