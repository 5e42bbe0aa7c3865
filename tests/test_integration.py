"""The embedded MiniLM on real SMILE tweets: a quick run by default, the full one opt-in."""

import json

import pytest

from tweetsent.cli import main
from tweetsent.inference import TweetClassifier

pytestmark = pytest.mark.needs_shared_data


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
