"""The embedded MiniLM on real SMILE tweets: a quick run by default, the full one opt-in."""

import json

import pytest

from tweetsent.cli import main
from tweetsent.inference import TweetClassifier

pytestmark = pytest.mark.needs_shared_data


def test_minilm_fine_tunes_saves_and_loads_everywhere(tmp_path, smile_path, capsys):
    """The fast counterpart of the test below: the embedded MiniLM itself (6 layers, 384 wide,
    its WordPiece vocabulary) through a whole short run on real tweets, loaded back by
    tweetsent and by plain transformers."""
    from transformers import pipeline

    run = tmp_path / "smile"
    args = ["train", str(smile_path), "--preset", "smile", "--out", str(run), "--limit", "250"]
    code = main([*args, "--epochs", "1", "--max-length", "48", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    model_config = json.loads((run / "model" / "config.json").read_text())
    assert (model_config["num_hidden_layers"], model_config["hidden_size"]) == (6, 384)
    labels = set(model_config["id2label"].values())
    assert "happy" in labels and "nocode" not in labels and not any("|" in x for x in labels)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"]["train_rows"] + metrics["data"]["validation_rows"] == 250
    clf = TweetClassifier.load(run)
    text = "Thank you so much, what a wonderful exhibition!"
    proba = clf.predict_proba([text])[0]
    assert abs(proba.sum() - 1) < 1e-5 and clf.predict(text) in labels
    answer = pipeline("text-classification", model=str(run / "model"))(text)[0]
    assert answer["label"] == clf.predict(text)  # the calibrated argmax is the raw argmax


# ~30 s: CI runs it in its slow step; the test above is its fast counterpart.
@pytest.mark.slow
def test_minilm_learns_smile_subset(tmp_path, smile_path, capsys):
    run = tmp_path / "smile"
    code = main(
        [
            "train",
            str(smile_path),
            "--preset",
            "smile",
            "--out",
            str(run),
            "--limit",
            "400",
            "--epochs",
            "2",
            "--no-progress",
        ]
    )
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"]["train_rows"] + metrics["data"]["validation_rows"] == 400
    # Pre-trained features make 'happy' vs the rest learnable in two short epochs.
    assert metrics["validation"]["accuracy"] >= 0.75
    clf = TweetClassifier.load(run)
    assert clf.predict("Thank you so much, what a wonderful exhibition! I loved it") == "happy"


@pytest.mark.slow
def test_full_smile_default_run_meets_the_target(tmp_path, smile_path, capsys):
    run = tmp_path / "smile"
    assert (
        main(["train", str(smile_path), "--preset", "smile", "--out", str(run), "--no-progress"])
        == 0
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"]["train_rows"] == 1258 and metrics["data"]["validation_rows"] == 223
    assert metrics["validation"]["f1_weighted"] >= 0.84
