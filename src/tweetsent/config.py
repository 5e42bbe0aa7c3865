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

from tweetsent.errors import ConfigError

FORMATS = ("csv", "tsv", "jsonl", "parquet")
METRICS = ("f1_weighted", "f1_macro", "f1_micro", "accuracy", "mcc", "loss")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
SCHEDULERS = ("linear", "onecycle")
OPTIMIZERS = ("adamw", "sgd")
HEADS = ("linear", "mlp")
MULTI_LABEL_ROWS = ("drop", "soft")
CLASS_WEIGHTS = ("none", "balanced", "sqrt")  # or the path of a JSON file {label: weight}


@dataclass
class DataConfig:
    """How to read a labelled table and clean its labels."""

    preset: str | None = None
    text_col: str | None = None
    label_col: str | None = None
    format: str | None = None  # csv | tsv | jsonl | parquet; None: from the file suffix
    header: bool | None = None  # None: the preset's choice, else True
    columns: list[str] | None = None  # names for a header-less file
    encoding: str | None = None  # None: UTF-8, with a cp1252 fallback and a warning
    drop_labels: list[str] = field(default_factory=list)
    drop_multilabel: str | None = None  # drop rows whose label contains this separator
    label_names: dict[str, str] = field(default_factory=dict)  # raw label -> readable name

    def __post_init__(self) -> None:
        if self.format is not None and self.format not in FORMATS:
            raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.drop_multilabel == "":
            raise ConfigError("drop_multilabel must be a non-empty separator such as '|'")
        self.drop_labels = list(self.drop_labels or [])
        self.label_names = {str(k): str(v) for k, v in (self.label_names or {}).items()}


# Settings that runs saved before them did not have, with the behaviour those runs had: a saved
# config.json without the key reloads (to predict, resume or repeat) as it ran, not with
# today's default.
ADDED_LATER = {"demojize": False, "multi_label_rows": "drop"}


