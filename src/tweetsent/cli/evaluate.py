"""``tweetsent evaluate``: score a trained run on a labelled file."""

from __future__ import annotations

import json

from tweetsent.cli._util import (
    SUPPRESS,
    add_allow_pickle,
    add_data_args,
    atomic_write_text,
    data_config_from_args,
    metrics_summary,
)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score a trained run on a labelled file",
        description="Score a run on a labelled file: loss, accuracy, "
        "F1 (weighted, macro, micro), MCC, per-class scores. Data options "
        "default to the ones the run was trained with.",
    )
    p.add_argument("run_dir", help="run directory written by 'tweetsent train'")
    p.add_argument("data", help="labelled file")
    add_data_args(p)
    p.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    p.add_argument("--batch-size", type=int, default=64)
    add_allow_pickle(p)
    p.add_argument("--json", default=SUPPRESS, metavar="FILE", help="write the metrics as JSON")
    p.set_defaults(func=evaluate_cli)


def evaluate_cli(args) -> int:
    from tweetsent.evaluation import evaluate

    data_config = data_config_from_args(args) if _has_data_flags(args) else None
    metrics = evaluate(
        args.run_dir,
        args.data,
        data_config,
        backend=args.backend,
        batch_size=args.batch_size,
        allow_pickle=args.allow_pickle,
    )
    print(f"{args.data}: {metrics['rows']} rows")
    print(metrics_summary(metrics))
    if hasattr(args, "json"):
        atomic_write_text(args.json, json.dumps(metrics, indent=2) + "\n")
    return 0


def _has_data_flags(args) -> bool:
    from tweetsent.cli._util import data_overrides

    return bool(data_overrides(args))
