"""tweetsent audit: injected label noise must be found; duplicates that disagree are grouped."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tweetsent.audit.core import audit
from tweetsent.audit.folds import audit_finetune
from tweetsent.config import DataConfig, TrainConfig
from tweetsent.data.duplicates import conflicting_duplicates
from tweetsent.errors import ConfigError, DataError

WORDS = {
    "happy": ["love", "wonderful", "amazing", "lovely", "fantastic", "delighted", "great", "joy"],
    "angry": ["hate", "furious", "awful", "terrible", "outraged", "horrible", "angry", "worst"],
    "neutral": ["museum", "opens", "tuesday", "ticket", "schedule", "hours", "entrance", "map"],
}
PER_CLASS = 40


def noisy_file(tmp_path, seed: int = 0, share: float = 0.1):
    """A 3-class CSV whose classes are easy to tell apart, with ``share`` of labels flipped;
    also returns the 1-based rows that were flipped."""
    rng = np.random.default_rng(seed)
    rows = []
    for label, vocab in WORDS.items():
        for i in range(PER_CLASS):
            a, b = rng.choice(len(vocab), 2, replace=False)
            rows.append(
                {"text": f"{vocab[a]} {vocab[b]} at the {vocab[(a + b) % 8]} {i}", "label": label}
            )
    frame = pd.DataFrame(rows)
    flipped = rng.choice(len(frame), int(share * len(frame)), replace=False)
    names = list(WORDS)
    for i in flipped:
        others = [n for n in names if n != frame.at[i, "label"]]
        frame.at[i, "label"] = others[rng.integers(len(others))]
    path = tmp_path / "noisy.csv"
    frame.to_csv(path, index=False)
    return path, {int(i) + 1 for i in flipped}


def precision_recall(result, flipped: set[int]) -> tuple[float, float]:
    found = set(result.issues["row"])
    hit = len(found & flipped)
    return hit / max(len(found), 1), hit / len(flipped)


DATA = DataConfig(text_col="text", label_col="label")


@pytest.fixture(scope="module")
def cli_audit(tmp_path_factory):
    """One ``tweetsent audit`` (fast mode, the embedded MiniLM) of the noisy file."""
    from tweetsent.cli import main

    folder = tmp_path_factory.mktemp("audit")
    path, flipped = noisy_file(folder)
    out = folder / "audit.csv"
    argv = ["audit", str(path), "--text-col", "text", "--label-col", "label", "--cv", "4"]
    code = main([*argv, "--out", str(out)])
    return code, out, flipped


def test_fast_mode_finds_the_flipped_labels(cli_audit):
    code, out, flipped = cli_audit
    assert code == 0
    table = pd.read_csv(out)
    issues = table[table["label_issue"]]
    found = set(issues["row"])
    precision, recall = (
        len(found & flipped) / max(len(found), 1),
        len(found & flipped) / len(flipped),
    )
    assert precision >= 0.7 and recall >= 0.7, (precision, recall)
    # Flagged rows come first, ranked; their suggestion is a different label.
    assert list(issues["rank"]) == list(range(1, len(issues) + 1))
    assert list(table.index[table["label_issue"]]) == list(range(len(issues)))
    assert (issues["suggested_label"] != issues["given_label"]).mean() > 0.9
    assert table["row"].is_unique and len(table) == 3 * PER_CLASS
    probs = table[["p_angry", "p_happy", "p_neutral"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)


def test_cli_writes_csv_and_markdown(cli_audit, capsys):
    _, out, _ = cli_audit
    table = pd.read_csv(out)
    assert {"rank", "row", "text", "given_label", "suggested_label", "label_quality"} <= set(
        table.columns
    )
    assert {"label_issue", "duplicate_group"} <= set(table.columns)
    md = out.with_suffix(".md").read_text()
    assert "Estimated label noise per class" in md and re.search(r"Top \d+ suspects", md)
    # The estimated noise is of the order of what was injected (10 %), not 0 and not 50 %.
    noise = [float(x) for x in re.findall(r"\| ([0-9.]+) % \|", md)]
    assert len(noise) == 3 and 2 < sum(noise) / 3 < 30, noise
    assert not list(out.parent.glob(".*partial"))


def test_finetune_mode_trains_one_run_per_fold_out_of_fold(tmp_path, tiny_backbone):
    path, _ = noisy_file(tmp_path, seed=1)
    recipe = TrainConfig(epochs=1, batch_size=8, lr=1e-3, max_length=32, precision="fp32")
    result = audit_finetune(
        path,
        DATA,
        cv=2,
        model=str(tiny_backbone),
        train_config=recipe,
        work_dir=tmp_path / "folds",
    )
    texts = pd.read_csv(path)["text"]
    assert len(result.table) == len(texts)
    trained = [
        set(pd.read_csv(tmp_path / "folds" / f"fold-{k}" / "train.csv")["text"]) for k in (1, 2)
    ]
    # Each fold trains on one half and predicts the other: every row is predicted out of fold.
    assert trained[0].isdisjoint(trained[1]) and trained[0] | trained[1] == set(texts)
    probs = result.table[[f"p_{label}" for label in result.labels]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)


@pytest.mark.slow
def test_finetune_mode_finds_the_flipped_labels(tmp_path):
    path, flipped = noisy_file(tmp_path, seed=1)
    result = audit_finetune(path, DATA, cv=3, train_config=TrainConfig(epochs=3))
    precision, recall = precision_recall(result, flipped)
    assert precision >= 0.6 and recall >= 0.6, (precision, recall)


def test_duplicates_with_different_labels_are_grouped():
    texts = [
        "Lovely day at the museum!",
        "@bob lovely day at the museum! http://t.co/x",  # a copy with a mention and a link
        "lovely day at the museum",  # same words: agrees with the first, still in the group
        "The entrance opens at nine on tuesday",
        "the entrance opens at nine on tuesday",  # identical, same label: not reported
        "Something else entirely",
    ]
    labels = ["happy", "neutral", "happy", "neutral", "neutral", "happy"]
    groups = conflicting_duplicates(texts, labels)
    assert set(groups["row"]) == {1, 2, 3}
    assert groups["group"].nunique() == 1
    assert set(groups["given_label"]) == {"happy", "neutral"}


def test_bad_input_is_one_line(tmp_path, run_cli):
    path, _ = noisy_file(tmp_path)
    out = tmp_path / "a.csv"
    code, _, err = run_cli(
        "audit", path, "--text-col", "text", "--label-col", "lable", "--out", out
    )
    assert code == 1 and "lable" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(
        "audit", path, "--text-col", "text", "--label-col", "label", "--cv", 99, "--out", out
    )
    assert code == 1 and "--cv" in err and not out.exists()
    code, _, err = run_cli(
        "audit", path, "--text-col", "text", "--label-col", "label", "--epochs", 2, "--out", out
    )
    assert code == 1 and "finetune" in err


def test_bad_arguments():
    with pytest.raises(ConfigError, match="mode"):
        audit("x.csv", DATA, mode="slow")
    with pytest.raises(ConfigError, match="folds"):
        audit("x.csv", DATA, cv=1)
    with pytest.raises(DataError, match="not found"):
        audit("missing.csv", DATA)


def test_a_missing_output_folder_fails_before_any_work(tmp_path, run_cli):
    path, _ = noisy_file(tmp_path)
    code, _, err = run_cli(
        "audit",
        path,
        "--text-col",
        "text",
        "--label-col",
        "label",
        "--out",
        tmp_path / "no" / "a.csv",
    )
    assert code == 1 and "output folder not found" in err
