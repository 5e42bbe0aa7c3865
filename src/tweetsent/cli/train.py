"""``tweetsent train``: fine-tune a model on a labelled file and write a run directory."""

from __future__ import annotations

from dataclasses import dataclass

from tweetsent.cli._options import Options, add_config_args, config_from, given_flags
from tweetsent.cli._util import COUNT, SUPPRESS, add_data_args, metrics_summary
from tweetsent.config import TrainConfig
from tweetsent.errors import ConfigError
from tweetsent.hardware import device_type
from tweetsent.training import distributed, resume, train
from tweetsent.training.tuning import cross_validate, search


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="fine-tune a classifier and write a run directory",
        description="Fine-tune a BERT-family encoder on a labelled file: stratified split, "
        "AdamW with linear warm-up, evaluation every epoch, the best epoch kept. Flags override "
        "values from --config.",
    )
    p.add_argument("data", nargs="?", default=SUPPRESS, help="training file (or in --config)")
    add_data_args(p)
    # One of the two is required (argparse's usage shows it): a new run's directory, or the
    # interrupted run to continue.
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", default=SUPPRESS, metavar="RUN_DIR", help="run directory to write")
    target.add_argument(
        "--resume",
        default=SUPPRESS,
        metavar="RUN_DIR",
        help="continue the interrupted run RUN_DIR from its last checkpoint, with its settings",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing run directory (only a tweetsent run is ever replaced)",
    )
    p.add_argument(
        "--config",
        default=SUPPRESS,
        metavar="FILE",
        help="a run's config.json to repeat (flags given here override it)",
    )
    # Every TrainConfig field with a flag, from the field's own help text and rule.
    _, exclusive = add_config_args(p, TrainConfig)
    for name, precision in (("--bf16", "bf16"), ("--fp16", "fp16")):
        exclusive["precision"].add_argument(
            name,
            dest="precision",
            action="store_const",
            const=precision,
            default=SUPPRESS,
            help=f"{precision} mixed precision (same as --precision {precision})"
            + (", CUDA GPUs only" if precision == "fp16" else ""),
        )
    t = p.add_argument_group("cross-validation and search").add_mutually_exclusive_group()
    t.add_argument(
        "--cv",
        type=COUNT,
        metavar="K",
        help="stratified K-fold cross-validation: one run per fold, mean ± std of every metric",
    )
    t.add_argument(
        "--search",
        type=COUNT,
        metavar="N",
        help="N-trial Optuna search over lr, epochs, batch size and warm-up; writes "
        "OUT/best_config.json",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=train_cli)


@dataclass(frozen=True)
class TrainOptions(Options):
    """``train``'s own options; the recipe's are TrainConfig's flags (``config_from``)."""

    data: str | None = None
    out: str | None = None
    resume: str | None = None
    overwrite: bool = False
    config: str | None = None
    cv: int | None = None
    search: int | None = None
    no_progress: bool = False


def train_cli(args) -> int:
    opts = TrainOptions.from_args(args)
    distributed.quiet_other_ranks()
    distributed.init(cpu=device_type() == "cpu")  # no-op outside torchrun
    finished = False
    try:
        # Rank 0 checks the options; under torchrun the other ranks get its result (or stop
        # quietly when it failed), so a bad flag is reported once, not once per process.
        config = distributed.on_main(lambda: _config_or_none(opts))
        progress = not opts.no_progress
        if config is None:
            result = resume(opts.resume, progress=progress)
        elif opts.cv is not None:
            code = _cv_cli(config, opts)
            finished = True
            return code
        elif opts.search is not None:
            code = _search_cli(config, opts)
            finished = True
            return code
        else:
            result = train(config, opts.out, overwrite=opts.overwrite, progress=progress)
        finished = True
    finally:
        distributed.shutdown(finished=finished)
    if not distributed.is_main():
        return 0
    _print_summary(result)
    return 0


