"""``tweetsent train``: fine-tune a model on a labelled file and write a run directory."""

from __future__ import annotations

import argparse

from tweetsent.cli._util import SUPPRESS, add_data_args, data_overrides
from tweetsent.config import (
    HEADS,
    METRICS,
    MULTI_LABEL_ROWS,
    OPTIMIZERS,
    PRECISIONS,
    SCHEDULERS,
    TrainConfig,
)
from tweetsent.errors import ConfigError

D = TrainConfig()  # defaults, shown in --help

# command-line flag -> TrainConfig field
TRAIN_FLAGS = {
    "model": "model",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "lr": "lr",
    "max_length": "max_length",
    "val_size": "val_size",
    "val_file": "val_file",
    "seed": "seed",
    "limit": "limit",
    "warmup_ratio": "warmup_ratio",
    "weight_decay": "weight_decay",
    "metric_for_best": "metric_for_best",
    "precision": "precision",
    "allow_pickle": "allow_pickle",
    "save_steps": "save_steps",
    "split_seed": "split_seed",
    "early_stopping_patience": "early_stopping_patience",
    "class_weights": "class_weights",
    "normalize": "normalize",
    "demojize": "demojize",
    "multi_label": "multi_label",
    "label_sep": "label_sep",
    "scheduler": "scheduler",
    "optimizer": "optimizer",
    "freeze_encoder": "freeze_encoder",
    "freeze_layers": "freeze_layers",
    "freeze_word_embeddings": "freeze_word_embeddings",
    "head": "head",
    "head_lr": "head_lr",
    "layer_lr_decay": "layer_lr_decay",
    "label_smoothing": "label_smoothing",
    "multi_label_rows": "multi_label_rows",
}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="fine-tune a classifier and write a run directory",
        description="Fine-tune a BERT-family encoder on a labelled file: stratified split, "
        "AdamW with linear warm-up, evaluation every epoch, the best epoch kept. Flags override "
        "values from --config.",
    )
    p.add_argument(
        "data",
        nargs="?",
        default=SUPPRESS,
        help="training file (optional with --config that names one)",
    )
    add_data_args(p)
    p.add_argument("--out", default=SUPPRESS, help="run directory to write (required)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    p.add_argument(
        "--config",
        default=SUPPRESS,
        metavar="FILE",
        help="a run's config.json to repeat (flags given here override it)",
    )
    p.add_argument(
        "--resume",
        default=SUPPRESS,
        metavar="RUN_DIR",
        help="continue the interrupted run RUN_DIR from its last checkpoint, with its settings",
    )
    g = p.add_argument_group("model and training")
    g.add_argument(
        "--model",
        default=SUPPRESS,
        metavar="NAME_OR_DIR",
        help="Hugging Face id or local directory (default: the embedded MiniLM-L6)",
    )
    g.add_argument("--epochs", type=int, default=SUPPRESS, help=f"default {D.epochs}")
    g.add_argument("--batch-size", type=int, default=SUPPRESS, help=f"default {D.batch_size}")
    g.add_argument("--lr", type=float, default=SUPPRESS, help=f"peak learning rate, default {D.lr}")
    g.add_argument(
        "--max-length",
        type=int,
        default=SUPPRESS,
        help=f"truncate texts to N tokens, default {D.max_length}",
    )
    g.add_argument(
        "--warmup-ratio",
        type=float,
        default=SUPPRESS,
        help=f"share of steps for linear warm-up, default {D.warmup_ratio}",
    )
    g.add_argument(
        "--weight-decay",
        type=float,
        default=SUPPRESS,
        help=f"AdamW weight decay (not on biases/LayerNorm), default {D.weight_decay}",
    )
    g.add_argument(
        "--metric-for-best",
        choices=METRICS,
        default=SUPPRESS,
        help=f"metric that picks the best epoch, default {D.metric_for_best}",
    )
    prec = g.add_mutually_exclusive_group()
    prec.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=SUPPRESS,
        help="auto: bf16 autocast where the hardware has it natively, else fp32",
    )
    prec.add_argument(
        "--bf16",
        dest="precision",
        action="store_const",
        const="bf16",
        default=SUPPRESS,
        help="bf16 mixed precision (same as --precision bf16)",
    )
    prec.add_argument(
        "--fp16",
        dest="precision",
        action="store_const",
        const="fp16",
        default=SUPPRESS,
        help="fp16 mixed precision, CUDA GPUs only (same as --precision fp16)",
    )
    g.add_argument(
        "--save-steps",
        type=int,
        default=SUPPRESS,
        metavar="N",
        help="also checkpoint every N optimizer steps (default: at each epoch's end only)",
    )
    g.add_argument(
        "--seed",
        type=int,
        default=SUPPRESS,
        help=f"seed of training randomness (head init, shuffling, dropout), default {D.seed}",
    )
    g.add_argument(
        "--split-seed",
        type=int,
        default=SUPPRESS,
        help=f"seed of the train/validation split, default {D.split_seed} (the tutorials')",
    )
    g.add_argument("--limit", type=int, default=SUPPRESS, help="use only the first N usable rows")
    g.add_argument(
        "--allow-pickle",
        action="store_true",
        default=SUPPRESS,
        help="allow loading pickle (.bin) weights; only for models you trust",
    )
    v = g.add_mutually_exclusive_group()
    v.add_argument(
        "--val-size",
        type=float,
        default=SUPPRESS,
        help=f"validation share for the stratified split, default {D.val_size}",
    )
    v.add_argument("--val-file", default=SUPPRESS, help="separate validation file")
    add_recipe_args(p)
    t = p.add_argument_group("cross-validation and search").add_mutually_exclusive_group()
    t.add_argument(
        "--cv",
        type=int,
        metavar="K",
        help="stratified K-fold cross-validation: one run per fold, mean ± std of every metric",
    )
    t.add_argument(
        "--search",
        type=int,
        metavar="N",
        help="N-trial Optuna search over lr, epochs, batch size and warm-up; writes "
        "OUT/best_config.json",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=train_cli)


