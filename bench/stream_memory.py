"""Peak memory of `tweetsent predict --input FILE` as the file grows, next to reading it whole.

Each measurement is a fresh child process; its peak resident set size comes from the kernel
(os.wait4), taken by a small launcher process so that the figure is the command's own (a child
forked from this script would start out as big as it). "streamed" is the real CLI; "whole file"
is the pre-streaming way (read_table, then one predict_proba call over every text), kept here as
the reference.

    python bench/stream_memory.py --rows 20000 200000            # a tiny random BERT
    python bench/stream_memory.py --run RUN_DIR --rows 20000      # a trained run

Tweets are the SMILE data set's texts (../shared/data), repeated with a row number to reach
the size asked for; without it, generated ones.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMILE = ROOT.parent / "shared" / "data" / "smile-annotations-final.csv"

WHOLE_FILE = """
import sys
from tweetsent.config import DataConfig
from tweetsent.data import read_table
from tweetsent.inference import TweetClassifier
clf = TweetClassifier.load(sys.argv[1])
frame = read_table(sys.argv[2], DataConfig(text_col="text"))
proba = clf.predict_proba(frame["text"].fillna("").tolist())
"""


def tiny_model(out: Path) -> Path:
    """A random 2-layer BERT classifier with the embedded MiniLM's tokenizer (3 labels)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from tweetsent.modeling import default_model_path

    tokenizer = AutoTokenizer.from_pretrained(default_model_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=3,
        id2label={0: "angry", 1: "happy", 2: "neutral"},
        label2id={"angry": 0, "happy": 1, "neutral": 2},
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def tweets_file(rows: int, out: Path) -> Path:
    import pandas as pd

    if SMILE.exists():
        texts = pd.read_csv(SMILE, header=None, names=["id", "text", "label"])["text"].tolist()
    else:
        texts = [f"tweet about the museum, day {i} #art @user" for i in range(1000)]
    frame = pd.DataFrame(
        {"id": range(rows), "text": [f"{texts[i % len(texts)]} ({i})" for i in range(rows)]}
    )
    frame.to_csv(out, index=False)
    return out


MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_rss_mb(cmd: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True
    ).stdout.split()
    if out[0] != "0":
        raise SystemExit(f"failed ({out[0]}): {' '.join(cmd)}")
    return int(out[1]) / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="run or model directory (default: a tiny random BERT)")
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--chunk-size", type=int, default=2048)
    parser.add_argument("--no-whole-file", action="store_true", help="skip the reference")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = args.run or str(tiny_model(tmp / "tiny"))
        lines = [
            "| rows | input MB | streamed peak RSS MB | whole-file peak RSS MB |",
            "|---|---|---|---|",
        ]
        for rows in args.rows:
            source = tweets_file(rows, tmp / f"tweets-{rows}.csv")
            cli = [sys.executable, "-m", "tweetsent", "predict", run, "--input", str(source)]
            cli += ["--output", str(tmp / "out.csv"), "--text-col", "text", "--no-progress"]
            cli += ["--chunk-size", str(args.chunk_size)]
            streamed, _ = peak_rss_mb(cli)
            whole = "-"
            if not args.no_whole_file:
                whole = (
                    f"{peak_rss_mb([sys.executable, '-c', WHOLE_FILE, run, str(source)])[0]:.0f}"
                )
            size = source.stat().st_size / 2**20
            lines.append(f"| {rows:,} | {size:.1f} | {streamed:.0f} | {whole} |")
            print(lines[-1], flush=True)
        print("\n".join(lines))


if __name__ == "__main__":
    main()
