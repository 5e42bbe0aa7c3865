"""``tweetsent evaluate``: score a trained run on a labelled file."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tweetsent.cli._options import Options
from tweetsent.cli._util import (
    SUPPRESS,
    add_allow_pickle,
    add_backend_args,
    add_data_args,
    atomic_write_text,
    metrics_summary,
)
from tweetsent.evaluation import evaluate


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
    add_backend_args(p)
    add_allow_pickle(p)
    p.add_argument("--json", default=SUPPRESS, metavar="FILE", help="write the metrics as JSON")
    p.set_defaults(func=evaluate_cli)


@dataclass(frozen=True)
class EvaluateOptions(Options):
    run_dir: str = ""
    data: str = ""
    backend: str = "auto"
    precision: str = "auto"
    batch_size: int = 64
    allow_pickle: bool = False
    json: str | None = None


def evaluate_cli(args) -> int:
    opts = EvaluateOptions.from_args(args)
    # No data options typed: the run's own (evaluate reads them from the run).
    data_config = opts.data_config() if opts.data_overrides() else None
    metrics = evaluate(
        opts.run_dir,
        opts.data,
        data_config,
        backend=opts.backend,
        precision=opts.precision,
        batch_size=opts.batch_size,
        allow_pickle=opts.allow_pickle,
    )
    print(f"{opts.data}: {metrics['rows']} rows")
    print(metrics_summary(metrics))
    if opts.json is not None:
        atomic_write_text(opts.json, json.dumps(metrics, indent=2) + "\n")
    return 0
