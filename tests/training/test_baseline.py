"""The TF-IDF + logistic-regression baseline: same split, same metrics, in every report."""

import json

import pytest

from tweetsent.cli import main
from tweetsent.config import DataConfig, TrainConfig
from tweetsent.training import prepare_data
from tweetsent.training.baseline import baseline_metrics, run_baseline


def test_baseline_learns_the_easy_task(tiny_config):
    train_data, val = prepare_data(tiny_config)
    m = baseline_metrics(train_data, val, tiny_config)
    assert m["accuracy"] > 0.8
    assert m["labels"] == ["angry", "happy", "neutral"]
    assert sum(map(sum, m["confusion_matrix"])) == len(val)


@pytest.mark.needs_shared_data
def test_smile_baseline_on_the_tutorial_split(smile_path):
    config = TrainConfig(
        data_path=str(smile_path), data=DataConfig(preset="smile"), class_weights="balanced"
    )
    m = run_baseline(config)
    # The tutorial split, plus the 32 multi-label rows that train as soft targets by default.
    assert (m["train_rows"], m["validation_rows"]) == (1258 + 32, 223)
    assert 0.7 < m["f1_weighted"] < 0.9  # a real baseline, clearly below the fine-tuned model
    assert m["model"] == "tfidf+logreg (balanced)"


def test_train_report_shows_the_baseline(_tiny_run):
    metrics = json.loads((_tiny_run / "metrics.json").read_text())
    assert metrics["baseline"]["labels"] == metrics["validation"]["labels"]
    report = (_tiny_run / "report.md").read_text()
    assert "Against the baseline (TF-IDF + logistic regression, same split)" in report
    assert "| f1_macro |" in report


def test_baseline_cli(tmp_path, capsys, small_csv):
    out = tmp_path / "b.json"
    code = main(
        [
            "baseline",
            str(small_csv),
            "--text-col",
            "text",
            "--label-col",
            "label",
            "--json",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "tfidf+logreg" in printed and "f1_macro" in printed
    assert json.loads(out.read_text())["validation_rows"] == 14


def test_baseline_cli_names_a_missing_file(tmp_path, capsys):
    code = main(["baseline", str(tmp_path / "nope.csv"), "--preset", "smile"])
    assert code == 1
    assert "nope.csv: file not found" in capsys.readouterr().err
