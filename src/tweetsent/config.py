"""Typed, validated configuration for data loading and training.

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
from tweetsent.errors import ConfigError
from tweetsent.rules import (
    AUTO,
    boolean,
    int_or_auto,
    interval,
    is_int,
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

FORMATS = ("csv", "tsv", "jsonl", "parquet")
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
DEVICES = ("auto", "cpu", "cuda")


MODEL = "model and training"
RECIPE = "recipe options"
ADAPTATION = "adaptation (continued pretraining on unlabelled tweets)"


@dataclass
class DataConfig:
    """How to read a labelled table and clean its labels."""

    preset: str | None = option(None, help="a known data set", rule=optional(text))
    text_col: str | int | None = option(None, help="name of the text column")
    label_col: str | int | None = option(None, help="name of the label column")
    format: str | None = option(
        None,
        help="csv | tsv | jsonl | parquet; None: from the file suffix",
        rule=optional(one_of(FORMATS)),
    )
    header: bool | None = option(
        None, help="None: the preset's choice, else True", rule=optional(boolean)
    )
    columns: list[str] | None = option(
        None, help="names for a header-less file", rule=optional(strings)
    )
    encoding: str | None = option(
        None, help="None: UTF-8, with a cp1252 fallback and a warning", rule=optional(text)
    )
    drop_labels: list[str] = option([], help="drop rows with these labels", rule=strings)
    drop_multilabel: str | None = option(
        None, help="drop rows whose label contains this separator", rule=optional(text)
    )
    label_names: dict[str, str] = option({}, help="raw label -> readable name")

    def __post_init__(self) -> None:
        if self.drop_multilabel == "":
            raise ConfigError("drop_multilabel must be a non-empty separator such as '|'")
        for name in ("text_col", "label_col"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) or is_int(value)):
                raise ConfigError(f"{name} must be a column name or position, got {value!r}")
        if self.drop_labels is None or isinstance(self.drop_labels, tuple):
            self.drop_labels = list(self.drop_labels or [])
        if not isinstance(self.label_names, dict):
            raise ConfigError(
                f"label_names must be an object {{label: name}}, got {self.label_names!r}"
            )
        validate(self)
        self.label_names = {str(k): str(v) for k, v in self.label_names.items()}


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
    unlabelled: list[str] = option(
        [],
        help="more tweets to adapt on (read with the training file's data options; labels ignored)",
        rule=strings,
        metavar="FILE",
        group=ADAPTATION,
    )

    def __post_init__(self) -> None:
        if isinstance(self.data, dict):
            self.data = DataConfig(**_known(DataConfig, self.data, "data"))
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
        return cls(**_known(cls, values, "configuration"))

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


@dataclass
class AdaptConfig:
    """Continued pretraining of a backbone on unlabelled tweets (``tweetsent adapt``); saved
    beside the adapted backbone as ``adapt_config.json``.

    The defaults, and why: docs/adapt.md; the measurements: docs/benchmarks.md.
    """

    data_paths: list[str] = option([], help="files of tweets", rule=strings, flag=False)
    data: DataConfig = field(default_factory=DataConfig)
    model: str | None = option(
        None,
        help="Hugging Face id or local directory (default: the embedded MiniLM-L6)",
        rule=optional(text),
        metavar="NAME_OR_DIR",
    )
    objective: str = option(
        "mlm",
        help="mlm (masked-language modelling; a fresh MLM head where the backbone has none) or "
        "simcse (contrastive: a tweet's two dropout views are a pair)",
        rule=one_of(ADAPT_OBJECTIVES),
    )
    epochs: int | str = option(
        AUTO,
        help="passes over the tweets; auto: about 10,000 tweets seen, 1 to 10 passes",
        rule=positive_int_or_auto,
        parse=int_or_auto,
    )
    max_steps: int | None = option(
        None,
        help="stop after N optimizer steps (instead of --epochs)",
        rule=optional(positive_int),
        flag="--steps",
        metavar="N",
    )
    batch_size: int = option(32, help="tweets per optimizer step", rule=positive_int)
    lr: float = option(
        5e-5, help="peak learning rate (linear warm-up, then decay)", rule=positive_number
    )
    warmup_ratio: float = option(
        0.06, help="share of steps for linear warm-up", rule=interval(0, 1, high_open=True)
    )
    weight_decay: float = option(0.01, help="AdamW weight decay", rule=non_negative_number)
    max_length: int = option(
        128, help="truncate texts to N tokens (at most 512)", rule=positive_int
    )
    mask_prob: float = option(
        0.15,
        help="mlm: share of tokens masked",
        rule=interval(0, 1, low_open=True, high_open=True),
    )
    temperature: float = option(
        0.05, help="simcse: softmax temperature of the cosine similarities", rule=positive_number
    )
    normalize: bool = option(
        True,
        help="the classifier's tweet normalisation (mentions, links, entities, mojibake)",
        rule=boolean,
        negatable=True,
    )
    demojize: bool = option(
        True,
        help="emoji written out as their names, as the classifier sees them",
        rule=boolean,
        negatable=True,
    )
    seed: int = option(17, help="seed of masking, shuffling and dropout", rule=seed_rule)
    precision: str = option(
        "auto",
        help="auto: bf16 autocast where the hardware has it natively, else fp32",
        rule=one_of(PRECISIONS),
    )
    device: str = option(
        "auto", help="auto: a CUDA GPU where there is one, else the CPU", rule=one_of(DEVICES)
    )
    save_steps: int = option(
        200,
        help="checkpoint every N optimizer steps, so a killed adaptation resumes",
        rule=positive_int,
        metavar="N",
    )
    allow_pickle: bool = option(
        False,
        help="allow loading pickle (.bin) weights; only for models you trust",
        rule=boolean,
    )

    def __post_init__(self) -> None:
        if isinstance(self.data, dict):
            self.data = DataConfig(**_known(DataConfig, self.data, "data"))
        if not isinstance(self.data, DataConfig):
            raise ConfigError(f"data must be an object of data options, got {self.data!r}")
        if isinstance(self.data_paths, tuple):
            self.data_paths = list(self.data_paths)
        validate(self)
        if self.max_length > 512:
            raise ConfigError(f"max_length must be at most 512, got {self.max_length}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AdaptConfig:
        return cls(**_known(cls, values, "adaptation configuration"))


def _known(cls, values: dict[str, Any], what: str) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown {what} key(s): {', '.join(unknown)}")
    return values
