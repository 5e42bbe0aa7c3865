"""``tweetsent bench predict|train|quality``: ours against the references, side by side."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tweetsent.cli._util import SUPPRESS, add_data_args, data_overrides, format_table


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "bench",
        help="benchmark prediction or training speed against the usual references",
        description="Run ours and the references side by side in one run on this machine and "
        "print throughputs, ratios, label agreement / F1 and achieved FLOP/s vs the CPU's peak.",
    )
    which = p.add_subparsers(dest="bench", metavar="WHAT", required=True)

    pp = which.add_parser(
        "predict",
        help="tweets/s from raw text to labels: transformers.pipeline fp32 vs our backends",
    )
    pp.add_argument("run_dir", help="run directory written by 'tweetsent train'")
    pp.add_argument(
        "--data",
        action="append",
        metavar="FILE[:PRESET]",
        help="tweets to time (repeatable, an equal share from each; e.g. "
        "Corona_NLP_test.csv:covid; without PRESET, read as the run read its data); default: "
        "the run's training file",
    )
    pp.add_argument("-n", "--tweets", type=int, default=2000, help="number of tweets (2000)")
    pp.add_argument("--batch-size", type=int, default=64)
    pp.add_argument(
        "--onnx-dir",
        default=None,
        metavar="DIR",
        help="an ONNX export to include (default: RUN_DIR/onnx, else a temporary int8 export)",
    )
    pp.add_argument("--no-export", action="store_true", help="skip the ONNX contestants")
    pp.add_argument("--json", default=None, metavar="FILE", help="also write the results here")
    pp.set_defaults(func=bench_predict_cli)

    pt = which.add_parser(
        "train",
        help="training tweets/s: tutorial recipe, plain fp32 loop and Trainer vs tweetsent train",
    )
    pt.add_argument("data", help="labelled training file")
    add_data_args(pt)
    pt.add_argument("--model", default=None, help="backbone (default: the embedded MiniLM-L6)")
    pt.add_argument("--epochs", type=int, default=2, help="epochs for plain loop and ours (2)")
    pt.add_argument("--batch-size", type=int, default=SUPPRESS, help="default: tweetsent's own")
    pt.add_argument("--limit", type=int, default=None, help="use only the first N usable rows")
    pt.add_argument(
        "--tutorial-steps", type=int, default=20, help="steps of the tutorial recipe to time (20)"
    )
    pt.add_argument(
        "--only",
        nargs="+",
        choices=("tutorial", "plain", "trainer", "ours"),
        default=("tutorial", "plain", "trainer", "ours"),
        help="run only these contestants",
    )
    pt.add_argument(
        "--freeze-word-embeddings",
        action="store_true",
        default=SUPPRESS,
        help="train ours with this option (the references train every weight)",
    )
    pt.add_argument("--json", default=None, metavar="FILE", help="also write the results here")
    pt.set_defaults(func=bench_train_cli)

    pq = which.add_parser(
        "quality",
        help="test scores on the quality suite: the default recipe vs a plain reference",
        description="For each task: train every recipe on the training split with the same "
        "seeds and rows, keep the checkpoint that scores best on the validation split, score "
        "the test split with the task's official metric and macro / weighted F1. Tasks: "
        "TweetEval irony, hate, offensive, stance-climate (official splits), sentiment (no "
        "training split: 80%% of its validation split trains; only when named), SMILE (no "
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
    pq.add_argument("--seeds", nargs="+", type=int, default=None, help="training seeds (17)")
    pq.add_argument(
        "--max-train",
        type=int,
        default=None,
        metavar="N",
        help="train on a stratified subsample of N rows where a task has more (same rows for "
        "every recipe and seed)",
    )
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


def bench_predict_cli(args) -> int:
    from tweetsent.benchmarks import bench_predict, parse_source, run_validation, sample_texts
    from tweetsent.config import TrainConfig
    from tweetsent.errors import ConfigError
    from tweetsent.export import ONNX_DIR, export_onnx

    run_dir = Path(args.run_dir)
    config_file = run_dir / "config.json"
    run_config = TrainConfig.load(config_file) if config_file.is_file() else None
    if args.data:
        # A file without :PRESET is read the way the run read its own training data.
        sources = [
            (path, data if data.preset or run_config is None else run_config.data)
            for path, data in map(parse_source, args.data)
        ]
    elif run_config is not None and run_config.data_path:
        sources = [(run_config.data_path, run_config.data)]
    else:
        raise ConfigError(f"{run_dir}: no config.json naming its data; pass --data FILE")
    texts = sample_texts(sources, args.tweets)
    validation = run_validation(run_dir)
    with tempfile.TemporaryDirectory(prefix="tweetsent-bench-") as tmp:
        onnx_dir = Path(args.onnx_dir) if args.onnx_dir else None
        if onnx_dir is None and (run_dir / ONNX_DIR).is_dir():
            onnx_dir = run_dir / ONNX_DIR
        if args.no_export:
            onnx_dir = None
        elif onnx_dir is None:
            # Export a scratch copy: a benchmark must not change the run it measures.
            scratch = Path(tmp) / "run"
            scratch.mkdir()
            (scratch / "model").symlink_to((run_dir / "model").resolve())
            onnx_dir = export_onnx(scratch, quantize="int8")
        result = bench_predict(
            run_dir,
            texts,
            validation=validation,
            onnx_dir=onnx_dir,
            batch_size=args.batch_size,
        )
    print(_predict_table(result))
    _write_json(args.json, result)
    return 0


def bench_train_cli(args) -> int:
    from tweetsent.benchmarks import bench_train
    from tweetsent.config import DataConfig, TrainConfig

    values = {"data_path": args.data, "data": DataConfig(**data_overrides(args))}
    values.update(model=args.model, epochs=args.epochs, limit=args.limit)
    for name in ("batch_size", "freeze_word_embeddings"):
        if hasattr(args, name):
            values[name] = getattr(args, name)
    config = TrainConfig(**values)
    with tempfile.TemporaryDirectory(prefix="tweetsent-bench-") as tmp:
        result = bench_train(
            config, tmp, tutorial_steps=args.tutorial_steps, include=tuple(args.only)
        )
    print(_train_table(result))
    _write_json(args.json, result)
    return 0


def quality_recipes(names, variants) -> dict[str, dict]:
    """``--recipes`` / ``--variant`` -> recipe name -> TrainConfig overrides."""
    from tweetsent.errors import ConfigError
    from tweetsent.quality_suite import RECIPES, parse_overrides

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


def bench_quality_cli(args) -> int:
    from tweetsent.errors import ConfigError
    from tweetsent.quality_suite import DEFAULT_TASKS, parse_overrides, run_suite, suite_tasks

    if args.report:
        return _quality_report(args)
    known = suite_tasks(args.data_dir)
    names = args.tasks or list(DEFAULT_TASKS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"unknown task(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if args.max_train is not None and args.max_train < 2:
        raise ConfigError(f"--max-train must be at least 2, got {args.max_train}")
    common = parse_overrides(args.set)
    recipes = quality_recipes(args.recipes, args.variant)
    result = run_suite(
        [known[n] for n in names],
        recipes,
        args.seeds or [17],
        max_train=args.max_train,
        common=common,
        out_dir=args.out,
        on_run=lambda partial: _write_json(args.json, partial),
    )
    from tweetsent.benchmarks import machine_info

    result["machine"] = machine_info()
    print(quality_table(result))
    _write_json(args.json, result)
    return 0


def _quality_report(args) -> int:
    from tweetsent.errors import ConfigError
    from tweetsent.quality_suite import merge_results

    results = []
    for path in args.report:
        try:
            results.append(json.loads(Path(path).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ConfigError(f"{path}: results file not found") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not a bench quality JSON file ({exc})") from None
        if not isinstance(results[-1], dict) or "runs" not in results[-1]:
            raise ConfigError(f"{path}: not a bench quality JSON file (no runs)")
    merged = merge_results(results, tasks=args.tasks, recipes=args.recipes, seeds=args.seeds)
    print(quality_table(merged))
    _write_json(args.json, merged)
    return 0


def quality_table(result: dict) -> str:
    """One table per task (recipes as rows) and the mean over the held-out tasks."""
    summary = result["summary"]
    blocks = []
    for task, info in result["tasks"].items():
        rows = []
        for recipe, e in summary["per_task"].get(task, {}).items():
            rows.append(
                [
                    recipe,
                    f"{100 * e['official']:.1f} ± {100 * e['official_sd']:.1f}",
                    f"{100 * e['f1_macro']:.1f} ± {100 * e['f1_macro_sd']:.1f}",
                    f"{100 * e['f1_weighted']:.1f}",
                    " ".join(f"{100 * v:.1f}" for v in e["per_seed"].values()),
                    f"{e['best_epoch']:.1f}",
                    f"{e['train_seconds']:.0f}",
                ]
            )
        rows_info = info["rows"]
        scored = "val=test, left out of the mean" if info["test_is_val"] else "test"
        head = (
            f"{task}: {rows_info['train']} train / {rows_info['val']} val / {rows_info['test']} "
            f"{scored}; official metric {info['metric']}"
        )
        headers = ["recipe", info["metric"], "macro F1", "weighted F1", "per seed"]
        headers += ["best epoch", "train s"]
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


def _predict_table(result: dict) -> str:
    rows = [
        [
            r["name"],
            f"{r['tweets_per_second']:.1f}",
            f"{r['ratio']:.2f}x",
            "-" if r["agreement"] is None else f"{100 * r['agreement']:.2f}%",
            "-" if r["f1_weighted"] is None else f"{r['f1_weighted']:.4f}",
            f"{r['achieved_gflops']:.1f}",
            f"{100 * r['fraction_of_peak']:.2f}% of {r['peak_gflops']:.0f} ({r['precision']})",
        ]
        for r in result["results"]
    ]
    head = (
        f"{result['tweets']} tweets (mean {result['mean_tokens']} tokens), "
        f"F1 on {result['validation_tweets']} validation tweets, "
        f"{result['machine']['cpus']} CPUs {result['machine']['cpu']}"
    )
    table = format_table(
        rows, ["contestant", "tweets/s", "vs pipeline", "agree fp32", "F1 w", "GFLOP/s", "peak"]
    )
    return f"{head}\n{table}"


def _train_table(result: dict) -> str:
    def f(value, spec):
        return "-" if value is None else format(value, spec)

    rows = [
        [
            r["name"],
            f"{r['tweets_per_second']:.2f}",
            f(r.get("ratio_vs_tutorial"), ".1f"),
            f(r.get("ratio_vs_plain"), ".2f"),
            f(r.get("ratio_vs_trainer"), ".2f"),
            f(r.get("final_f1_weighted"), ".4f"),
            f"{r['achieved_gflops']:.1f}",
            f"{100 * r['fraction_of_peak']:.2f}% ({r['precision']})",
        ]
        for r in result["results"]
    ]
    head = (
        f"{result['train_tweets']} training tweets, {result['epochs']} epoch(s) for plain, "
        f"Trainer and ours, {result['tutorial_steps']} tutorial steps; "
        f"{result['machine']['cpus']} CPUs"
    )
    table = format_table(
        rows,
        ["contestant", "tweets/s", "x tutorial", "x plain", "x Trainer", "final F1 w", "GFLOP/s"]
        + ["peak"],
    )
    return f"{head}\n{table}"


def _write_json(path: str | None, result: dict) -> None:
    if path:
        from tweetsent.cli._util import atomic_write_text

        atomic_write_text(path, json.dumps(result, indent=2) + "\n")


__all__ = [
    "add_parser",
    "bench_predict_cli",
    "bench_quality_cli",
    "bench_train_cli",
    "quality_table",
]
