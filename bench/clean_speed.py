"""Tweet cleaning per tweet: tweetsent's clean_tweet against the same steps without its two
shortcuts (ftfy and emoji's matcher on every tweet), on the tweets `bench predict` times.

    flock -x /tmp/cpu.lock python bench/clean_speed.py --json bench/measurements/FILE.json

Alternating rounds, best round each; both must give the same text for every tweet.
"""

from __future__ import annotations

import argparse
import html
import json
import platform
import time
from pathlib import Path

import emoji
import ftfy
import pandas as pd

from tweetsent.benchmarks.machine import machine_info
from tweetsent.data import normalize as n
from tweetsent.data.normalize import clean_tweet

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def full_path(text: str) -> str:
    if not text:
        return ""
    text = ftfy.fix_text(text, unescape_html=True, normalization="NFC", fix_line_breaks=True)
    text = html.unescape(text)
    text = n._SPACES.sub(" ", n._MENTION.sub("@user", n._URL.sub("http", text))).strip()
    if not text:
        return ""
    text = emoji.replace_emoji(
        n._SKIN_TONES.sub("", text),
        replace=lambda _, data: f" {data['en'].strip(':').replace('_', ' ')} ",
    )
    return n._SPACES.sub(" ", text).strip()


def ours(text: str) -> str:
    return clean_tweet(text, normalize=True, demojize_emoji=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    smile = pd.read_csv(DATA / "smile-annotations-final.csv", header=None)[1][:1000]
    covid = pd.read_csv(DATA / "Corona_NLP_test.csv", encoding="latin-1")["OriginalTweet"][:1000]
    texts = [str(t) for t in [*smile, *covid]]
    assert [ours(t) for t in texts] == [full_path(t) for t in texts]
    best = {"full path": float("inf"), "clean_tweet": float("inf")}
    for _ in range(args.rounds):
        for name, fn in (("full path", full_path), ("clean_tweet", ours)):
            started = time.perf_counter()
            for text in texts:
                fn(text)
            best[name] = min(best[name], time.perf_counter() - started)
    us = {name: round(seconds / len(texts) * 1e6, 1) for name, seconds in best.items()}
    result = {
        "tweets": len(texts),
        "rounds": args.rounds,
        "us_per_tweet": us,
        "speedup": round(us["full path"] / us["clean_tweet"], 2),
        "machine": {**machine_info(), "python": platform.python_version()},
    }
    print(json.dumps(result["us_per_tweet"]), f"{result['speedup']}x")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
