"""``tweetsent predict``: label tweets given on the command line or in a file."""

from __future__ import annotations

import argparse

from tweetsent.cli._util import SUPPRESS, add_data_args


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="label tweets with a trained run",
        description="Label tweets given as arguments, or every row of --input written to "
        "--output (the input's columns plus predicted_label, confidence and one probability "
        "column per label).",
    )
    p.add_argument("run_dir", help="run directory written by 'tweetsent train'")
    p.add_argument("texts", nargs="*", help="tweets to label")
    p.add_argument("--input", default=SUPPRESS, metavar="FILE", help="file of tweets to label")
    p.add_argument("--output", default=SUPPRESS, metavar="FILE.csv", help="where to write labels")
    add_data_args(p, labels=False)
    p.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    p.add_argument("--batch-size", type=int, default=64)
    p.set_defaults(func=predict_cli)


def predict_cli(args) -> int:
    from tweetsent.errors import ConfigError
    from tweetsent.prediction import TweetClassifier

    has_input = hasattr(args, "input")
    if has_input == bool(args.texts):
        raise ConfigError("give tweets as arguments, or --input FILE with --output FILE.csv")
    if has_input and not hasattr(args, "output"):
        raise ConfigError("--input needs --output FILE.csv")
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
    from tweetsent.predict_file import predict_file

    data_config = data_config_from_args(args, base=classifier.data_config)
    rows = predict_file(classifier, args.input, args.output, data_config)
    print(f"{rows} rows labelled, written to {args.output}")
    return 0
