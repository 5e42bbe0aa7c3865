"""``tweetsent bench predict|train|quality``: ours against the references, side by side."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tweetsent.benchmarks import (
    bench_predict,
    bench_train,
    parse_source,
    run_validation,
    sample_texts,
)
from tweetsent.cli._options import Options
from tweetsent.cli._util import (
    COUNT,
    SUPPRESS,
    add_data_args,
    atomic_write_text,
    format_table,
)
from tweetsent.cli.bench_quality import add_quality_parser
from tweetsent.config import TrainConfig
from tweetsent.errors import ConfigError
from tweetsent.export import ONNX_DIR, OPENVINO_DIR, export_onnx, export_openvino
from tweetsent.rundir import RunDir

CONTESTANTS = ("tutorial", "plain", "trainer", "ours")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "bench",
        help="benchmark prediction / training speed against the usual references, or quality",
        description="Run ours and the references side by side in one run on this machine and "
        "print throughputs, ratios, label agreement / F1 and achieved FLOP/s vs the CPU's peak.",
    )
    which = p.add_subparsers(dest="bench", metavar="WHAT", required=True)
    _add_predict_parser(which)

    pt = which.add_parser(
        "train",
        help="training tweets/s: tutorial recipe, plain fp32 loop and Trainer vs tweetsent train",
    )
    pt.add_argument("data", help="labelled training file")
    add_data_args(pt)
    pt.add_argument("--model", default=None, help="backbone (default: the embedded MiniLM-L6)")
    pt.add_argument("--epochs", type=COUNT, default=2, help="epochs for plain loop and ours (2)")
    pt.add_argument("--batch-size", type=COUNT, default=SUPPRESS, help="default: tweetsent's own")
    pt.add_argument("--limit", type=COUNT, default=None, help="use only the first N usable rows")
    pt.add_argument(
        "--tutorial-steps", type=COUNT, default=20, help="steps of the tutorial recipe to time (20)"
    )
    pt.add_argument(
        "--only",
        nargs="+",
        choices=CONTESTANTS,
        default=CONTESTANTS,
        help="run only these contestants",
    )
    pt.add_argument(
        "--freeze-word-embeddings",
        action="store_true",
        default=SUPPRESS,
        help="train ours with this option (the references train every weight)",
    )
    pt.add_argument("--json", default=None, metavar="FILE", help="also write the results here")
    pt.set_defaults(func=bench_train_cli)
    add_quality_parser(which)


def _add_predict_parser(which) -> None:
    pp = which.add_parser(
        "predict",
        help="tweets/s from raw text to labels: transformers.pipeline fp32 vs our backends",
    )
    pp.add_argument("run_dir", help="run directory written by 'tweetsent train'")
    pp.add_argument(
        "--data",
        action="append",
        metavar="FILE[:PRESET]",
        help="tweets to time (repeatable, an equal share from each; e.g. "
        "Corona_NLP_test.csv:covid; without PRESET, read as the run read its data); default: "
        "the run's training file",
    )
    pp.add_argument("-n", "--tweets", type=COUNT, default=2000, help="number of tweets (2000)")
    pp.add_argument("--batch-size", type=COUNT, default=64)
    pp.add_argument(
        "--rounds",
        type=COUNT,
        default=3,
        help="timed passes per contestant, taking turns; each row keeps its best (3)",
    )
    pp.add_argument(
        "--onnx-dir",
        default=None,
        metavar="DIR",
        help="an ONNX export to include (default: RUN_DIR/onnx, else a temporary int8 export)",
    )
    pp.add_argument(
        "--openvino-dir",
        default=None,
        metavar="DIR",
        help="an OpenVINO export to include (default: RUN_DIR/openvino, else a temporary int8 "
        "export)",
    )
    pp.add_argument(
        "--no-export", action="store_true", help="skip the ONNX and OpenVINO contestants"
    )
    pp.add_argument(
        "--student",
        action="append",
        default=[],
        metavar="STUDENT_DIR",
        help="a distilled run of RUN_DIR to time too, with the exports it has (repeatable)",
    )
    pp.add_argument("--json", default=None, metavar="FILE", help="also write the results here")
    pp.set_defaults(func=bench_predict_cli)


@dataclass(frozen=True)
class BenchPredictOptions(Options):
    run_dir: str = ""
    data: tuple[str, ...] | None = None
    tweets: int = 2000
    batch_size: int = 64
    rounds: int = 3
    onnx_dir: str | None = None
    openvino_dir: str | None = None
    no_export: bool = False
    student: tuple[str, ...] = ()
    json: str | None = None


@dataclass(frozen=True)
class BenchTrainOptions(Options):
    data: str = ""
    model: str | None = None
    epochs: int = 2
    limit: int | None = None
    tutorial_steps: int = 20
    only: tuple[str, ...] = ("tutorial", "plain", "trainer", "ours")
    json: str | None = None


def bench_predict_cli(args) -> int:
    opts = BenchPredictOptions.from_args(args)
    run_dir = Path(opts.run_dir)
    run_config = RunDir(run_dir).read_config()
    if opts.data:
        # A file without :PRESET is read the way the run read its own training data.
        sources = [
            (path, data if data.preset or run_config is None else run_config.data)
            for path, data in map(parse_source, opts.data)
        ]
    elif run_config is not None and run_config.data_path:
        sources = [(run_config.data_path, run_config.data)]
    else:
        raise ConfigError(f"{run_dir}: no config.json naming its data; pass --data FILE")
    texts = sample_texts(sources, opts.tweets)
    validation = run_validation(run_dir)
    with tempfile.TemporaryDirectory(prefix="tweetsent-bench-") as tmp:
        onnx_dir, openvino_dir = _bench_exports(opts, run_dir, Path(tmp))
        result = bench_predict(
            run_dir,
            texts,
            validation=validation,
            onnx_dir=onnx_dir,
            openvino_dir=openvino_dir,
            batch_size=opts.batch_size,
            students=opts.student,
            rounds=opts.rounds,
        )
    print(_predict_table(result))
    _write_json(opts.json, result)
    return 0


def _bench_exports(
    opts: BenchPredictOptions, run_dir: Path, tmp: Path
) -> tuple[Path | None, Path | None]:
    """The ONNX and OpenVINO folders to time: given, the run's own, else scratch int8 exports
    (of a scratch copy: a benchmark must not change the run it measures)."""

    if opts.no_export:
        return None, None
    scratch = tmp / "run"
    found = []
    for given, name, export in (
        (opts.onnx_dir, ONNX_DIR, export_onnx),
        (opts.openvino_dir, OPENVINO_DIR, export_openvino),
    ):
        folder = Path(given) if given else None
        if folder is None and (run_dir / name).is_dir():
            folder = run_dir / name
        if folder is None:
            if not scratch.exists():
                scratch.mkdir()
                run, copy = RunDir(run_dir), RunDir(scratch)
                copy.model.symlink_to(run.model.resolve())
                if run.config_file.is_file():  # int8 calibrates on the run's data
                    copy.config_file.symlink_to(run.config_file.resolve())
            folder = export(scratch, quantize="int8")
        found.append(folder)
    return found[0], found[1]


def bench_train_cli(args) -> int:
    opts = BenchTrainOptions.from_args(args)
    values = {"data_path": opts.data, "data": opts.data_config()}
    values.update(model=opts.model, epochs=opts.epochs, limit=opts.limit)
    for name in ("batch_size", "freeze_word_embeddings"):
        if opts.gave(name):
            values[name] = opts.flags[name]
    config = TrainConfig(**values)
    with tempfile.TemporaryDirectory(prefix="tweetsent-bench-") as tmp:
        result = bench_train(
            config, tmp, tutorial_steps=opts.tutorial_steps, include=tuple(opts.only)
        )
    print(_train_table(result))
    _write_json(opts.json, result)
    return 0


def _predict_table(result: dict) -> str:
    rows = [
        [
            r["name"],
            f"{r['backend']} {r['precision']}",
            f"{r['tweets_per_second']:.1f}",
            f"{100 * r['spread']:.0f}%",
            f"{r['ratio']:.2f}x",
            "-" if r["agreement"] is None else f"{100 * r['agreement']:.2f}%",
            "-" if r["f1_weighted"] is None else f"{r['f1_weighted']:.4f}",
            f"{r['achieved_gflops']:.1f}",
            f"{100 * r['fraction_of_peak']:.2f}% of {r['peak_gflops']:.0f} ({r['precision']})",
        ]
        for r in result["results"]
    ]
    head = (
        f"{result['tweets']} tweets (mean {result['mean_tokens']} tokens), best of "
        f"{result['rounds']} alternating rounds, "
        f"F1 on {result['validation_tweets']} validation tweets, "
        f"{result['machine']['cpus']} CPUs {result['machine']['cpu']} "
        f"({', '.join(result['machine']['cpu_flags']) or 'no AVX2'}; auto tries "
        f"{', '.join(result['machine']['auto_order'])})"
    )
    table = format_table(
        rows,
        ["contestant", "ran", "tweets/s", "spread", "vs pipeline", "agree fp32", "F1 w"]
        + ["GFLOP/s", "peak"],
    )
    return f"{head}\n{table}"


def _train_table(result: dict) -> str:
    def f(value, spec):
        return "-" if value is None else format(value, spec)

    rows = [
        [
            r["name"],
            f"{r['tweets_per_second']:.2f}",
            f(r.get("ratio_vs_tutorial"), ".1f"),
            f(r.get("ratio_vs_plain"), ".2f"),
            f(r.get("ratio_vs_trainer"), ".2f"),
            f(r.get("final_f1_weighted"), ".4f"),
            f"{r['achieved_gflops']:.1f}",
            f"{100 * r['fraction_of_peak']:.2f}% ({r['precision']})",
        ]
        for r in result["results"]
    ]
    head = (
        f"{result['train_tweets']} training tweets, {result['epochs']} epoch(s) for plain, "
        f"Trainer and ours, {result['tutorial_steps']} tutorial steps; "
        f"{result['machine']['cpus']} CPUs"
    )
    table = format_table(
        rows,
        ["contestant", "tweets/s", "x tutorial", "x plain", "x Trainer", "final F1 w", "GFLOP/s"]
        + ["peak"],
    )
    return f"{head}\n{table}"


def _write_json(path: str | None, result: dict) -> None:
    if path:
        atomic_write_text(path, json.dumps(result, indent=2) + "\n")


__all__ = ["add_parser", "bench_predict_cli", "bench_train_cli"]
