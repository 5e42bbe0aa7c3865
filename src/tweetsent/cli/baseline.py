"""``tweetsent baseline``: TF-IDF + logistic regression on the split ``train`` would use."""

from __future__ import annotations

import argparse
import json

from tweetsent.cli._util import SUPPRESS, add_data_args, atomic_write_text, metrics_summary


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "baseline",
        help="score a TF-IDF + logistic-regression baseline on the training split",
        description="Fit TF-IDF (word 1-2-grams) + logistic regression on the same stratified "
        "split, normalisation and labels as 'tweetsent train', and print the same metrics. "
        "Takes seconds; every train report shows it too.",
    )
    p.add_argument("data", nargs="?", default=SUPPRESS, help="labelled file")
    add_data_args(p)
    p.add_argument(
        "--config", default=SUPPRESS, metavar="FILE", help="a run's config.json: its data and split"
    )
    p.add_argument("--val-size", type=float, default=SUPPRESS, help="validation share")
    p.add_argument("--val-file", default=SUPPRESS, help="separate validation file")
    p.add_argument("--split-seed", type=int, default=SUPPRESS, help="seed of the split")
    p.add_argument("--limit", type=int, default=SUPPRESS, help="use only the first N usable rows")
    p.add_argument(
        "--class-weights",
        choices=("balanced", "none"),
        default=SUPPRESS,
        help="class_weight of the logistic regression (default none)",
    )
    p.add_argument("--normalize", action="store_true", default=SUPPRESS, help="normalise tweets")
    p.add_argument("--no-normalize", dest="normalize", action="store_false", default=SUPPRESS)
    p.add_argument(
        "--demojize", action=argparse.BooleanOptionalAction, default=SUPPRESS, help="emoji to names"
    )
    p.add_argument(
        "--multi-label-rows", choices=("drop", "soft"), default=SUPPRESS, help="as in train"
    )
    p.add_argument("--multi-label", action="store_true", default=SUPPRESS)
    p.add_argument("--label-sep", default=SUPPRESS, metavar="SEP")
    p.add_argument("--json", default=SUPPRESS, metavar="FILE", help="write the metrics as JSON")
    p.set_defaults(func=baseline_cli)


def baseline_cli(args) -> int:
    from tweetsent.cli.train import config_from_args
    from tweetsent.training.baseline import run_baseline

    config = config_from_args(args)
    metrics = run_baseline(config)
    print(
        f"{metrics['model']} on {config.data_path}: {metrics['train_rows']} train, "
        f"{metrics['validation_rows']} validation rows ({metrics['seconds']:.1f} s)"
    )
    print(metrics_summary(metrics))
    if hasattr(args, "json"):
        atomic_write_text(args.json, json.dumps(metrics, indent=2) + "\n")
    return 0


__all__ = ["add_parser", "baseline_cli"]
