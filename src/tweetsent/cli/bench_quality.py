"""``tweetsent bench quality``: the quality suite's options, run and tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tweetsent.benchmarks import machine_info
from tweetsent.benchmarks.quality import DEFAULT_TASKS, RECIPES, run_suite, suite_tasks
from tweetsent.benchmarks.quality_summary import merge_results, parse_overrides
from tweetsent.cli._options import Options
from tweetsent.cli._util import COUNT, SEED, atomic_write_text, format_table
from tweetsent.errors import ConfigError


def add_quality_parser(which) -> None:
    pq = which.add_parser(
        "quality",
        help="test scores on the quality suite: the default recipe vs a plain reference",
        description="For each task: train every recipe on the training split with the same "
        "seeds and rows, keep the checkpoint that scores best on the validation split, score "
        "the test split with the task's official metric and macro / weighted F1. Tasks: "
        "TweetEval irony, hate, offensive, stance-climate (official splits), sentiment (no "
        "training split: 80 % of its validation split trains; only when named), SMILE (no "
        "test split: its validation split is scored, marked val=test, and left out of the "
        "mean), COVID (one file: stratified 70/15/15, seed 17).",
    )
    pq.add_argument(
        "--tasks",
        nargs="+",
        default=None,
        metavar="TASK",
        help="irony hate offensive stance-climate sentiment smile covid "
        "(default: all but sentiment)",
    )
    pq.add_argument("--seeds", nargs="+", type=SEED, default=None, help="training seeds (17)")
    pq.add_argument(
        "--max-train",
        type=COUNT,
        default=None,
        metavar="N",
        help="train on a stratified subsample of N rows where a task has more (same rows for "
        "every recipe and seed)",
    )
    _add_recipe_options(pq)
    pq.add_argument(
        "--data-dir",
        default="../shared/data",
        help="folder holding tweeteval/, the SMILE and COVID files (../shared/data)",
    )
    pq.add_argument(
        "--report",
        nargs="+",
        default=None,
        metavar="JSON",
        help="train nothing: print the table of earlier --json results, merged (e.g. seeds run "
        "as separate jobs), keeping only the --tasks / --recipes / --seeds given",
    )
    pq.add_argument("--out", default=None, metavar="DIR", help="keep the run directories here")
    pq.add_argument(
        "--json", default=None, metavar="FILE", help="write the results here (after every run)"
    )
    pq.set_defaults(func=bench_quality_cli)


def _add_recipe_options(pq) -> None:
    pq.add_argument(
        "--recipes",
        nargs="+",
        default=None,
        metavar="NAME",
        help="recipes to run: ours (the defaults), plain (the reference: lr 5e-5, batch 32, "
        "5 epochs, one lr, no class weights, raw text) and any --variant (default: all)",
    )
    pq.add_argument(
        "--variant",
        nargs="+",
        action="append",
        default=[],
        metavar=("NAME", "KEY=VALUE"),
        help="a named recipe: the defaults with these TrainConfig overrides, e.g. "
        "--variant b32 batch_size=32 epochs=4 (repeatable; from=plain starts from plain)",
    )
    pq.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="TrainConfig overrides for every recipe, applied last (e.g. model=DIR epochs=1)",
    )


def quality_recipes(names, variants) -> dict[str, dict]:
    """``--recipes`` / ``--variant`` -> recipe name -> TrainConfig overrides."""

    recipes = dict(RECIPES)
    for name, *items in variants:
        if name in recipes:
            raise ConfigError(f"--variant {name}: the name is taken; choose another")
        bases = [item.partition("=")[2] for item in items if item.startswith("from=")]
        base = bases[-1] if bases else "ours"
        values = parse_overrides([item for item in items if not item.startswith("from=")])
        if base not in RECIPES:
            raise ConfigError(f"--variant {name}: from={base} must be one of ours, plain")
        recipes[name] = {**RECIPES[base], **values}
    if names:
        unknown = [n for n in names if n not in recipes]
        if unknown:
            raise ConfigError(
                f"unknown recipe(s) {', '.join(unknown)}; known: {', '.join(recipes)}"
            )
        recipes = {n: recipes[n] for n in names}
    return recipes


@dataclass(frozen=True)
class BenchQualityOptions(Options):
    tasks: tuple[str, ...] | None = None
    seeds: tuple[int, ...] | None = None
    max_train: int | None = None
    recipes: tuple[str, ...] | None = None
    variant: tuple[str, ...] = ()
    set: tuple[str, ...] = ()
    data_dir: str = "../shared/data"
    report: tuple[str, ...] | None = None
    out: str | None = None
    json: str | None = None


def bench_quality_cli(args) -> int:
    opts = BenchQualityOptions.from_args(args)
    if opts.report:
        return _quality_report(opts)
    known = suite_tasks(opts.data_dir)
    names = opts.tasks or list(DEFAULT_TASKS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"unknown task(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if opts.max_train is not None and opts.max_train < 2:
        raise ConfigError(f"--max-train must be at least 2, got {opts.max_train}")
    common = parse_overrides(opts.set)
    recipes = quality_recipes(opts.recipes, opts.variant)
    result = run_suite(
        [known[n] for n in names],
        recipes,
        opts.seeds or [17],
        max_train=opts.max_train,
        common=common,
        out_dir=opts.out,
        on_run=lambda partial: _write_json(opts.json, partial),
    )

    result["machine"] = machine_info()
    print(quality_table(result))
    _write_json(opts.json, result)
    return 0


def _quality_report(opts: BenchQualityOptions) -> int:
    results = []
    for path in opts.report:
        try:
            results.append(json.loads(Path(path).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ConfigError(f"{path}: results file not found") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not a bench quality JSON file ({exc})") from None
        if not isinstance(results[-1], dict) or "runs" not in results[-1]:
            raise ConfigError(f"{path}: not a bench quality JSON file (no runs)")
    merged = merge_results(results, tasks=opts.tasks, recipes=opts.recipes, seeds=opts.seeds)
    print(quality_table(merged))
    _write_json(opts.json, merged)
    return 0


def quality_table(result: dict) -> str:
    """One table per task (recipes as rows) and the mean over the held-out tasks."""
    summary = result["summary"]
    blocks = []
    for task, info in result["tasks"].items():
        entries = summary["per_task"].get(task, {})
        # Where the official metric is macro F1, its column is not printed twice.
        macro = info["metric"] != "macro F1"
        ece = bool(entries) and all("ece" in e for e in entries.values())
        rows = []
        for recipe, e in entries.items():
            row = [recipe, f"{100 * e['official']:.1f} ± {100 * e['official_sd']:.1f}"]
            if macro:
                row.append(f"{100 * e['f1_macro']:.1f} ± {100 * e['f1_macro_sd']:.1f}")
            row += [
                f"{100 * e['f1_weighted']:.1f}",
                " ".join(f"{100 * v:.1f}" for v in e["per_seed"].values()),
                f"{e['best_epoch']:.1f}",
                f"{e['train_seconds']:.0f}",
            ]
            if ece:
                row.append(f"{e['ece_uncalibrated']:.3f} -> {e['ece']:.3f}")
            rows.append(row)
        rows_info = info["rows"]
        scored = "val=test, left out of the mean" if info["test_is_val"] else "test"
        head = (
            f"{task}: {rows_info['train']} train / {rows_info['val']} val / {rows_info['test']} "
            f"{scored}; official metric {info['metric']}"
        )
        headers = ["recipe", info["metric"], *(["macro F1"] if macro else []), "weighted F1"]
        headers += ["per seed", "best epoch", "train s", *(["test ECE (T=1 -> T)"] if ece else [])]
        blocks.append(f"{head}\n{format_table(rows, headers)}")
    mean = summary["mean_over_tasks"]
    if mean:
        rows = [
            [
                recipe,
                f"{100 * e['official']:.1f} ± {100 * e['official_sd']:.1f}",
                f"{100 * e['f1_macro']:.1f}",
                f"{e['train_seconds']:.0f}",
            ]
            for recipe, e in mean.items()
        ]
        head = (
            f"mean over {', '.join(summary['mean_tasks'])} "
            f"(official metric; ± over seeds {', '.join(map(str, result['seeds']))})"
        )
        headers = ["recipe", "official", "macro F1", "train s (all runs)"]
        blocks.append(f"{head}\n{format_table(rows, headers)}")
    return "\n\n".join(blocks)


def _write_json(path: str | None, result: dict) -> None:
    if path:
        atomic_write_text(path, json.dumps(result, indent=2) + "\n")


__all__ = ["add_quality_parser", "bench_quality_cli", "quality_recipes", "quality_table"]
