"""``AdaptConfig``: the settings of an adaptation (``tweetsent adapt``), validated on
construction and saved beside the adapted backbone (``adapt_config.json``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from tweetsent.config import (
    ADAPT_OBJECTIVES,
    PRECISIONS,
    DataConfig,
    known_keys,
)
from tweetsent.errors import ConfigError
from tweetsent.rules import (
    AUTO,
    boolean,
    int_or_auto,
    interval,
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
from tweetsent.rules import seed as seed_rule

DEVICES = ("auto", "cpu", "cuda")


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
    head_warmup: float = option(
        0.0,
        help="mlm: share of the steps that train only the MLM head, the encoder frozen, so a "
        "fresh head's first gradients never reach the encoder",
        rule=interval(0, 1, high_open=True),
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
            self.data = DataConfig(**known_keys(DataConfig, self.data, "data"))
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
        return cls(**known_keys(cls, values, "adaptation configuration"))


__all__ = ["AdaptConfig"]
