"""tweetsent suggest: uncertain tweets first, not near-copies, random as the control, and the
output goes back into train."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tweetsent.errors import ConfigError
from tweetsent.inference.predictor import TweetClassifier
from tweetsent.suggest.core import select, suggest, uncertainty

LABELS = ["angry", "happy", "neutral"]
CUES = {"love": 1, "wonderful": 1, "great": 1, "hate": 0, "awful": 0, "terrible": 0}


class WordEngine:
    """A bag-of-words linear classifier over the real tokenizer's ids: each cue word adds 3 to
    its class's logit, so a tweet's uncertainty is known in advance (a tweet with one happy
    and one angry cue is a coin toss; two cues of one class are clear)."""

    name = "words"
    input_names = ["input_ids", "attention_mask"]

    def __init__(self, tokenizer):
        self.weights = np.zeros((tokenizer.vocab_size, len(LABELS)), dtype=np.float32)
        for word, label in CUES.items():
            self.weights[tokenizer.convert_tokens_to_ids(word), label] = 3.0

    def __call__(self, batch):
        ids, mask = batch["input_ids"], batch["attention_mask"]
        return (self.weights[ids] * mask[..., None]).sum(axis=1)


@pytest.fixture(scope="module")
def word_classifier():
    from tweetsent.modeling import default_model_path, load_tokenizer

    tokenizer = load_tokenizer(default_model_path())
    return TweetClassifier(WordEngine(tokenizer), tokenizer, LABELS)


CLEAR = [
    "love this wonderful museum",
    "great and wonderful day",
    "hate this awful queue",
    "terrible awful service",
    "love love great",
]
AMBIGUOUS = [
    "love the art but hate the queue",
    "wonderful rooms, awful cafe",
    "great exhibits terrible staff",
]


def test_uncertainty_scores():
    proba = np.array([[0.9, 0.05, 0.05], [0.45, 0.45, 0.1], [1 / 3, 1 / 3, 1 / 3]])
    margin = uncertainty(proba, "margin")
    entropy = uncertainty(proba, "entropy")
    assert margin[0] < margin[1] == pytest.approx(margin[2]) == pytest.approx(1.0)
    assert entropy[0] < entropy[1] < entropy[2] == pytest.approx(np.log(3))
    # Multi-label: nearest to a threshold is the most uncertain.
    ml = uncertainty(np.array([[0.9, 0.1], [0.52, 0.1]]), "margin", thresholds=[0.5, 0.5])
    assert ml[1] > ml[0]
    with pytest.raises(ConfigError, match="strategy"):
        uncertainty(proba, "loss")


def test_the_pool_is_ranked_ambiguous_first(tmp_path, word_classifier):
    pool = tmp_path / "pool.csv"
    texts = CLEAR[:2] + AMBIGUOUS[:1] + CLEAR[2:] + AMBIGUOUS[1:]
    pd.DataFrame({"text": texts, "id": range(len(texts))}).to_csv(pool, index=False)
    from tweetsent.config import DataConfig

    for strategy in ("margin", "entropy"):
        out = suggest(
            word_classifier, pool, 3, DataConfig(text_col="text"), strategy=strategy, factor=1
        )
        assert set(out["text"]) == set(AMBIGUOUS), strategy
        assert list(out["rank"]) == [1, 2, 3]
        assert (out["label"] == "").all()
        assert list(out.columns[:2]) == ["text", "label"]
        rows = [texts.index(t) + 1 for t in out["text"]]
        assert list(out["pool_row"]) == rows and list(out["id"]) == [str(r - 1) for r in rows]


def test_diversity_keeps_near_copies_out(tmp_path, word_classifier):
    from tweetsent.config import DataConfig

    # Ten near-copies of one coin-toss tweet, and three other, less uncertain kinds.
    copies = [f"love it but hate it #{i}" for i in range(10)]
    others = ["love the queue, hate nothing awful", "wonderful great awful", "great art hate"]
    pool = tmp_path / "pool.csv"
    pd.DataFrame({"text": copies + others + CLEAR}).to_csv(pool, index=False)
    plain = suggest(word_classifier, pool, 3, DataConfig(text_col="text"), factor=1)
    diverse = suggest(word_classifier, pool, 3, DataConfig(text_col="text"), factor=5)
    assert all(t.startswith("love it but hate it") for t in plain["text"])
    assert sum(t.startswith("love it but hate it") for t in diverse["text"]) == 1


def test_random_is_a_seeded_control():
    proba = np.random.default_rng(0).dirichlet(np.ones(3), size=50)
    a, _ = select(proba, 10, strategy="random", seed=1)
    b, _ = select(proba, 10, strategy="random", seed=1)
    c, _ = select(proba, 10, strategy="random", seed=2)
    assert list(a) == list(b) and list(a) != list(c) and len(set(a)) == 10
    top, _ = select(proba, 10, strategy="margin")
    assert set(top) != set(a)


def test_cli_round_trip_into_train(tmp_path, run_cli, tiny_run, small_csv, train_argv):
    pool = tmp_path / "pool.csv"
    texts = [f"{w} day at the museum {i}" for i, w in enumerate(["love", "hate", "ticket"] * 8)]
    pd.DataFrame({"text": texts + ["", texts[0]]}).to_csv(pool, index=False)
    out = tmp_path / "to_label.csv"
    code, stdout, err = run_cli("suggest", tiny_run, "--pool", pool, "--n", 6, "--out", out)
    assert code == 0, err
    assert "fill in its 'label' column" in stdout
    chosen = pd.read_csv(out, keep_default_na=False)
    assert len(chosen) == 6 and chosen["text"].is_unique and (chosen["text"] != "").all()
    assert (chosen["label"] == "").all()
    # A person labels them; the file joins the old labels by column name and trains.
    chosen["label"] = ["happy", "angry", "neutral", "happy", "angry", ""]  # one left undone
    merged = tmp_path / "merged.csv"
    pd.concat([pd.read_csv(small_csv), chosen]).to_csv(merged, index=False)
    run = tmp_path / "again"
    code, _, err = run_cli(*train_argv(data=merged, out=run))
    assert code == 0, err
    import json

    data = json.loads((run / "metrics.json").read_text())["data"]
    assert data["train_rows"] + data["validation_rows"] == 90 + 5  # the empty label skipped


def test_random_strategy_cli_and_bad_input(tmp_path, run_cli, tiny_run):
    pool = tmp_path / "pool.csv"
    pd.DataFrame({"text": [f"tweet number {i}" for i in range(20)]}).to_csv(pool, index=False)
    out = tmp_path / "r.csv"
    code, _, err = run_cli(
        "suggest", tiny_run, "--pool", pool, "--n", 5, "--out", out, "--strategy", "random"
    )
    assert code == 0, err
    assert len(pd.read_csv(out)) == 5
    code, _, err = run_cli("suggest", tiny_run, "--pool", pool, "--n", 0, "--out", out)
    assert code == 2 and "argument --n: must be a positive integer" in err
    code, _, err = run_cli(
        "suggest", tiny_run, "--pool", tmp_path / "nope.csv", "--n", 3, "--out", out
    )
    assert code == 1 and "nope.csv" in err and len(err.strip().splitlines()) == 1
