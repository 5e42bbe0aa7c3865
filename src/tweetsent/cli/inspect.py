"""``tweetsent inspect``: class balance and token lengths of a labelled file."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tweetsent.cli._options import Options
from tweetsent.cli._util import (
    COUNT,
    SUPPRESS,
    add_data_args,
    atomic_write_text,
    format_table,
)
from tweetsent.evaluation.inspection import inspect_data, plot_inspection


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "inspect",
        help="show class balance and token lengths of a file",
        description="Show the class distribution and token-length "
        "statistics of a labelled file, with a suggested --max-length.",
    )
    p.add_argument("data", help="CSV / TSV / JSON Lines / Parquet file")
    add_data_args(p)
    p.add_argument(
        "--model",
        default=SUPPRESS,
        help="tokenizer to count tokens with "
        "(Hugging Face id or directory; default: the embedded MiniLM)",
    )
    p.add_argument("--limit", type=COUNT, default=SUPPRESS, help="only the first N usable rows")
    p.add_argument(
        "--plot",
        default=SUPPRESS,
        metavar="FILE.png",
        help="save a PNG of the class distribution and token lengths",
    )
    p.add_argument(
        "--json", default=SUPPRESS, metavar="FILE", help="also write the figures as JSON"
    )
    p.set_defaults(func=inspect_cli)


@dataclass(frozen=True)
class InspectOptions(Options):
    data: str = ""
    model: str | None = None
    limit: int | None = None
    plot: str | None = None
    json: str | None = None


def inspect_cli(args) -> int:
    opts = InspectOptions.from_args(args)
    result = inspect_data(opts.data, opts.data_config(), model=opts.model, limit=opts.limit)
    dist = result.distribution
    print(f"{opts.data}: {len(result.data)} usable rows, {len(dist)} classes")
    for reason, n in result.data.dropped.items():
        print(f"  skipped {n} row(s): {reason}")
    print()
    print(
        format_table(
            [[r.label, r.count, f"{r.percent:.1f}%"] for r in dist.itertuples()],
            ["label", "count", "share"],
        )
    )
    s = result.length_stats
    print(f"\ntokens per text: mean {s['mean']:.1f}, p95 {s['p95']:.0f}, max {s['max']}")
    print(f"suggested --max-length {result.suggested_max_length}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    if opts.plot is not None:
        plot_inspection(result, opts.plot)
        print(f"plot written to {opts.plot}")
    if opts.json is not None:
        atomic_write_text(opts.json, json.dumps(result.to_dict(), indent=2) + "\n")
    return 0
