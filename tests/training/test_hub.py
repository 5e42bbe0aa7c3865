"""The model card and the masking tokenizer every run writes into RUN_DIR/model."""

from __future__ import annotations

import numpy as np
import pytest

from tweetsent.config import TrainConfig
from tweetsent.data.normalize import clean_tweet
from tweetsent.training.hub import EMBEDDED_BASE, base_model


@pytest.fixture(autouse=True)
def _fp32(monkeypatch):
    """These tests compare the hub model's probabilities at fp32 tolerances: torch runs fp32
    here on every CPU class (on a bf16 CPU "auto" would cast the weights to bf16)."""
    monkeypatch.setattr("tweetsent.hardware.cpu_has_bf16", lambda: False)


TWEETS = [
    "@Bob_1 loved it https://t.co/xYz",
    "@MÜLLER great day at www.example.com/museum!",
    "mail me at me@example.com @user",
    "HTTP://T.CO/ABC hate this @a @b",
    "nothing to mask here, just words",
]


def test_model_card_is_in_the_hub_format(_tiny_run):
    from huggingface_hub import ModelCard

    card = ModelCard.load(_tiny_run / "model" / "README.md")
    meta = card.data.to_dict()
    assert meta["pipeline_tag"] == "text-classification" and "tweetsent" in meta["tags"]
    assert "f1" in meta["metrics"]
    results = meta["model-index"][0]["results"][0]["metrics"]
    f1 = next(r["value"] for r in results if r["name"] == "F1 (weighted)")
    import json

    metrics = json.loads((_tiny_run / "metrics.json").read_text())
    assert f1 == pytest.approx(metrics["validation"]["f1_weighted"], abs=1e-4)
    for section in ("## Data", "## Labels", "## Metrics", "## Training settings"):
        assert section in card.text
    assert "## Intended use" in card.text and "clean_tweet(text" in card.text
    assert "base_model" not in meta  # a local folder is not a hub id


def test_base_model_names_the_embedded_backbone_and_hub_ids():
    assert base_model({}, TrainConfig()) == EMBEDDED_BASE
    assert base_model({}, TrainConfig(model="bert-base-uncased")) == "bert-base-uncased"
    assert base_model({}, TrainConfig(model="./local-encoder")) is None


def test_plain_pipeline_masks_links_and_mentions_like_tweetsent(_tiny_run):
    from transformers import pipeline

    from tweetsent.inference import TweetClassifier

    pipe = pipeline("text-classification", model=str(_tiny_run / "model"), top_k=None)
    from tweetsent.inference.calibration import softmax

    ours = TweetClassifier.load(_tiny_run, backend="torch")
    # The same logits; a plain pipeline applies no calibration temperature (README says so).
    expected = softmax(ours.predict_logits(TWEETS))
    for text, row in zip(TWEETS, pipe(TWEETS), strict=True):
        got = {r["label"]: r["score"] for r in row}
        want = expected[TWEETS.index(text)]
        assert [got[label] for label in ours.labels] == pytest.approx(want.tolist(), abs=1e-5)


def test_masking_changes_nothing_on_text_tweetsent_cleaned(_tiny_run, tiny_backbone):
    from tweetsent.modeling.loading import load_tokenizer

    masked = load_tokenizer(str(_tiny_run / "model"))
    plain = load_tokenizer(str(tiny_backbone))
    assert masked("@bob https://x.y")["input_ids"] != plain("@bob https://x.y")["input_ids"]
    cleaned = [clean_tweet(t) for t in TWEETS]
    assert masked(cleaned)["input_ids"] == plain(cleaned)["input_ids"]
    assert masked.model_input_names == plain.model_input_names


@pytest.mark.needs_shared_data
def test_masking_is_idempotent_on_real_tweets(_tiny_run, tiny_backbone, covid_path):
    import pandas as pd

    from tweetsent.modeling.loading import load_tokenizer

    texts = pd.read_csv(covid_path, encoding="latin-1")["OriginalTweet"].head(500).tolist()
    cleaned = [clean_tweet(t) for t in texts]
    masked = load_tokenizer(str(_tiny_run / "model"))
    plain = load_tokenizer(str(tiny_backbone))
    # tweetsent's own path (clean, then the masking tokenizer) is exactly what it was
    assert masked(cleaned)["input_ids"] == plain(cleaned)["input_ids"]
    # and on raw text the tokenizer alone now agrees with clean-then-tokenize on most tweets
    same = np.mean(
        [
            a == b
            for a, b in zip(masked(texts)["input_ids"], plain(cleaned)["input_ids"], strict=True)
        ]
    )
    assert same > 0.5