def _print_summary(result) -> None:
    config = result.config
    m = result.metrics
    if m.get("ensemble"):
        print(f"ensemble of {m['ensemble']['size']} (by {m['metric_for_best']}):")
        for member in m["ensemble"]["members"]:
            print(
                f"  member {member['member']} (seed {member['seed']}): best epoch "
                f"{member['best_epoch']} of {config.epochs}, {m['metric_for_best']} "
                f"{member['validation'].get(m['metric_for_best'], float('nan')):.4f}"
            )
        print("ensemble (mean of the members' calibrated probabilities):")
    else:
        stopped = m.get("epochs_run", config.epochs)
        early = f", stopped early after {stopped}" if stopped < config.epochs else ""
        print(f"best epoch {m['best_epoch']} of {config.epochs} (by {m['metric_for_best']}{early})")
    print(metrics_summary(m["validation"]))
    if m.get("baseline"):
        b = m["baseline"]
        print(
            f"\nbaseline {b['model']}: f1_weighted {b['f1_weighted']:.4f}, "
            f"f1_macro {b['f1_macro']:.4f}, accuracy {b['accuracy']:.4f}"
        )
    cal = m.get("calibration") or {}
    if cal.get("rejected_temperature"):
        print(
            f"\ncalibration: none (temperature {cal['rejected_temperature']:.3f} would raise the "
            f"validation ECE {cal['ece_before']:.4f} -> {cal['rejected_ece']:.4f})"
        )
    elif cal.get("method") == "temperature":
        print(
            f"\ncalibration: temperature {cal['temperature']:.3f} (validation ECE "
            f"{cal['ece_before']:.4f} -> {cal['ece_after']:.4f})"
        )
    elif cal:
        print(f"\ncalibration: {cal['note']}")
    print(
        f"\n{m['train_tweets_per_second']:.1f} tweets/s over {m['train_seconds']:.0f} s; "
        f"run written to {result.run_dir}"
    )


def _config_or_none(opts: TrainOptions) -> TrainConfig | None:
    """The run's config from the options; None for ``--resume`` (which uses the saved one)."""
    if opts.resume is not None:
        _check_resume_options(opts)
        return None
    if opts.out is None:
        raise ConfigError("--out RUN_DIR is required (or --resume RUN_DIR)")
    return config_from(opts)


def _check_resume_options(opts: TrainOptions) -> None:
    """A resumed run keeps its saved settings: changing them mid-run would not be that run."""
    given = given_flags(opts, TrainConfig)
    given += [f"--{k.replace('_', '-')}" for k in opts.data_overrides()]
    given += [name for name in ("data", "config", "out") if opts.gave(name)]
    if opts.overwrite:
        given.append("--overwrite")
    if given:
        raise ConfigError(
            f"--resume continues {opts.resume} with its saved settings; drop {', '.join(given)}"
        )


def _cv_cli(config: TrainConfig, opts: TrainOptions) -> int:
    summary = cross_validate(config, opts.cv, opts.out, overwrite=opts.overwrite)
    print(f"{opts.cv}-fold cross-validation (mean ± std):")
    for key, s in summary["model"].items():
        b = summary["baseline"].get(key)
        base = f"   baseline {b['mean']:.4f} ± {b['std']:.4f}" if b else ""
        print(f"  {key:12s} {s['mean']:.4f} ± {s['std']:.4f}{base}")
    print(f"written to {opts.out}/cv.md")
    return 0


def _search_cli(config: TrainConfig, opts: TrainOptions) -> int:
    result = search(config, opts.search, opts.out, overwrite=opts.overwrite)
    for row in result["trials"]:
        print(
            f"trial {row['trial']}: lr {row['lr']:.2e}  epochs {row['epochs']}  "
            f"batch {row['batch_size']}  warmup {row['warmup_ratio']:.3f}  ->  "
            f"{result['metric']} {row[result['metric']]:.4f}"
        )
    print(
        f"best: trial {result['best_trial']} {result['metric']} {result['best_value']:.4f} "
        f"{result['best_params']}; repeat with: tweetsent train --config "
        f"{opts.out}/best_config.json --out RUN_DIR"
    )
    return 0


__all__ = ["TrainOptions", "add_parser", "train_cli"]
