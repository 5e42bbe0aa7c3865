"""``tweetsent adapt``: continue a backbone's pretraining on unlabelled tweets."""

from __future__ import annotations

from dataclasses import dataclass

from tweetsent.adapt import adapt
from tweetsent.adapt.config import AdaptConfig
from tweetsent.cli._options import Options, add_config_args, given_values
from tweetsent.cli._util import add_data_args


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "adapt",
        help="continue a backbone's pretraining on unlabelled tweets (before train --model)",
        description="Task-adaptive pretraining: the backbone trains on your unlabelled tweets "
        "with masked-language modelling (or SimCSE) and is written as a model folder that "
        "'tweetsent train DATA --model OUT_DIR' fine-tunes. The files are read as train reads "
        "them (labels ignored); empty texts and duplicates are dropped; tweets are normalised "
        "as the classifier will see them. A killed adaptation continues from its last "
        "checkpoint when the same command runs again. Never adapt on your validation or test "
        "tweets: their scores would flatter the model.",
    )
    p.add_argument("data", nargs="+", metavar="DATA", help="files of tweets (labels ignored)")
    add_data_args(p, labels=False)
    p.add_argument("--out", required=True, metavar="DIR", help="the adapted backbone's folder")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an adapted backbone (only one tweetsent wrote), or restart an "
        "interrupted adaptation with other settings",
    )
    add_config_args(p, AdaptConfig)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=adapt_cli)


@dataclass(frozen=True)
class AdaptOptions(Options):
    data: tuple[str, ...] = ()
    out: str = ""
    overwrite: bool = False
    no_progress: bool = False


def adapt_cli(args) -> int:
    opts = AdaptOptions.from_args(args)
    config = AdaptConfig(
        data_paths=list(opts.data),
        data=opts.data_config(),
        **given_values(opts, AdaptConfig),
    )
    result = adapt(config, opts.out, overwrite=opts.overwrite, progress=not opts.no_progress)
    r = result.report
    print(
        f"adapted {r['model']} ({r['objective']}) on {r['tweets']:,} tweets: {r['steps']:,} "
        f"steps, {r['tweets_seen']:,} tweets seen in {r['seconds']:.0f} s "
        f"({r['tweets_per_second']:.1f} tweets/s)"
    )
    print(
        f"loss on {r['probe_tweets']} of them: {r['probe_loss_before']:.3f} -> "
        f"{r['probe_loss_after']:.3f}"
    )
    print(
        f"backbone written to {result.path}; fine-tune it with: tweetsent train DATA "
        f"--model {result.path} --out RUN_DIR"
    )
    return 0


__all__ = ["AdaptOptions", "add_parser", "adapt_cli"]
