"""A run that gives every validation tweet one label ends with a warning, not silently."""

import json

import pandas as pd

from tweetsent.config import TrainConfig
from tweetsent.evaluation.metrics import classification_metrics
from tweetsent.training.fit import one_label_warning

LABELS = ["angry", "happy", "neutral"]


def test_one_predicted_label_is_warned_with_the_seed_and_lr():
    validation = classification_metrics([0, 1, 2, 1], [1, 1, 1, 1], LABELS)
    warning = one_label_warning(validation, TrainConfig(seed=19, lr=2e-5))
    assert warning.startswith("every validation tweet (4) got the label 'happy'")
    assert "--seed 19, --lr 2e-05" in warning and "--adapt" not in warning
    adapted = one_label_warning(validation, TrainConfig(adapt=True))
    assert adapted.endswith("or without --adapt")


def test_two_predicted_labels_or_one_true_label_are_no_warning():
    assert (
        one_label_warning(classification_metrics([0, 1, 2], [1, 1, 0], LABELS), TrainConfig())
        is None
    )
    # Validation rows of one label: one predicted label is then the right answer.
    assert (
        one_label_warning(classification_metrics([1, 1, 1], [1, 1, 1], LABELS), TrainConfig())
        is None
    )


def test_a_run_that_tells_no_tweets_apart_says_so(tmp_path, run_cli, train_argv):
    # Validation tweets that are one text with three labels: any model gives them one label.
    val = tmp_path / "val.csv"
    rows = {"text": ["museum opens tuesday"] * 6, "label": LABELS * 2}
    pd.DataFrame(rows).to_csv(val, index=False)
    run = tmp_path / "run"
    code, out, err = run_cli(*train_argv(out=run, val_file=val, seed=19))
    assert code == 0, err
    (warning,) = json.loads((run / "metrics.json").read_text())["warnings"]
    assert warning.startswith("every validation tweet (6) got the label ")
    assert "--seed 19" in warning
    assert f"warning: {warning}" in err.splitlines()
    report = (run / "report.md").read_text()
    assert report.index("## Warnings") < report.index("## Data") and warning in report
