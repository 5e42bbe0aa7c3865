"""``tweetsent baseline``: TF-IDF + logistic regression on the split ``train`` would use."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tweetsent.cli._options import Options, add_config_args, config_from
from tweetsent.cli._util import SUPPRESS, add_data_args, atomic_write_text, metrics_summary
from tweetsent.config import TrainConfig
from tweetsent.training.baseline import run_baseline

BASELINE_FIELDS = (
    "val_size",
    "val_file",
    "split_seed",
    "limit",
    "normalize",
    "demojize",
    "multi_label_rows",
    "multi_label",
    "label_sep",
)


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
    # The split and cleaning options of train, generated from the same config fields.
    add_config_args(p, TrainConfig, only=BASELINE_FIELDS)
    p.add_argument(
        "--class-weights",
        choices=("balanced", "none"),
        default=SUPPRESS,
        help="class_weight of the logistic regression (default none)",
    )
    p.add_argument("--json", default=SUPPRESS, metavar="FILE", help="write the metrics as JSON")
    p.set_defaults(func=baseline_cli)


@dataclass(frozen=True)
class BaselineOptions(Options):
    json: str | None = None  # the rest are TrainConfig's flags (config_from)


def baseline_cli(args) -> int:
    opts = BaselineOptions.from_args(args)
    config = config_from(opts)
    metrics = run_baseline(config)
    print(
        f"{metrics['model']} on {config.data_path}: {metrics['train_rows']} train, "
        f"{metrics['validation_rows']} validation rows ({metrics['seconds']:.1f} s)"
    )
    print(metrics_summary(metrics))
    if opts.json is not None:
        atomic_write_text(opts.json, json.dumps(metrics, indent=2) + "\n")
    return 0


__all__ = ["add_parser", "baseline_cli"]