def add_recipe_args(p: argparse.ArgumentParser) -> None:
    """Imbalance, normalisation, multi-label and the tutorials' options."""
    r = p.add_argument_group("recipe options")
    r.add_argument(
        "--class-weights",
        default=SUPPRESS,
        metavar="balanced|sqrt|none|FILE",
        help="weighted loss for imbalanced classes: balanced (n / (k * count)), sqrt (its "
        f"square root), none, or a JSON file {{label: weight}}; default {D.class_weights}",
    )
    r.add_argument(
        "--normalize",
        action=argparse.BooleanOptionalAction,
        default=SUPPRESS,
        help="mentions -> @user, links -> http, HTML entities and mojibake repaired, at "
        f"training and prediction alike; default {'on' if D.normalize else 'off'}",
    )
    r.add_argument(
        "--demojize",
        action=argparse.BooleanOptionalAction,
        default=SUPPRESS,
        help="write emoji out as their names ('😱' -> 'face screaming in fear'), at training "
        f"and prediction alike; default {'on' if D.demojize else 'off'}",
    )
    r.add_argument(
        "--multi-label",
        action="store_true",
        default=SUPPRESS,
        help="keep rows such as 'happy|surprise': sigmoid head, per-label thresholds tuned "
        "on validation, a label set per tweet",
    )
    r.add_argument(
        "--label-sep",
        default=SUPPRESS,
        metavar="SEP",
        help=f"separator of a multi-label row's labels, default {D.label_sep!r}",
    )
    r.add_argument(
        "--multi-label-rows",
        choices=MULTI_LABEL_ROWS,
        default=SUPPRESS,
        help="single-label runs: train on the rows cleaning marks as multi-label, such as "
        "SMILE's 'happy|surprise', with the probability shared between their labels (soft; "
        f"never in validation), or drop them as the tutorials do; default {D.multi_label_rows}",
    )
    r.add_argument(
        "--early-stopping",
        dest="early_stopping_patience",
        type=int,
        default=SUPPRESS,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without improvement (0: never); default "
        f"{D.early_stopping_patience}",
    )
    r.add_argument("--scheduler", choices=SCHEDULERS, default=SUPPRESS, help="default linear")
    r.add_argument(
        "--optimizer", choices=OPTIMIZERS, default=SUPPRESS, help="default adamw; sgd: momentum 0.9"
    )
    r.add_argument(
        "--freeze-encoder",
        action="store_true",
        default=SUPPRESS,
        help="train the classification head only",
    )
    r.add_argument(
        "--freeze-layers",
        type=int,
        default=SUPPRESS,
        metavar="N",
        help="freeze the embeddings and the lowest N transformer layers",
    )
    r.add_argument(
        "--freeze-word-embeddings",
        action=argparse.BooleanOptionalAction,
        default=SUPPRESS,
        help="keep the token embedding matrix as pretrained (faster steps); "
        f"default {'on' if D.freeze_word_embeddings else 'off'}",
    )
    r.add_argument("--head", choices=HEADS, default=SUPPRESS, help="default linear")
    r.add_argument(
        "--head-lr",
        type=float,
        default=SUPPRESS,
        metavar="LR",
        help="learning rate of the new classification head and pooler (default 1e-3)",
    )
    r.add_argument(
        "--layer-lr-decay",
        type=float,
        default=SUPPRESS,
        metavar="D",
        help="layer-wise lr decay: each layer down trains at D times the one above (default 0.9; "
        "1: one lr for the whole encoder)",
    )
    r.add_argument(
        "--label-smoothing",
        type=float,
        default=SUPPRESS,
        metavar="E",
        help="train against (1 - E) * one-hot + E / classes (default 0: plain targets)",
    )


