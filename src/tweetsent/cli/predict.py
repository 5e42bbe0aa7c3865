"""``tweetsent predict``: label tweets given on the command line or in a file."""

from __future__ import annotations

import argparse
import sys

from tweetsent.cli._util import SUPPRESS, add_backend_args, add_data_args


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="label tweets with a trained run",
        description="Label tweets given as arguments, or every row of --input written to "
        "--output (the input's columns plus predicted_label, confidence and one probability "
        "column per label). Files are streamed in chunks (flat memory); a killed run resumes "
        "where it stopped when run again; --shard I/N splits the work and --merge joins the parts.",
    )
    p.add_argument("run_dir", help="run directory written by 'tweetsent train'")
    p.add_argument("texts", nargs="*", default=[], help="tweets to label")
    p.add_argument("--input", default=SUPPRESS, metavar="FILE", help="file of tweets to label")
    p.add_argument("--output", default=SUPPRESS, metavar="FILE.csv", help="where to write labels")
    add_data_args(p, labels=False)
    add_backend_args(p)
    files = p.add_argument_group("file options")
    files.add_argument(
        "--chunk-size",
        type=int,
        default=SUPPRESS,
        metavar="ROWS",
        help="rows read, labelled and committed at a time (default: 2048)",
    )
    files.add_argument(
        "--shard",
        default=SUPPRESS,
        metavar="I/N",
        help="label only part I of N (0-based) into OUTPUT's stem + .shard-I-of-N; "
        "same input, model and options on every part",
    )
    files.add_argument(
        "--merge",
        action="store_true",
        help="join the finished parts of --shard I/N runs into --output (no labelling)",
    )
    files.add_argument(
        "--restart",
        action="store_true",
        help="discard the progress of an interrupted run instead of resuming it",
    )
    files.add_argument(
        "--no-progress", action="store_true", help="no progress bar (none when not a terminal)"
    )
    p.set_defaults(func=predict_cli)


def predict_cli(args) -> int:
    from tweetsent.errors import ConfigError
    from tweetsent.inference import TweetClassifier

    has_input = hasattr(args, "input")
    file_only = [
        flag
        for flag, given in (
            ("--chunk-size", hasattr(args, "chunk_size")),
            ("--shard", hasattr(args, "shard")),
            ("--restart", args.restart),
        )
        if given
    ]
    if args.merge:
        return _merge(args, file_only)
    if has_input == bool(args.texts):
        raise ConfigError("give tweets as arguments, or --input FILE with --output FILE.csv")
    if has_input and not hasattr(args, "output"):
        raise ConfigError("--input needs --output FILE.csv")
    if file_only and not has_input:
        raise ConfigError(f"{file_only[0]} applies to --input files only")
    if has_input:  # before the model loads (seconds): a wrong path fails at once
        from tweetsent.data.reading import check_file

        check_file(args.input)
    classifier = TweetClassifier.load(
        args.run_dir, backend=args.backend, batch_size=args.batch_size
    )
    if not has_input and classifier.multi_label:
        sep = classifier.config.label_sep if classifier.config else "|"
        for text, labels in zip(args.texts, classifier.predict(args.texts), strict=True):
            print(f"{sep.join(labels)}\t{text}")
        return 0
    if not has_input:
        proba = classifier.predict_proba(args.texts)
        for text, row in zip(args.texts, proba, strict=True):
            best = int(row.argmax())
            print(f"{classifier.labels[best]}\t{row[best]:.3f}\t{text}")
        return 0
    return _predict_file(classifier, args)


def _predict_file(classifier, args: argparse.Namespace) -> int:
    from tweetsent.cli._util import data_config_from_args
    from tweetsent.errors import DataError
    from tweetsent.inference.files import Shard, shard_path

    shard = Shard.parse(args.shard) if hasattr(args, "shard") else None
    data_config = data_config_from_args(args, base=classifier.data_config)
    inherited = data_config is classifier.data_config and data_config is not None
    try:
        rows = _label_file(classifier, args, data_config, shard)
    except DataError as exc:
        if not inherited:
            raise
        # The run's own data options were used, which a different file rarely fits.
        preset = f"preset {data_config.preset}, " if data_config.preset else ""
        raise DataError(
            f"{exc}; read with the run's data options ({preset}text column "
            f"{data_config.text_col!r}): give this file's with --text-col (and --no-header, "
            "--format as needed)"
        ) from None
    written = shard_path(args.output, shard)
    print(f"{rows} rows labelled, written to {written}")
    if shard is not None and shard.count > 1:
        print(f"when all {shard.count} parts are done: the same command with --merge, no --shard")
    return 0


def _label_file(classifier, args: argparse.Namespace, data_config, shard) -> int:
    from tweetsent.inference.files import (
        DEFAULT_CHUNK_ROWS,
        model_fingerprint,
        predict_file,
    )

    return predict_file(
        classifier,
        args.input,
        args.output,
        data_config,
        chunk_rows=getattr(args, "chunk_size", DEFAULT_CHUNK_ROWS),
        shard=shard,
        resume=not args.restart,
        progress=not args.no_progress and sys.stderr.isatty(),
        model_id=model_fingerprint(args.run_dir),
    )


def _merge(args: argparse.Namespace, file_only: list[str]) -> int:
    from tweetsent.errors import ConfigError
    from tweetsent.inference.files import merge_shards

    if not hasattr(args, "output"):
        raise ConfigError("--merge needs --output FILE.csv (the name the parts were made for)")
    if args.texts or file_only:
        raise ConfigError(f"--merge takes no {'tweets' if args.texts else file_only[0]}")
    parts = merge_shards(args.output)
    print(f"{parts} parts merged into {args.output}")
    return 0
