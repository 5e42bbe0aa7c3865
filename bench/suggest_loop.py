"""Simulated labelling loop: does ``tweetsent suggest``'s selection beat random labelling?

The learner retrained each round is either the audit's fast learner (``--learner fast``: frozen
embedded-MiniLM sentence embeddings + scikit-learn logistic regression; minutes on a 2-core
CPU) or ``tweetsent train``'s default recipe (``--learner finetune``: the encoder fine-tuned
every round, the best epoch picked on the task's ``val.csv``; hours on 2 cores, so run one
process per seed and strategy, e.g. on a GPU, and ``--merge`` their ``--json`` files).
The selection is ``tweetsent.suggest.core.select``, exactly as the command runs it
(uncertainty, then k-means diversity over the candidates' embeddings).

Start from ``--start`` random labelled tweets of the task's training split (the pool), add
``--step`` per round for ``--rounds`` rounds, score on the test split after each round; repeat
for each seed (the same start set for every strategy of a seed) and report the mean.

    OMP_NUM_THREADS=1 flock -s /tmp/cpu.lock python bench/suggest_loop.py \
        ../shared/data/tweeteval/irony --positive irony --json bench/suggest_loop.json \
        --plot bench/suggest_loop.png
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
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
    parser.add_argument("--strategies", nargs="*", default=["margin", "entropy", "random"])
    parser.add_argument("--factor", type=int, default=5)
    parser.add_argument("--cache", default=None, help="npz of the embeddings (reused if there)")
    parser.add_argument(
        "--learner",
        choices=("fast", "finetune"),
        default="fast",
        help="fast: frozen embeddings + logistic regression; finetune: `tweetsent train`'s "
        "default recipe each round, the best epoch picked on the task's val.csv",
    )
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="TrainConfig overrides"
    )
    parser.add_argument("--work", default=None, help="folder for --learner finetune's runs")
    parser.add_argument("--no-full", action="store_true", help="skip the whole-pool score")
    parser.add_argument("--json", default=None)
    parser.add_argument("--plot", default=None)
    parser.add_argument(
        "--merge", nargs="+", default=None, metavar="JSON", help="train nothing: merge results"
    )
    args = parser.parse_args()
    if args.merge:
        _report(args, _merge(args))
        return

    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    from tweetsent.config import TrainConfig
    from tweetsent.data.normalize import clean_tweet
    from tweetsent.suggest.core import select
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
        pred = model.predict(x_test) if args.learner == "fast" else model.test_pred
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

    def fit(idx, seed):
        return LogisticRegression(max_iter=2000).fit(x_pool[idx], y_pool[idx])

    if args.learner == "finetune":
        fit = _finetuner(args, task, train, test, classes)
    full = None
    if not args.no_full:
        # The fast learner is deterministic; a fine-tuned one is trained once per seed.
        seeds = args.seeds if args.learner == "finetune" else args.seeds[:1]
        per_seed = [score(fit(np.arange(len(y_pool)), seed)) for seed in seeds]
        full = {k: float(np.mean([r[k] for r in per_seed])) for k in per_seed[0]}
        full["per_seed"] = per_seed
    curves: dict[str, list[list[dict]]] = {s: [] for s in args.strategies}
    result = {
        "task": str(task),
        "metric": f"F1 of {args.positive}" if args.positive else "macro F1",
        "learner": args.learner,
        "overrides": args.set,
        "pool": len(y_pool),
        "test": len(y_test),
        "full_pool": full,
        "seeds": args.seeds,
        "curves": curves,
    }
    for seed in args.seeds:
        start = np.random.default_rng(seed).choice(len(y_pool), args.start, replace=False)
        for strategy in args.strategies:
            labelled = list(start)
            curve = []
            for round_ in range(args.rounds + 1):
                model = fit(np.array(labelled), seed)
                curve.append({"labelled": len(labelled), **score(model)})
                if args.json and args.learner == "finetune":  # hours of work: keep each round
                    partial = {**result, "curves": {**curves, strategy: [*curves[strategy], curve]}}
                    Path(args.json).write_text(json.dumps(partial, indent=1) + "\n")
                if round_ == args.rounds:
                    break
                rest = np.setdiff1d(np.arange(len(y_pool)), labelled)
                chosen, _ = select(
                    model.predict_proba(x_pool[rest])
                    if args.learner == "fast"
                    else model.pool_proba[rest],  # fmt: skip
                    args.step,
                    strategy=strategy,
                    embed=lambda i, rest=rest: x_pool[rest[i]],
                    factor=args.factor,
                    seed=seed + round_,
                )
                labelled += list(rest[chosen])
            curves[strategy].append(curve)
            print(seed, strategy, " ".join(f"{c['score']:.3f}" for c in curve), flush=True)
    print(f"embedding took {embed_seconds:.0f} s")
    _report(args, result)


def _merge(args) -> dict:
    """One result from several ``--json`` files (seeds / strategies / the whole-pool score run
    as separate processes): curves concatenated per strategy, whole-pool scores pooled."""
    parts = [json.loads(Path(f).read_text()) for f in args.merge]
    curves: dict[str, list] = {}
    per_seed: list[dict] = []
    seeds: list[int] = []
    for part in parts:
        for strategy, runs in part["curves"].items():
            curves.setdefault(strategy, []).extend(runs)
        if part.get("full_pool"):
            per_seed += part["full_pool"].get("per_seed", [part["full_pool"]])
        seeds += [s for s in part["seeds"] if s not in seeds]
    full = None
    if per_seed:
        full = {k: float(np.mean([r[k] for r in per_seed])) for k in per_seed[0]}
        full["per_seed"] = per_seed
    keep = ("task", "metric", "learner", "overrides", "pool", "test")
    return {**{k: parts[0][k] for k in keep}, "full_pool": full, "seeds": seeds, "curves": curves}


def _report(args, result: dict) -> None:
    """The mean-of-seeds table (printed and in ``--json``) and the ``--plot``."""
    rows = []
    for strategy, per_seed in result["curves"].items():
        # A run cut short (a deadline) leaves a shorter curve: the table stops with it.
        for k in range(min(len(c) for c in per_seed) if per_seed else 0):
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
                    "seeds": len(values),
                }
            )
    result["table"] = rows
    print(f"\npool {result['pool']}, test {result['test']}; full pool: {result['full_pool']}")
    table = pd.DataFrame(rows)
    if rows:
        print(table.pivot(index="labelled", columns="strategy", values="score").round(4))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if args.plot and rows:
        _plot(table, result, args.plot)


def _finetuner(args, task, train, test, classes):
    """``fit(idx, seed)`` for ``--learner finetune``: the default recipe (plus ``--set``) trained on
    the pool rows ``idx``, the best epoch chosen on the task's own ``val.csv``; the returned
    object carries its test-split predictions and its probabilities for every pool row."""
    import types

    from tweetsent.benchmarks.quality_summary import parse_overrides
    from tweetsent.config import DataConfig, TrainConfig
    from tweetsent.inference.predictor import TweetClassifier
    from tweetsent.training import train as train_run

    work = Path(args.work or "suggest-loop-runs")
    work.mkdir(parents=True, exist_ok=True)
    overrides = parse_overrides(args.set)
    pool_texts = train["text"].tolist()
    calls = itertools.count()

    def fit(idx, seed):
        k = next(calls)
        data = work / f"labelled-{k}.csv"
        train.iloc[np.sort(idx)][["text", "label"]].to_csv(data, index=False)
        config = TrainConfig(
            data_path=str(data),
            data=DataConfig(text_col="text", label_col="label"),
            val_file=str(task / "val.csv"),
            seed=int(seed),
            **overrides,
        )
        run_dir = work / f"run-{k}"
        train_run(config, run_dir, overwrite=True, progress=False)
        clf = TweetClassifier.load(run_dir, backend="torch", batch_size=128)
        order = [clf.labels.index(c) for c in classes]  # the run's label order -> ours
        test_proba = clf.predict_proba(test["text"].tolist())[:, order]
        pool_proba = clf.predict_proba(pool_texts)[:, order]
        shutil.rmtree(run_dir, ignore_errors=True)
        return types.SimpleNamespace(test_pred=test_proba.argmax(1), pool_proba=pool_proba)

    return fit


def _plot(table, result, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for strategy in result["curves"]:
        part = table[table["strategy"] == strategy]
        ax.errorbar(part["labelled"], part["score"], yerr=part["score_std"], marker="o",
                    capsize=3, label=strategy)  # fmt: skip
    full = result["full_pool"]
    if full is not None:
        ax.axhline(full["score"], color="grey", ls=":", label=f"all {result['pool']} labelled")
    learner = "fine-tuned" if result.get("learner") == "finetune" else "frozen + LR"
    name = Path(result["task"]).name
    title = f"{name} ({learner}): suggest vs random, mean of {len(result['seeds'])} seeds"
    ax.set(xlabel="labelled tweets", ylabel=f"test {result['metric']}", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main()
