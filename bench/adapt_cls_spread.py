"""How much the [CLS] state the classifier reads varies between tweets, before and after `adapt`.

    python bench/adapt_cls_spread.py covid --seed 17 --json FILE.json

Adapts the embedded MiniLM (mlm, the defaults) on a suite task's training split, as
`train --adapt` does inside `bench quality`, then passes the first 512 of those tweets through the
original and the adapted encoder. For the last layer's [CLS] state (what
BertForSequenceClassification's pooler reads) and for the mean of the token states it reports
the mean pairwise cosine between tweets, the between-tweet spread over the mean norm, and the
share of that spread on its first principal component. A quality diagnostic, not a timing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from transformers import AutoModel, AutoTokenizer

from tweetsent.benchmarks.machine import machine_info
from tweetsent.benchmarks.quality import materialize, suite_tasks
from tweetsent.data.normalize import clean_tweet
from tweetsent.modeling.loading import resolve_model

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TWEETS = 512


def last_layer_states(model_dir: str, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The [CLS] state and the mean token state of every text, in fp32."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    cls, mean = [], []
    with torch.inference_mode():
        for start in range(0, len(texts), 64):
            batch = tokenizer(
                texts[start : start + 64],
                padding=True,
                truncation=True,
                max_length=128,
                return_tensors="pt",
            )
            states = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            cls.append(states[:, 0].numpy())
            mean.append(((states * mask).sum(1) / mask.sum(1)).numpy())
    return np.concatenate(cls), np.concatenate(mean)


def spread(states: np.ndarray) -> dict:
    norms = np.linalg.norm(states, axis=1)
    unit = states / norms[:, None]
    cosines = (unit @ unit.T)[~np.eye(len(states), dtype=bool)]
    centred = states - states.mean(axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    return {
        "mean_norm": float(norms.mean()),
        "mean_pairwise_cosine": float(cosines.mean()),
        "between_tweet_spread_over_norm": float(
            np.sqrt((centred**2).sum(axis=1).mean()) / norms.mean()
        ),
        "first_component_share": float(singular[0] ** 2 / (singular**2).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", help="a bench quality task (e.g. covid)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="adapt-cls-") as work:
        split = materialize(suite_tasks(DATA)[args.task], Path(work) / "data")
        adapted = Path(work) / "adapted"
        command = [sys.executable, "-m", "tweetsent", "adapt", str(split.train)]
        command += ["--text-col", "text", "--out", str(adapted), "--seed", str(args.seed)]
        subprocess.run([*command, "--no-progress"], check=True)
        texts = pd.read_csv(split.train)["text"].astype(str).tolist()[:TWEETS]
        texts = [clean_tweet(t, demojize_emoji=True) for t in texts]
        result = {"task": args.task, "seed": args.seed, "tweets": len(texts)}
        result["machine"] = machine_info()
        for name, model_dir in (("original", resolve_model(None)), ("adapted", str(adapted))):
            cls, mean = last_layer_states(model_dir, texts)
            result[name] = {"cls": spread(cls), "mean_of_tokens": spread(mean)}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
