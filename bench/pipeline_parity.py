"""How often plain ``transformers.pipeline`` on a run's ``model/`` gives tweetsent's label.

Usage: python bench/pipeline_parity.py RUN_DIR [-n 2000] [--json FILE]

Real tweets: the first n/2 of SMILE and of the COVID test file (raw mentions, links, emoji,
HTML entities). Three ways to call the pipeline, each against ``TweetClassifier`` (torch):

- before: the model with the backbone's own tokenizer (what a run wrote before the masking);
- after: the model folder as a run writes it now (the tokenizer masks links and mentions);
- after + clean_tweet: ``pipe(clean_tweet(text, ...))``, the one line the model card gives.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def tweets(n: int) -> list[str]:
    smile = pd.read_csv(DATA / "smile-annotations-final.csv", header=None)[1]
    covid = pd.read_csv(DATA / "Corona_NLP_test.csv", encoding="latin-1")["OriginalTweet"]
    return [str(t) for t in [*smile.head(n // 2), *covid.head(n - n // 2)]]


def agreement(pipe, texts: list[str], reference: list[str]) -> float:
    answers = pipe(texts, batch_size=64, truncation=True)
    return sum(a["label"] == r for a, r in zip(answers, reference, strict=True)) / len(texts)


def main() -> None:
    from transformers import pipeline

    from tweetsent.config import TrainConfig
    from tweetsent.data.normalize import clean_tweet
    from tweetsent.inference import TweetClassifier
    from tweetsent.modeling.loading import load_tokenizer, resolve_model

    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    config = TrainConfig.load(args.run_dir / "config.json")
    texts = tweets(args.n)
    ours = TweetClassifier.load(args.run_dir, backend="torch").predict(texts)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "model"
        shutil.copytree(args.run_dir / "model", before)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            (before / name).unlink()
        load_tokenizer(resolve_model(config.model)).save_pretrained(before)
        results["before"] = agreement(
            pipeline("text-classification", model=str(before)), texts, ours
        )
    pipe = pipeline("text-classification", model=str(args.run_dir / "model"))
    results["after"] = agreement(pipe, texts, ours)
    cleaned = [
        clean_tweet(t, normalize=config.normalize, demojize_emoji=config.demojize) for t in texts
    ]
    results["after + clean_tweet"] = agreement(pipe, cleaned, ours)
    changed = {
        "normalisation (links, mentions, HTML, mojibake)": sum(
            t != clean_tweet(t, demojize_emoji=False) for t in texts
        ),
        "emoji": sum(clean_tweet(t) != clean_tweet(t, demojize_emoji=True) for t in texts),
    }
    print(f"{len(texts)} tweets; texts tweetsent's cleaning changes: {changed}")
    for name, share in results.items():
        print(f"| {name} | {share:.2%} |")
    if args.json:
        args.json.write_text(json.dumps({"tweets": len(texts), "agreement": results}, indent=2))


if __name__ == "__main__":
    main()