def config_from_args(args) -> TrainConfig:
    values = TrainConfig.load(args.config).to_dict() if hasattr(args, "config") else {}
    if hasattr(args, "data"):
        values["data_path"] = args.data
    for flag, key in TRAIN_FLAGS.items():
        if hasattr(args, flag):
            values[key] = getattr(args, flag)
    if hasattr(args, "val_file"):
        values["val_size"] = D.val_size
    data = dict(values.get("data") or {})
    overrides = data_overrides(args)
    if "preset" in overrides and overrides["preset"] != data.get("preset"):
        data = {}  # a new preset replaces the settings the old one had filled in
    data.update(overrides)
    values["data"] = data
    return TrainConfig.from_dict(values)


def train_cli(args) -> int:
    from tweetsent import distributed
    from tweetsent.cli._util import metrics_summary
    from tweetsent.hardware import device_type
    from tweetsent.training import resume, train

    distributed.quiet_other_ranks()
    distributed.init(cpu=device_type() == "cpu")  # no-op outside torchrun
    try:
        # Rank 0 checks the options; under torchrun the other ranks get its result (or stop
        # quietly when it failed), so a bad flag is reported once, not once per process.
        config = distributed.on_main(lambda: _config_or_none(args))
        progress = not args.no_progress
        if config is None:
            result = resume(args.resume, progress=progress)
        elif getattr(args, "cv", None) is not None:
            return _cv_cli(config, args)
        elif getattr(args, "search", None) is not None:
            return _search_cli(config, args)
        else:
            result = train(config, args.out, overwrite=args.overwrite, progress=progress)
    finally:
        distributed.shutdown()
    if not distributed.is_main():
        return 0
    config = result.config
    m = result.metrics
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
    print(
        f"\n{m['train_tweets_per_second']:.1f} tweets/s over {m['train_seconds']:.0f} s; "
        f"run written to {result.run_dir}"
    )
    return 0


def _config_or_none(args) -> TrainConfig | None:
    """The run's config from the options; None for ``--resume`` (which uses the saved one)."""
    if hasattr(args, "resume"):
        _check_resume_args(args)
        return None
    if not hasattr(args, "out"):
        raise ConfigError("--out RUN_DIR is required (or --resume RUN_DIR)")
    from tweetsent.checkpoints import check_run_name

    check_run_name(args.out)  # also for --cv / --search, which write OUT/... themselves
    return config_from_args(args)


def _check_resume_args(args) -> None:
    """A resumed run keeps its saved settings: changing them mid-run would not be that run."""
    given = [f"--{flag.replace('_', '-')}" for flag in TRAIN_FLAGS if hasattr(args, flag)]
    given += [f"--{k.replace('_', '-')}" for k in data_overrides(args)]
    given += [name for name in ("data", "config", "out") if hasattr(args, name)]
    if args.overwrite:
        given.append("--overwrite")
    if given:
        raise ConfigError(
            f"--resume continues {args.resume} with its saved settings; drop {', '.join(given)}"
        )


def _cv_cli(config: TrainConfig, args) -> int:
    from tweetsent.tuning import cross_validate

    summary = cross_validate(config, args.cv, args.out, overwrite=args.overwrite)
    print(f"{args.cv}-fold cross-validation (mean ± std):")
    for key, s in summary["model"].items():
        b = summary["baseline"].get(key)
        base = f"   baseline {b['mean']:.4f} ± {b['std']:.4f}" if b else ""
        print(f"  {key:12s} {s['mean']:.4f} ± {s['std']:.4f}{base}")
    print(f"written to {args.out}/cv.md")
    return 0


def _search_cli(config: TrainConfig, args) -> int:
    from tweetsent.tuning import search

    result = search(config, args.search, args.out, overwrite=args.overwrite)
    for row in result["trials"]:
        print(
            f"trial {row['trial']}: lr {row['lr']:.2e}  epochs {row['epochs']}  "
            f"batch {row['batch_size']}  warmup {row['warmup_ratio']:.3f}  ->  "
            f"{result['metric']} {row[result['metric']]:.4f}"
        )
    print(
        f"best: trial {result['best_trial']} {result['metric']} {result['best_value']:.4f} "
        f"{result['best_params']}; repeat with: tweetsent train --config "
        f"{args.out}/best_config.json --out RUN_DIR"
    )
    return 0


__all__ = ["add_parser", "add_recipe_args", "config_from_args", "train_cli"]
