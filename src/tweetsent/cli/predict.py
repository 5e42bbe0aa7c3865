"""``tweetsent predict``: label tweets given on the command line or in a file."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from tweetsent.batch import ray as tray
from tweetsent.batch.files import (
    DEFAULT_CHUNK_ROWS,
    Shard,
    check_input,
    explain_run_options,
    merge_shards,
    model_fingerprint,
    predict_file,
    shard_path,
)
from tweetsent.cli._options import Options
from tweetsent.cli._util import (
    COUNT,
    SUPPRESS,
    add_allow_pickle,
    add_backend_args,
    add_data_args,
)
from tweetsent.data.checks import is_stream
from tweetsent.errors import ConfigError, DataError
from tweetsent.inference import TweetClassifier
from tweetsent.inference.calibration import check_min_confidence
from tweetsent.rundir import RunDir


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
    p.add_argument(
        "--input",
        default=SUPPRESS,
        metavar="FILE",
        help="file of tweets to label; '-' reads standard input (such a run cannot resume)",
    )
    p.add_argument("--output", default=SUPPRESS, metavar="FILE.csv", help="where to write labels")
    add_data_args(p, labels=False)
    add_backend_args(p)
    p.add_argument(
        "--min-confidence",
        type=float,
        default=None,
        metavar="P",
        help="write the label 'uncertain' where the top (calibrated) probability is below P, "
        "to route doubtful tweets to a person (single-label runs)",
    )
    add_allow_pickle(p)
    _add_file_args(p)
    _add_ray_args(p)
    p.set_defaults(func=predict_cli)


def _add_file_args(p) -> None:
    files = p.add_argument_group("file options")
    files.add_argument(
        "--chunk-size",
        type=COUNT,
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
        "--overwrite",
        action="store_true",
        help="replace an existing --output file that is not an earlier prediction output",
    )
    files.add_argument(
        "--restart",
        action="store_true",
        help="discard the progress of an interrupted run instead of resuming it",
    )
    files.add_argument(
        "--no-progress", action="store_true", help="no progress bar (none when not a terminal)"
    )


def _add_ray_args(p) -> None:
    ray = p.add_argument_group(
        'Ray (--engine ray; needs the extra: pip install -e ".[ray]")',
        "Label --input (a file, a folder of tables or a glob) on a Ray cluster into part files "
        "under --output (a folder), one per chunk, plus _SUCCESS when complete; run again "
        "after an interruption to finish only what is missing.",
    )
    ray.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: a Ray cluster, or a local Ray instance",
    )
    ray.add_argument(
        "--address",
        default=SUPPRESS,
        metavar="ADDR",
        help="join this Ray cluster ('auto', host:port or ray://host:port); default: start a "
        "local Ray instance on this machine",
    )
    ray.add_argument(
        "--workers",
        type=COUNT,
        default=SUPPRESS,
        metavar="N",
        help="workers (actors), each loading the run once (default: the cluster's CPUs less one)",
    )
    ray.add_argument(
        "--output-format",
        choices=("parquet", "csv"),
        default="parquet",
        help="format of the part files (default: parquet)",
    )
    ray.add_argument(
        "--merged",
        default=SUPPRESS,
        metavar="FILE",
        help="when done, also join the parts into FILE (.csv or .parquet), in input order",
    )


@dataclass(frozen=True)
class PredictOptions(Options):
    run_dir: str = ""
    texts: tuple[str, ...] = ()
    input: str | None = None
    output: str | None = None
    backend: str = "auto"
    precision: str = "auto"
    batch_size: int = 64
    min_confidence: float | None = None
    allow_pickle: bool = False
    chunk_size: int = DEFAULT_CHUNK_ROWS
    shard: str | None = None
    merge: bool = False
    restart: bool = False
    overwrite: bool = False
    no_progress: bool = False
    engine: str = "local"
    address: str | None = None
    workers: int | None = None
    output_format: str = "parquet"
    merged: str | None = None


def predict_cli(args) -> int:
    opts = PredictOptions.from_args(args)
    if opts.engine == "ray":
        if opts.min_confidence is not None:  # the Ray workers load their own classifier
            raise ConfigError("--min-confidence is not supported with --engine ray yet")
        return _predict_ray(opts)
    ray_only = [flag for flag in ("address", "workers", "merged") if opts.gave(flag)]
    if ray_only:
        raise ConfigError(f"--{ray_only[0]} applies to --engine ray only")
    has_input = opts.gave("input")
    file_only = [
        flag
        for flag, given in (
            ("--chunk-size", opts.gave("chunk_size")),
            ("--shard", opts.gave("shard")),
            ("--restart", opts.restart),
        )
        if given
    ]
    if opts.merge:
        return _merge(opts, file_only)
    if has_input == bool(opts.texts):
        raise ConfigError("give tweets as arguments, or --input FILE with --output FILE.csv")
    if opts.gave("output") and not has_input:
        raise ConfigError("--output applies to --input FILE; tweets given as arguments are printed")
    if has_input and not opts.gave("output"):
        raise ConfigError("--input needs --output FILE.csv")
    if file_only and not has_input:
        raise ConfigError(f"{file_only[0]} applies to --input files only")

    check_min_confidence(opts.min_confidence)
    if has_input and opts.input != "-":  # before the model loads: bad input fails at once
        _check_input_early(opts)
    classifier = TweetClassifier.load(
        opts.run_dir,
        backend=opts.backend,
        batch_size=opts.batch_size,
        precision=opts.precision,
        allow_pickle=opts.allow_pickle,
    )
    if opts.min_confidence is not None:
        if classifier.multi_label:
            raise ConfigError("--min-confidence applies to single-label runs only")
        classifier.min_confidence = opts.min_confidence
    if not has_input:
        proba = classifier.predict_proba(opts.texts)
        decisions = classifier.decide(proba)
        for text, row, decision in zip(opts.texts, proba, decisions, strict=True):
            if classifier.multi_label:
                print(f"{classifier.label_text(decision)}\t{text}")
            else:
                print(f"{decision}\t{row.max():.3f}\t{text}")
        return 0
    return _predict_file(classifier, opts)


def _check_input_early(opts: PredictOptions) -> None:
    """A wrong path or text column, said in a moment rather than after the model loads."""
    run = RunDir.of_model(opts.run_dir)
    try:
        saved = run.read_config() if run else None
    except ConfigError:
        return  # a damaged config.json: the model's loading names it
    base = saved.data if saved else None
    data_config = opts.data_config(base) if base is not None else opts.data_config()
    if is_stream(opts.input):
        return
    try:
        check_input(opts.input, data_config)
    except DataError as exc:
        if data_config is not base or base is None:
            raise
        how = "--text-col (and --no-header, --format as needed)"
        raise explain_run_options(exc, data_config, how) from None


def _predict_file(classifier, opts: PredictOptions) -> int:
    shard = Shard.parse(opts.shard) if opts.gave("shard") else None
    data_config = opts.data_config(classifier.data_config)
    inherited = data_config is classifier.data_config and data_config is not None
    try:
        rows = _label_file(classifier, opts, data_config, shard)
    except DataError as exc:
        if not inherited:
            raise
        how = "--text-col (and --no-header, --format as needed)"
        raise explain_run_options(exc, data_config, how) from None
    written = shard_path(opts.output, shard)
    if shard is not None and shard.count > 1:
        print(
            f"shard {shard.index}/{shard.count}: {rows} rows labelled, written to {written}; "
            f"once all {shard.count} parts are done, run the same command with --merge instead "
            "of --shard"
        )
    else:
        print(f"{rows} rows labelled, written to {written}")
    return 0


def _label_file(classifier, opts: PredictOptions, data_config, shard) -> int:
    return predict_file(
        classifier,
        opts.input,
        opts.output,
        data_config,
        chunk_rows=opts.chunk_size,
        shard=shard,
        resume=not opts.restart,
        progress=not opts.no_progress and sys.stderr.isatty(),
        model_id=model_fingerprint(opts.run_dir),
        overwrite=opts.overwrite,
    )


def _merge(opts: PredictOptions, file_only: list[str]) -> int:
    if not opts.gave("output"):
        raise ConfigError("--merge needs --output FILE.csv (the name the parts were made for)")
    if opts.texts or file_only:
        raise ConfigError(f"--merge takes no {'tweets' if opts.texts else file_only[0]}")
    parts = merge_shards(opts.output, overwrite=opts.overwrite)
    print(f"{parts} parts merged into {opts.output}")
    return 0


def _predict_ray(opts: PredictOptions) -> int:
    import os

    if opts.texts or not opts.gave("input") or not opts.gave("output"):
        raise ConfigError("--engine ray labels files: give --input PATH and --output FOLDER")
    for flag, given in (("--shard", opts.gave("shard")), ("--merge", opts.merge)):
        if given:
            raise ConfigError(f"{flag} is for --engine local; Ray splits and joins the work itself")
    workers = opts.workers
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be a positive integer, got {workers}")

    run_config = RunDir(opts.run_dir).read_config()
    base = run_config.data if run_config else None
    data_config = opts.data_config(base)
    address = opts.address
    if address is None and workers is None:
        workers = os.cpu_count() or 1  # a local instance: one worker per core
    started = tray.connect(address, num_cpus=None if workers is None else workers + 1)
    try:
        record = tray.predict_files(
            opts.run_dir,
            opts.input,
            opts.output,
            data_config,
            backend=opts.backend,
            precision=opts.precision,
            batch_size=opts.batch_size,
            workers=workers,
            chunk_rows=opts.chunk_size,
            output_format=opts.output_format,
            restart=opts.restart,
            progress=not opts.no_progress and sys.stderr.isatty(),
        )
    finally:
        if started:
            import ray

            ray.shutdown()
    print(f"{record['rows']} rows labelled, in {record['parts']} parts under {opts.output}")
    if opts.gave("merged"):
        rows = tray.merge_output(opts.output, opts.merged)
        print(f"{rows} rows merged into {opts.merged}")
    return 0
