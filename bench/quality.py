"""Quality benchmark: train on SMILE (tutorial split) over several seeds, one JSON line per run.

    flock -s /tmp/cpu.lock python bench/quality.py --seeds 17 18 19 --out bench/quality.jsonl \
        [--set class_weights=sqrt lr=1e-4 ...]

Every run uses the tutorials' split (split_seed 17, 85/15 stratified, nocode and multi-label rows
dropped); ``--seeds`` vary only the training randomness. ``--set`` overrides TrainConfig fields
(values parsed as JSON where possible), so the defaults are what is measured unless told.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SETS = {
    "smile": (DATA / "smile-annotations-final.csv", "smile"),
    "covid": (DATA / "Corona_NLP_test.csv", "covid"),
}


def parse_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=sorted(SETS), default="smile")
    parser.add_argument("--seeds", type=int, nargs="+", default=[17, 18, 19])
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--tag", default="")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    from tweetsent.config import DataConfig, TrainConfig
    from tweetsent.training import train

    overrides = dict(item.split("=", 1) for item in args.set)
    overrides = {k: parse_value(v) for k, v in overrides.items()}
    path, preset = SETS[args.data]
    for seed in args.seeds:
        config = TrainConfig(
            data_path=str(path), data=DataConfig(preset=preset), seed=seed, **overrides
        )
        work = Path(tempfile.mkdtemp(prefix="tweetsent-quality-"))
        started = time.perf_counter()
        result = train(config, work / "run", progress=False)
        wall = time.perf_counter() - started
        v = result.metrics["validation"]
        row = {
            "data": args.data,
            "tag": args.tag,
            "set": overrides,
            "seed": seed,
            "best_epoch": result.metrics["best_epoch"],
            "epochs_run": result.metrics["epochs_run"],
            "accuracy": v["accuracy"],
            "f1_weighted": v["f1_weighted"],
            "f1_macro": v["f1_macro"],
            "per_class": {k: r["accuracy"] for k, r in v["per_class"].items()},
            "history": [
                (h["epoch"], round(h["f1_weighted"], 4), round(h["f1_macro"], 4))
                for h in result.metrics["history"]
            ],
            "baseline": result.metrics.get("baseline"),
            "train_seconds": round(result.metrics["train_seconds"], 1),
            "wall_seconds": round(wall, 1),
        }
        with open(args.out, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        print(json.dumps(row), file=sys.stderr, flush=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
