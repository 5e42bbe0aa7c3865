"""Where a tweet's prediction time goes, for a run and its distilled student on one engine:
cleaning, tokenizing, padding and the network, each per tweet, and the two ratios that bound
what a student can gain over its teacher.

    flock -x /tmp/cpu.lock python bench/predict_parts.py RUN STUDENT --json FILE.json

The tweets: the first 1,000 of SMILE and of COVID, read with pandas as bench/clean_speed.py
reads them (`bench predict` takes the same rows through the project's readers). Alternating
rounds, best round each. ``engine ratio`` is teacher / student time in the network alone: the
most a student of half the layers can gain however cheap the work around the network gets.
``predict ratio`` is the same through ``TweetClassifier.predict``, as users call it.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tweetsent.benchmarks.machine import machine_info
from tweetsent.inference.predictor import TweetClassifier, _pad

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def parts(clf: TweetClassifier, texts: list[str]) -> dict:
    """One round: seconds of each step ``predict_logits`` takes, in its order."""
    seconds = {}
    started = time.perf_counter()
    cleaned = [clf._clean(t) for t in texts]
    seconds["clean"] = time.perf_counter() - started

    started = time.perf_counter()
    ids = clf.tokenizer(cleaned, truncation=True, max_length=clf.max_length)["input_ids"]
    seconds["tokenize"] = time.perf_counter() - started

    started = time.perf_counter()
    order = np.argsort([len(i) for i in ids], kind="stable")
    pad_id = clf.tokenizer.pad_token_id or 0
    batches = [
        _pad([ids[i] for i in order[s : s + clf.batch_size]], pad_id)
        for s in range(0, len(order), clf.batch_size)
    ]
    seconds["pad"] = time.perf_counter() - started

    names = {n for n in batches[0] if n in clf._input_names}
    started = time.perf_counter()
    for batch in batches:
        clf.engine({n: batch[n] for n in names})
    seconds["network"] = time.perf_counter() - started

    started = time.perf_counter()
    clf.predict(texts)
    seconds["predict"] = time.perf_counter() - started
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("student", type=Path)
    parser.add_argument("--backends", nargs="+", default=["onnx", "openvino", "torch"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    smile = pd.read_csv(DATA / "smile-annotations-final.csv", header=None)[1][:1000]
    covid = pd.read_csv(DATA / "Corona_NLP_test.csv", encoding="latin-1")["OriginalTweet"][:1000]
    texts = [str(t) for t in [*smile, *covid]]

    models = {
        (backend, who): TweetClassifier.load(
            path,
            backend=backend,
            precision="fp32",
            variant=None if backend == "torch" else "fp32",
        )
        for backend in args.backends
        for who, path in (("teacher", args.run), ("student", args.student))
    }
    for clf in models.values():
        clf.predict(texts[:256])  # warm-up: first calls allocate
    best: dict = {key: {} for key in models}
    for _ in range(args.rounds):
        for key, clf in models.items():
            for part, seconds in parts(clf, texts).items():
                best[key][part] = min(best[key].get(part, float("inf")), seconds)

    rows = []
    for backend in args.backends:
        us = {
            who: {part: round(s / len(texts) * 1e6, 1) for part, s in best[(backend, who)].items()}
            for who in ("teacher", "student")
        }
        row = {
            "backend": backend,
            "us_per_tweet": us,
            "engine_ratio": round(us["teacher"]["network"] / us["student"]["network"], 3),
            "predict_ratio": round(us["teacher"]["predict"] / us["student"]["predict"], 3),
        }
        rows.append(row)
        ratios = f"engine {row['engine_ratio']}x, predict {row['predict_ratio']}x"
        print(backend, json.dumps(us), ratios)
    result = {
        "tweets": len(texts),
        "rounds": args.rounds,
        "run": str(args.run),
        "student": str(args.student),
        "results": rows,
        "machine": {**machine_info(), "python": platform.python_version()},
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
