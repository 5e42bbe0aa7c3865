"""``tweetsent suggest``: the tweets of an unlabelled pool worth labelling next."""

from __future__ import annotations

from tweetsent.cli._util import BACKENDS, add_data_args, format_table


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
    p.add_argument("--n", type=int, required=True, help="how many tweets to suggest")
    p.add_argument("--out", required=True, metavar="FILE.csv", help="where to write them")
    p.add_argument("--strategy", choices=("margin", "entropy", "random"), default="margin")
    p.add_argument(
        "--factor",
        type=int,
        default=5,
        help="diversity: cluster the FACTOR x N most uncertain tweets into N groups and take "
        "the most uncertain of each (1: no diversity step; default: 5)",
    )
    p.add_argument("--seed", type=int, default=17, help="k-means and random seed (default: 17)")
    add_data_args(p, labels=False)
    p.add_argument("--backend", choices=BACKENDS, default="auto")
    p.add_argument("--batch-size", type=int, default=64)
    p.set_defaults(func=suggest_cli)


def suggest_cli(args) -> int:
    from tweetsent.cli._util import data_config_from_args, data_overrides
    from tweetsent.fileio import check_output_file
    from tweetsent.suggest.core import suggest, write_suggestions

    check_output_file(args.out)
    frame = suggest(
        args.run_dir,
        args.pool,
        args.n,
        data_config_from_args(args) if data_overrides(args) else None,
        strategy=args.strategy,
        factor=args.factor,
        seed=args.seed,
        backend=args.backend,
        batch_size=args.batch_size,
    )
    write_suggestions(frame, args.out)
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
        f"{len(frame)} tweets ({args.strategy}) written to {args.out}: fill in its "
        f"'{frame.columns[1]}' column"
    )
    return 0


def _short(text: str, width: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"
