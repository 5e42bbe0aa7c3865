"""Turn bench/quality.py's JSON lines into the Markdown tables of bench/RESULTS.md.

python bench/quality_table.py bench/quality.jsonl
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import numpy as np

TUTORIAL = {
    "f1_weighted": 0.867,
    "per_class": "happy 161/171, not-relevant 20/32, angry 8/9, disgust 0/1, sad 2/5, surprise 2/5",
}


def main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    groups = defaultdict(list)
    for row in rows:
        # Lines whose final re-score was dropped carry best-epoch scores from the history.
        for key in ("f1_weighted", "f1_macro"):
            row.setdefault(key, row.get(f"best_{key}"))
        row.setdefault("accuracy", float("nan"))
        row.setdefault("per_class", {})
        groups[(row["data"], row["tag"])].append(row)
    for (data, tag), runs in groups.items():
        print(f"\n### {data} / {tag}: settings {json.dumps(runs[0]['set'])}\n")
        print(
            "| run | best epoch / run | accuracy | f1_weighted | f1_macro | per-class accuracy "
            "| train s |"
        )
        print("|---|---:|---:|---:|---:|---|---:|")
        for r in runs:
            per_class = ", ".join(f"{k} {v}" for k, v in r["per_class"].items())
            print(
                f"| seed {r['seed']} | {r['best_epoch']} / {r['epochs_run']} | "
                f"{r['accuracy']:.4f} | {r['f1_weighted']:.4f} | {r['f1_macro']:.4f} | "
                f"{per_class} | {r['train_seconds']:.0f} |"
            )
        if len(runs) > 1:

            def mean(key, runs=runs):
                return float(np.mean([r[key] for r in runs]))

            def std(key, runs=runs):
                return float(np.std([r[key] for r in runs], ddof=1))

            print(
                f"| **mean ± std** | | {mean('accuracy'):.4f} ± {std('accuracy'):.4f} | "
                f"**{mean('f1_weighted'):.4f}** ± {std('f1_weighted'):.4f} | "
                f"**{mean('f1_macro'):.4f}** ± {std('f1_macro'):.4f} | | |"
            )
        b = runs[0].get("baseline")
        if b:
            per_class = ", ".join(f"{k} {v['accuracy']}" for k, v in b.get("per_class", {}).items())
            print(
                f"| baseline {b['model']} | | {b['accuracy']:.4f} | {b['f1_weighted']:.4f} | "
                f"{b['f1_macro']:.4f} | {per_class} | {b.get('seconds', float('nan')):.0f} |"
            )


if __name__ == "__main__":
    main(sys.argv[1])