@dataclass
class TrainConfig:
    """Everything a training run depends on; saved as ``config.json`` in the run directory."""

    data_path: str | None = None
    data: DataConfig = field(default_factory=DataConfig)
    model: str | None = None  # Hugging Face id or local directory; None: the embedded MiniLM
    # 6 epochs at batch 8 (with --demojize and soft multi-label rows): SMILE 3-seed mean 0.873 /
    # 0.623 f1_weighted / f1_macro, against 0.868 / 0.594 at 8 epochs of batch 16, in 3/4 of
    # the time of 8 epochs at batch 8 (bench/RESULTS.md, Quality).
    epochs: int = 6
    batch_size: int = 8
    eval_batch_size: int = 64
    lr: float = 1e-4
    max_length: int = 128
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    val_size: float = 0.15
    val_file: str | None = None
    # ``seed`` drives training randomness (head init, shuffling, dropout); ``split_seed`` the
    # train/validation split, so seeds 17, 18, 19 compare training runs on ONE split (the
    # tutorials' random_state=17) instead of mixing split luck into the spread.
    seed: int = 17
    split_seed: int = 17
    limit: int | None = None
    metric_for_best: str = "f1_weighted"
    precision: str = "auto"  # auto: bf16 autocast where the CPU/GPU has native bf16, else fp32
    save_steps: int | None = None  # also checkpoint every N optimizer steps (None: epoch ends)
    allow_pickle: bool = False  # load .bin (pickle) weights; off: safetensors only
    # Stop when metric_for_best has not improved for this many epochs (0: never stop early).
    early_stopping_patience: int = 3
    # none | balanced | sqrt | path of a JSON file {label: weight}. Multi-label runs: the
    # per-label weight of BCE's positive term (balanced: negatives / positives).
    class_weights: str = "sqrt"
    normalize: bool = True  # tweetsent.normalize.normalize_tweet at training AND prediction
    # Emoji -> their names ("😱" -> "face screaming in fear") at training and prediction: the
    # uncased vocabulary reads emoji as [UNK]. SMILE 3-seed mean +0.006 f1_weighted, +0.003
    # f1_macro alone; more in combination with soft multi-label rows.
    demojize: bool = True
    multi_label: bool = False  # labels such as "happy|surprise": sigmoid head, one set per text
    label_sep: str = "|"  # separator of the labels of one multi-label row
    scheduler: str = "linear"  # linear warm-up then decay | onecycle (torch OneCycleLR)
    optimizer: str = "adamw"  # adamw | sgd (momentum 0.9)
    freeze_encoder: bool = False  # train the classification head only
    freeze_layers: int = 0  # freeze the embeddings and the lowest N transformer layers
    # Keep the token embedding matrix (about half of MiniLM's weights) as pretrained: no dense
    # gradient, clipping or AdamW update of 30k rows of which a batch touches a few hundred.
    # Off by default: ~1.2x faster training here, but f1_macro -0.016 over 7 SMILE seeds.
    freeze_word_embeddings: bool = False
    head: str = "linear"  # linear (the model's own) | mlp (Linear-GELU-Dropout-Linear)
    # Learning rate of the freshly initialised head (classifier and pooler); None: ``lr``. With
    # layer_lr_decay 0.9 it lifted the SMILE 3-seed mean by +0.012 f1_weighted and +0.044
    # f1_macro over one lr for all (decay 0.8: +0.007 / +0.031; bench/RESULTS.md, Quality).
    head_lr: float | None = 1e-3
    # Layer-wise lr decay: transformer layer i (0 = lowest) of N trains at lr * decay ** (N - i),
    # the embeddings at lr * decay ** (N + 1); 1.0 is one lr for the whole encoder.
    layer_lr_decay: float = 0.9
    # Cross-entropy against (1 - e) * one-hot + e / classes (single-label only); 0: plain targets.
    label_smoothing: float = 0.0
    # Single-label runs: the rows cleaning marks as multi-label (data.drop_multilabel, e.g. the
    # SMILE preset's "happy|surprise") are dropped as the tutorials do, or "soft": added to the
    # training rows (never to validation) with the probability shared evenly between labels.
    # Multi-label runs ignore it: they keep those rows as label sets.
    multi_label_rows: str = "soft"

    def __post_init__(self) -> None:
        if isinstance(self.data, dict):
            self.data = DataConfig(**self.data)
        _positive_int("epochs", self.epochs)
        _positive_int("batch_size", self.batch_size)
        _positive_int("eval_batch_size", self.eval_batch_size)
        _positive_int("max_length", self.max_length)
        if self.max_length > 512:
            raise ConfigError(f"max_length must be at most 512, got {self.max_length}")
        if not (isinstance(self.lr, int | float) and self.lr > 0):
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}")
        if self.head_lr is not None and not (
            isinstance(self.head_lr, int | float) and self.head_lr > 0
        ):
            raise ConfigError(f"head_lr must be a positive number, got {self.head_lr!r}")
        if not (isinstance(self.layer_lr_decay, int | float) and 0 < self.layer_lr_decay <= 1):
            raise ConfigError(f"layer_lr_decay must be in (0, 1], got {self.layer_lr_decay!r}")
        if not (isinstance(self.label_smoothing, int | float) and 0 <= self.label_smoothing < 1):
            raise ConfigError(f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}")
        if self.multi_label and self.label_smoothing:
            raise ConfigError("label_smoothing is single-label only; leave it 0 with multi_label")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.max_grad_norm <= 0:
            raise ConfigError(f"max_grad_norm must be > 0, got {self.max_grad_norm}")
        if self.val_file is None and not 0 < self.val_size < 1:
            raise ConfigError(f"val_size must be between 0 and 1 (exclusive), got {self.val_size}")
        if self.limit is not None:
            _positive_int("limit", self.limit)
        if self.save_steps is not None:
            _positive_int("save_steps", self.save_steps)
        if self.metric_for_best not in METRICS:
            raise ConfigError(
                f"metric_for_best must be one of {', '.join(METRICS)}, got {self.metric_for_best!r}"
            )
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        for name, value, choices in (
            ("scheduler", self.scheduler, SCHEDULERS),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("head", self.head, HEADS),
            ("multi_label_rows", self.multi_label_rows, MULTI_LABEL_ROWS),
        ):
            if value not in choices:
                raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        if not isinstance(self.class_weights, str) or not self.class_weights:
            raise ConfigError(
                f"class_weights must be {', '.join(CLASS_WEIGHTS)} or a JSON file, "
                f"got {self.class_weights!r}"
            )
        for name in (
            "normalize",
            "demojize",
            "multi_label",
            "freeze_encoder",
            "freeze_word_embeddings",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        for name in ("early_stopping_patience", "freeze_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
        if not isinstance(self.label_sep, str) or not self.label_sep:
            raise ConfigError("label_sep must be a non-empty separator such as '|'")
        if self.multi_label and self.metric_for_best == "mcc":
            raise ConfigError("metric_for_best mcc is single-label only; use f1_micro or f1_macro")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown configuration key(s): {', '.join(unknown)}")
        return cls(**values)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

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
        return cls.from_dict({**ADDED_LATER, **values})


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


@dataclass
class ServeConfig:
    """How ``tweetsent serve`` listens, gathers requests into batches, and limits input."""

    host: str = "127.0.0.1"  # loopback: the service has no authentication
    port: int = 8000  # 0: any free port (the log says which)
    max_batch_size: int = 64  # texts per forward pass, gathered from concurrent requests
    max_wait_ms: float = 5.0  # how long the oldest queued request may wait for company
    max_queue: int = 2048  # texts waiting for the model before requests get 503
    max_texts: int = 64  # texts in one request
    max_text_chars: int = 2000  # characters in one text
    max_body_bytes: int = 1_048_576  # bytes in one request body
    graceful_timeout: float = 30.0  # seconds in-flight requests get to finish on shutdown
    access_log: bool = True
    # Slow or silent clients: a request's headers must arrive within header_timeout seconds of
    # the connection (or the request) starting, its body within body_timeout; connections
    # beyond max_connections get 503.
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 1024

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("host must not be empty")
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ConfigError(f"port must be an integer, got {self.port!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be between 0 and 65535, got {self.port}")
        limits = ("max_batch_size", "max_queue", "max_texts", "max_text_chars", "max_body_bytes")
        for name in limits:
            _positive_int(name, getattr(self, name))
        if not 0 <= self.max_wait_ms <= 10_000:
            raise ConfigError(f"max_wait_ms must be between 0 and 10000, got {self.max_wait_ms}")
        for name in ("graceful_timeout", "header_timeout", "body_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        _positive_int("max_connections", self.max_connections)
        if self.max_queue < self.max_texts:
            raise ConfigError(
                f"max_queue ({self.max_queue}) must be at least max_texts ({self.max_texts}), "
                "or a full request could never be queued"
            )
