"""Typed, validated configuration for training (``TrainConfig``; the data options are
``DataConfig``, in ``tweetsent.data_config``, re-exported here).

Both dataclasses validate themselves on construction and round-trip through JSON, so a run
directory's ``config.json`` repeats the run: ``tweetsent train --config RUN_DIR/config.json``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tweetsent import fileio
from tweetsent.data_config import FORMATS, DataConfig
from tweetsent.errors import ConfigError
from tweetsent.rules import (
    AUTO,
    boolean,
    int_or_auto,
    interval,
    non_negative_int,
    non_negative_number,
    one_of,
    option,
    optional,
    positive_int,
    positive_int_or_auto,
    positive_number,
    strings,
    text,
    validate,
)
from tweetsent.rules import (
    seed as seed_rule,
)

METRICS = ("f1_weighted", "f1_macro", "f1_micro", "accuracy", "mcc", "loss")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
SCHEDULERS = ("linear", "onecycle")
OPTIMIZERS = ("adamw", "sgd")
HEADS = ("linear", "mlp")
MULTI_LABEL_ROWS = ("drop", "soft")
REPORT_TO = ("none", "tensorboard", "mlflow")
CLASS_WEIGHTS = ("none", "balanced", "sqrt")  # or the path of a JSON file {label: weight}
# tweetsent adapt: masked-language modelling (a fresh MLM head where the backbone has none), or
# SimCSE's unsupervised contrastive objective (each tweet's two dropout views are a pair).
ADAPT_OBJECTIVES = ("mlm", "simcse")


MODEL = "model and training"
RECIPE = "recipe options"
ADAPTATION = "adaptation (continued pretraining on unlabelled tweets)"


# Settings that runs saved before them did not have, with the behaviour those runs had: a saved
# config.json without the key reloads (to predict, resume or repeat) as it ran, not with
# today's default.
ADDED_LATER = {"demojize": False, "multi_label_rows": "drop", "adapt": False}


@dataclass
class TrainConfig:
    """Everything a training run depends on; saved as ``config.json`` in the run directory.

    Each field's metadata holds its help text and validation rule; ``tweetsent train``'s flags
    are generated from them (``tweetsent.cli._options``). Why each default is what it is:
    docs/defaults.md; the measurements: docs/benchmarks.md.
    """

    data_path: str | None = option(None, help="training file", rule=optional(text), flag=False)
    data: DataConfig = field(default_factory=DataConfig)
    model: str | None = option(
        None,
        help="Hugging Face id or local directory (default: the embedded MiniLM-L6)",
        rule=optional(text),
        metavar="NAME_OR_DIR",
        group=MODEL,
    )
    # auto: chosen from the number of training rows (training.schedule), saved as numbers.
    epochs: int | str = option(
        AUTO,
        help="training epochs; auto: about 600 optimizer steps, 3 to 10 epochs",
        rule=positive_int_or_auto,
        parse=int_or_auto,
        group=MODEL,
    )
    batch_size: int | str = option(
        AUTO,
        help="training batch size; auto: 8 below 1,000 training rows, 16 below 4,000, else 32",
        rule=positive_int_or_auto,
        parse=int_or_auto,
        group=MODEL,
    )
    eval_batch_size: int = option(
        64, help="batch size for validation", rule=positive_int, group=MODEL
    )
    lr: float = option(1e-4, help="peak learning rate", rule=positive_number, group=MODEL)
    max_length: int = option(
        128, help="truncate texts to N tokens (at most 512)", rule=positive_int, group=MODEL
    )
    warmup_ratio: float = option(
        0.1,
        help="share of steps for linear warm-up",
        rule=interval(0, 1, high_open=True),
        group=MODEL,
    )
    weight_decay: float = option(
        0.01,
        help="AdamW weight decay (not on biases/LayerNorm)",
        rule=non_negative_number,
        group=MODEL,
    )
    max_grad_norm: float = option(
        1.0, help="clip gradients to this global norm", rule=positive_number, group=MODEL
    )
    val_size: float = option(
        0.15,
        help="validation share for the stratified split",
        rule=interval(0, 1, low_open=True, high_open=True),
        group=MODEL,
        exclusive="validation",
    )
    val_file: str | None = option(
        None,
        help="separate validation file",
        rule=optional(text),
        group=MODEL,
        exclusive="validation",
    )
    # ``seed`` drives training randomness, ``split_seed`` the split: seeds 17, 18, 19 then
    # compare training runs on ONE split instead of mixing split luck into the spread.
    seed: int = option(
        17,
        help="seed of training randomness (head init, shuffling, dropout)",
        rule=seed_rule,
        group=MODEL,
    )
    split_seed: int = option(
        17, help="seed of the train/validation split (the tutorials')", rule=seed_rule, group=MODEL
    )
    limit: int | None = option(
        None, help="use only the first N usable rows", rule=optional(positive_int), group=MODEL
    )
    metric_for_best: str = option(
        "f1_macro",
        help="metric that picks the best epoch (macro F1: every class counts alike)",
        rule=one_of(METRICS),
        group=MODEL,
    )
    precision: str = option(
        "auto",
        help="auto: bf16 autocast where the hardware has it natively, else fp32",
        rule=one_of(PRECISIONS),
        group=MODEL,
        exclusive="precision",
    )
    report_to: str = option(
        "none",
        help="also log losses, metrics and the learning rate to TensorBoard (RUN_DIR/"
        "tensorboard) or MLflow (MLFLOW_TRACKING_URI, else ./mlruns), through Trainer's "
        "integrations; needs pip install 'tweetsent[tensorboard]' or 'tweetsent[mlflow]'",
        rule=one_of(REPORT_TO),
        group=MODEL,
    )
    save_steps: int | None = option(
        None,
        help="also checkpoint every N optimizer steps (default: at each epoch's end only)",
        rule=optional(positive_int),
        metavar="N",
        group=MODEL,
    )
    allow_pickle: bool = option(
        False,
        help="allow loading pickle (.bin) weights; only for models you trust",
        rule=boolean,
        group=MODEL,
    )
    early_stopping_patience: int = option(
        3,
        help="stop after PATIENCE epochs without improvement (0: never)",
        rule=non_negative_int,
        flag="--early-stopping",
        metavar="PATIENCE",
        group=RECIPE,
    )
    class_weights: str = option(
        "sqrt",
        help="weighted loss for imbalanced classes: balanced (n / (k * count)), sqrt (its square "
        "root), none, or a JSON file {label: weight}; multi-label runs: the weight of BCE's "
        "positive term",
        rule=text,
        metavar="balanced|sqrt|none|FILE",
        group=RECIPE,
    )
    normalize: bool = option(
        True,
        help="mentions -> @user, links -> http, HTML entities and mojibake repaired, at "
        "training and prediction alike",
        rule=boolean,
        group=RECIPE,
        negatable=True,
    )
    demojize: bool = option(
        True,
        help="write emoji out as their names ('😱' -> 'face screaming in fear'), at training "
        "and prediction alike",
        rule=boolean,
        group=RECIPE,
        negatable=True,
    )
    multi_label: bool = option(
        False,
        help="keep rows such as 'happy|surprise': sigmoid head, per-label thresholds tuned on "
        "validation, a label set per tweet",
        rule=boolean,
        group=RECIPE,
    )
    label_sep: str = option(
        "|", help="separator of a multi-label row's labels", rule=text, metavar="SEP", group=RECIPE
    )
    scheduler: str = option(
        "linear",
        help="linear warm-up then decay, or onecycle (torch OneCycleLR)",
        rule=one_of(SCHEDULERS),
        group=RECIPE,
    )
    optimizer: str = option(
        "adamw", help="adamw, or sgd (momentum 0.9)", rule=one_of(OPTIMIZERS), group=RECIPE
    )
    freeze_encoder: bool = option(
        False, help="train the classification head only", rule=boolean, group=RECIPE
    )
    freeze_layers: int = option(
        0,
        help="freeze the embeddings and the lowest N transformer layers",
        rule=non_negative_int,
        metavar="N",
        group=RECIPE,
    )
    freeze_word_embeddings: bool = option(
        False,
        help="keep the token embedding matrix as pretrained (faster steps, slightly lower F1)",
        rule=boolean,
        group=RECIPE,
        negatable=True,
    )
    head: str = option(
        "linear",
        help="linear (the model's own) or mlp (Linear-GELU-Dropout-Linear)",
        rule=one_of(HEADS),
        group=RECIPE,
    )
    head_lr: float | None = option(
        1e-3,
        help="learning rate of the new classification head and pooler (None: --lr)",
        rule=optional(positive_number),
        metavar="LR",
        group=RECIPE,
    )
    layer_lr_decay: float = option(
        0.9,
        help="layer-wise lr decay: each layer down trains at D times the one above, the "
        "embeddings one step further (1: one lr for the whole encoder)",
        rule=interval(0, 1, low_open=True),
        metavar="D",
        group=RECIPE,
    )
    label_smoothing: float = option(
        0.0,
        help="train against (1 - E) * one-hot + E / classes (0: plain targets; single-label)",
        rule=interval(0, 1, high_open=True),
        metavar="E",
        group=RECIPE,
    )
    ensemble: int = option(
        1,
        help="train K members (seeds SEED..SEED+K-1, same split) and average their calibrated "
        "probabilities: K times the training and the prediction work",
        rule=positive_int,
        metavar="K",
        group=RECIPE,
    )
    multi_label_rows: str = option(
        "soft",
        help="single-label runs: train on the rows cleaning marks as multi-label, such as "
        "SMILE's 'happy|surprise', with the probability shared between their labels (soft; "
        "never in validation), or drop them as the tutorials do",
        rule=one_of(MULTI_LABEL_ROWS),
        group=RECIPE,
    )
    adapt: bool = option(
        False,
        help="first continue the backbone's pretraining on the training file's own texts (and "
        "--unlabelled files), then fine-tune: tweetsent adapt inside the run; validation "
        "texts are never used",
        rule=boolean,
        group=ADAPTATION,
    )
    adapt_objective: str = option(
        "mlm",
        help="the adaptation's objective: mlm (masked-language modelling) or simcse "
        "(contrastive, dropout views)",
        rule=one_of(ADAPT_OBJECTIVES),
        group=ADAPTATION,
    )
    adapt_epochs: int | str = option(
        AUTO,
        help="passes over the adaptation texts; auto: about 10,000 tweets seen, 1 to 10 passes",
        rule=positive_int_or_auto,
        parse=int_or_auto,
        group=ADAPTATION,
    )
    adapt_head_warmup: float = option(
        0.0,
        help="mlm: share of the adaptation's steps that train only the fresh MLM head, the "
        "encoder frozen",
        rule=interval(0, 1, high_open=True),
        group=ADAPTATION,
    )
    unlabelled: list[str] = option(
        [],
        help="more tweets to adapt on (read with the training file's data options; labels ignored)",
        rule=strings,
        metavar="FILE",
        group=ADAPTATION,
    )

    def __post_init__(self) -> None:
        if isinstance(self.data, dict):
            self.data = DataConfig(**known_keys(DataConfig, self.data, "data"))
        if not isinstance(self.data, DataConfig):
            raise ConfigError(f"data must be an object of data options, got {self.data!r}")
        # With a validation file the share is unused: it is not checked then.
        validate(self, skip=("val_size",) if self.val_file is not None else ())
        if self.max_length > 512:
            raise ConfigError(f"max_length must be at most 512, got {self.max_length}")
        if self.multi_label and self.label_smoothing:
            raise ConfigError("label_smoothing is single-label only; leave it 0 with multi_label")
        if self.multi_label and self.metric_for_best == "mcc":
            raise ConfigError("metric_for_best mcc is single-label only; use f1_micro or f1_macro")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def with_absolute_paths(self) -> TrainConfig:
        """The same config with its data files as absolute paths: a run's ``config.json`` then
        names the files it trained on from wherever it is repeated or resumed."""
        absolute = {
            name: str(Path(value).absolute())
            for name in ("data_path", "val_file")
            if (value := getattr(self, name))
        }
        if self.unlabelled:
            absolute["unlabelled"] = [str(Path(p).absolute()) for p in self.unlabelled]
        return dataclasses.replace(self, **absolute)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        return cls(**known_keys(cls, values, "configuration"))

    def save(self, path: str | Path) -> None:
        fileio.write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not a readable JSON config ({exc})") from None
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: a config file must hold a JSON object")
        try:
            return cls.from_dict({**ADDED_LATER, **values})
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None


def known_keys(cls, values: dict[str, Any], what: str) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown {what} key(s): {', '.join(unknown)}")
    return values


__all__ = ["FORMATS", "DataConfig", "TrainConfig", "known_keys"]
