"""Simulated labelling loop: does ``tweetsent suggest``'s selection beat random labelling?

A cheap but honest protocol for a 2-core CPU: the learner retrained each round is the audit's
fast learner (frozen embedded-MiniLM sentence embeddings + scikit-learn logistic regression),
not a fine-tuned encoder. The selection is ``tweetsent.inference.suggest.select``, exactly as the
command runs it (uncertainty, then k-means diversity over the candidates' embeddings).

Start from ``--start`` random labelled tweets of the task's training split (the pool), add
``--step`` per round for ``--rounds`` rounds, score on the test split after each round; repeat
for each seed (the same start set for every strategy of a seed) and report the mean.

    OMP_NUM_THREADS=1 flock -s /tmp/cpu.lock python bench/suggest_loop.py \
        ../shared/data/tweeteval/irony --positive irony --json bench/suggest_loop.json \
        --plot bench/suggest_loop.png
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", help="folder with train.csv and test.csv (text,label)")
    parser.add_argument("--positive", help="score F1 of this class (else macro F1)")
    parser.add_argument("--start", type=int, default=200)
    parser.add_argument("--step", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=[17, 18, 19])
    parser.add_argument("--strategies", nargs="+", default=["margin", "entropy", "random"])
    parser.add_argument("--factor", type=int, default=5)
    parser.add_argument("--cache", default=None, help="npz of the embeddings (reused if there)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--plot", default=None)
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    from tweetsent.config import TrainConfig
    from tweetsent.data.normalize import clean_tweet
    from tweetsent.inference.suggest import select
    from tweetsent.modeling.embeddings import sentence_embeddings

    task = Path(args.task)
    train = pd.read_csv(task / "train.csv", keep_default_na=False)
    test = pd.read_csv(task / "test.csv", keep_default_na=False)
    recipe = TrainConfig()

    def clean(texts):
        return [
            clean_tweet(t, normalize=recipe.normalize, demojize_emoji=recipe.demojize)
            for t in texts
        ]

    started = time.perf_counter()
    cache = Path(args.cache) if args.cache else None
    if cache is not None and cache.exists():
        saved = np.load(cache)
        x_pool, x_test = saved["pool"], saved["test"]
    else:
        x_pool = sentence_embeddings(clean(train["text"]))
        x_test = sentence_embeddings(clean(test["text"]))
        if cache is not None:
            np.savez(cache, pool=x_pool, test=x_test)
    embed_seconds = time.perf_counter() - started
    classes = sorted(train["label"].unique())
    y_pool = np.array([classes.index(v) for v in train["label"]])
    y_test = np.array([classes.index(v) for v in test["label"]])

    def score(model) -> dict:
        pred = model.predict(x_test)
        if args.positive:
            main_score = f1_score(
                y_test, pred, pos_label=classes.index(args.positive), average="binary"
            )
        else:
            main_score = f1_score(y_test, pred, average="macro")
        return {
            "score": float(main_score),
            "f1_macro": float(f1_score(y_test, pred, average="macro")),
            "accuracy": float(accuracy_score(y_test, pred)),
        }

    def fit(idx):
        return LogisticRegression(max_iter=2000).fit(x_pool[idx], y_pool[idx])

    full = score(fit(np.arange(len(y_pool))))
    curves: dict[str, list[list[dict]]] = {s: [] for s in args.strategies}
    for seed in args.seeds:
        start = np.random.default_rng(seed).choice(len(y_pool), args.start, replace=False)
        for strategy in args.strategies:
            labelled = list(start)
            curve = []
            for round_ in range(args.rounds + 1):
                model = fit(np.array(labelled))
                curve.append({"labelled": len(labelled), **score(model)})
                if round_ == args.rounds:
                    break
                rest = np.setdiff1d(np.arange(len(y_pool)), labelled)
                chosen, _ = select(
                    model.predict_proba(x_pool[rest]),
                    args.step,
                    strategy=strategy,
                    embed=lambda i, rest=rest: x_pool[rest[i]],
                    factor=args.factor,
                    seed=seed + round_,
                )
                labelled += list(rest[chosen])
            curves[strategy].append(curve)
            print(seed, strategy, " ".join(f"{c['score']:.3f}" for c in curve), flush=True)

    rows = []
    for strategy, per_seed in curves.items():
        for k in range(args.rounds + 1):
            values = [c[k] for c in per_seed]
            rows.append(
                {
                    "strategy": strategy,
                    "labelled": values[0]["labelled"],
                    "score": float(np.mean([v["score"] for v in values])),
                    "score_std": float(np.std([v["score"] for v in values], ddof=1))
                    if len(values) > 1
                    else 0.0,
                    "accuracy": float(np.mean([v["accuracy"] for v in values])),
                }
            )
    table = pd.DataFrame(rows)
    wide = table.pivot(index="labelled", columns="strategy", values="score")
    print(f"\npool {len(y_pool)}, test {len(y_test)}; full pool: {full}")
    print(wide.round(4).to_string())
    print(f"embedding took {embed_seconds:.0f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "task": str(task),
                    "metric": f"F1 of {args.positive}" if args.positive else "macro F1",
                    "pool": len(y_pool),
                    "test": len(y_test),
                    "full_pool": full,
                    "seeds": args.seeds,
                    "table": rows,
                    "curves": curves,
                },
                indent=1,
            )
            + "\n"
        )
    if args.plot:
        _plot(args, table, full, len(y_pool), task)


def _plot(args, table, full, pool_size, task) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for strategy in args.strategies:
        part = table[table["strategy"] == strategy]
        ax.errorbar(part["labelled"], part["score"], yerr=part["score_std"], marker="o",
                    capsize=3, label=strategy)  # fmt: skip
    ax.axhline(full["score"], color="grey", ls=":", label=f"all {pool_size} labelled")
    metric = f"F1 ({args.positive})" if args.positive else "macro F1"
    title = f"{task.name}: suggest vs random (mean of {len(args.seeds)} seeds)"
    ax.set(xlabel="labelled tweets", ylabel=f"test {metric}", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(args.plot, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main()
