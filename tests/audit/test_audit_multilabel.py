"""tweetsent audit --multi-label: label sets that lost or gained a label must be found."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tweetsent.audit.core import audit
from tweetsent.audit.folds import audit_finetune
from tweetsent.config import DataConfig, TrainConfig
from tweetsent.errors import DataError

TOPICS = {
    "sports": ["goal", "match", "striker", "league", "coach", "stadium", "penalty", "season"],
    "politics": ["senate", "vote", "minister", "ballot", "policy", "election", "party", "law"],
    "weather": ["rain", "storm", "sunny", "forecast", "snow", "thunder", "humid", "windy"],
}
DATA = DataConfig(text_col="text", label_col="labels")


def noisy_sets(tmp_path, rows: int = 150, seed: int = 0, share: float = 0.1):
    """Tweets about one or two topics, labelled with their topic set; ``share`` of the rows
    then lose a true topic or gain a false one. The file, and the 1-based rows changed (in the
    file: its first row has no text and is dropped, so each row's number is its index + 2)."""
    rng = np.random.default_rng(seed)
    names = list(TOPICS)
    texts, sets = [], []
    for i in range(rows):
        chosen = sorted(rng.choice(names, 1 + (i % 3 == 0), replace=False))
        words = [w for t in chosen for w in rng.choice(TOPICS[t], 2, replace=False)]
        texts.append(f"{' '.join(words)} today {i}")
        sets.append(list(chosen))
    changed = rng.choice(rows, int(share * rows), replace=False)
    for i in changed:
        if len(sets[i]) == 2:
            sets[i] = [sets[i][int(rng.integers(2))]]  # a true topic lost
        else:
            extra = [t for t in names if t not in sets[i]]
            sets[i] = sorted([*sets[i], extra[int(rng.integers(len(extra)))]])  # a false one
    path = tmp_path / "topics.csv"
    texts, sets = ["", *texts], [["sports"], *sets]
    pd.DataFrame({"text": texts, "labels": [" | ".join(s) for s in sets]}).to_csv(path, index=False)
    return path, {int(i) + 2 for i in changed}


def test_cli_finds_label_sets_that_lost_or_gained_a_label(tmp_path, run_cli):
    path, changed = noisy_sets(tmp_path)
    out = tmp_path / "audit.csv"
    argv = ["audit", path, "--text-col", "text", "--label-col", "labels", "--multi-label"]
    code, stdout, err = run_cli(*argv, "--cv", 4, "--out", out)
    assert code == 0, err
    table = pd.read_csv(out)
    assert len(table) == 150
    flagged = set(table.loc[table["label_issue"], "row"])
    hit = len(flagged & changed)
    precision, recall = hit / max(len(flagged), 1), hit / len(changed)
    assert precision >= 0.6 and recall >= 0.6, (precision, recall)
    # Label sets written one canonical way; independent per-label probabilities.
    assert set(table["given_label"]) <= {
        "politics",
        "sports",
        "weather",
        "politics|sports",
        "politics|weather",
        "sports|weather",
    }
    probs = table[["p_politics", "p_sports", "p_weather"]].to_numpy()
    assert ((probs >= 0) & (probs <= 1)).all() and not np.allclose(probs.sum(axis=1), 1.0)
    # A flagged row that lost a topic is suggested the full set back.
    first = table[table["label_issue"]].iloc[0]
    assert first["suggested_label"] != first["given_label"]
    markdown = out.with_suffix(".md").read_text()
    assert "multi-label" in markdown and "missing it" in markdown
    assert "est. rows missing it" in stdout


def test_noise_per_label_counts_rows_that_carry_and_miss_it(tmp_path):
    path, _ = noisy_sets(tmp_path, seed=2)
    result = audit(path, DATA, cv=4, train_config=TrainConfig(multi_label=True))
    assert result.multi_label and result.labels == ["politics", "sports", "weather"]
    frame = pd.read_csv(path)
    for row in result.noise.itertuples():
        carrying = frame["labels"].iloc[1:].str.contains(row.label).sum()  # row 1: no text
        assert row.rows == carrying
        assert 0 <= row.estimated_wrong <= 1 and row.estimated_missing_rows >= 0
        assert row.flagged <= len(result.issues)


def test_finetune_mode_trains_multi_label_runs(tmp_path, tiny_backbone):
    path, _ = noisy_sets(tmp_path, rows=120, seed=1)
    recipe = TrainConfig(
        multi_label=True, epochs=1, batch_size=8, lr=1e-3, max_length=32, val_size=0.25
    )
    result = audit_finetune(path, DATA, cv=2, model=str(tiny_backbone), train_config=recipe)
    probs = result.table[[f"p_{label}" for label in result.labels]].to_numpy()
    assert probs.shape == (120, 3) and ((probs >= 0) & (probs <= 1)).all()
    assert result.multi_label and result.mode == "finetune"


def test_a_label_too_rare_for_the_folds_is_one_line(tmp_path, run_cli):
    path = tmp_path / "rare.csv"
    texts = [f"tweet number {i}" for i in range(20)]
    labels = ["a|b" if i == 0 else ("a" if i % 2 else "b") for i in range(20)]
    labels[1] = "a|c"
    pd.DataFrame({"text": texts, "labels": labels}).to_csv(path, index=False)
    with pytest.raises(DataError, match="'c'"):
        audit(path, DATA, cv=4, train_config=TrainConfig(multi_label=True))
    argv = ["audit", path, "--text-col", "text", "--label-col", "labels", "--multi-label"]
    code, _, err = run_cli(*argv, "--out", tmp_path / "out.csv")
    assert code == 1 and "'c'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.csv").exists()
