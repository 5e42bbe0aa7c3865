"""``tweetsent suggest``: the tweets of an unlabelled pool worth labelling next."""

from __future__ import annotations

from dataclasses import dataclass

from tweetsent.cli._options import Options
from tweetsent.cli._util import (
    COUNT,
    SEED,
    add_backend_args,
    add_data_args,
    format_table,
)
from tweetsent.fileio import check_output_file
from tweetsent.suggest.core import suggest, write_suggestions


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "suggest",
        help="pick the unlabelled tweets worth labelling next (active learning)",
        description="Score an unlabelled pool with a trained run and write the N tweets that "
        "would teach it most: the most uncertain (margin or entropy), spread out by k-means "
        "on sentence embeddings so they are not near-copies; --strategy random is the control. "
        "The output has the run's text column and an empty label column (same names as its "
        "training data): fill in the labels, join the file to the old labels by column name "
        "and train again; rows left empty are skipped.",
    )
    p.add_argument("run_dir", help="run directory written by 'tweetsent train'")
    p.add_argument("--pool", required=True, metavar="FILE", help="unlabelled tweets")
    p.add_argument("--n", type=COUNT, required=True, help="how many tweets to suggest")
    p.add_argument("--out", required=True, metavar="FILE.csv", help="where to write them")
    p.add_argument("--strategy", choices=("margin", "entropy", "random"), default="margin")
    p.add_argument(
        "--factor",
        type=COUNT,
        default=5,
        help="diversity: cluster the FACTOR x N most uncertain tweets into N groups and take "
        "the most uncertain of each (1: no diversity step; default: 5)",
    )
    p.add_argument("--seed", type=SEED, default=17, help="k-means and random seed (default: 17)")
    add_data_args(p, labels=False)
    add_backend_args(p)
    p.set_defaults(func=suggest_cli)


@dataclass(frozen=True)
class SuggestOptions(Options):
    run_dir: str = ""
    pool: str = ""
    n: int = 100
    out: str = ""
    strategy: str = "margin"
    factor: int = 10
    seed: int = 17
    backend: str = "auto"
    precision: str = "auto"
    batch_size: int = 64


def suggest_cli(args) -> int:
    opts = SuggestOptions.from_args(args)
    check_output_file(opts.out)
    frame = suggest(
        opts.run_dir,
        opts.pool,
        opts.n,
        opts.data_config() if opts.data_overrides() else None,
        strategy=opts.strategy,
        factor=opts.factor,
        seed=opts.seed,
        backend=opts.backend,
        precision=opts.precision,
        batch_size=opts.batch_size,
    )
    write_suggestions(frame, opts.out)
    text_col = frame.columns[0]
    print(
        format_table(
            [
                [
                    r["rank"],
                    r["pool_row"],
                    r["predicted_label"],
                    f"{r['confidence']:.3f}",
                    _short(r[text_col]),
                ]
                for _, r in frame.head(10).iterrows()
            ],
            ["rank", "pool row", "predicted", "confidence", "text"],
        )
    )
    print(
        f"{len(frame)} tweets ({opts.strategy}) written to {opts.out}: fill in its "
        f"'{frame.columns[1]}' column"
    )
    return 0


def _short(text: str, width: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"
