"""Data presets: the known tweet datasets' formats, columns and label names, by name."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass

from tweetsent.config import DataConfig
from tweetsent.errors import ConfigError


@dataclass(frozen=True)
class Preset:
    description: str
    settings: dict


PRESETS: dict[str, Preset] = {
    "smile": Preset(
        "SMILE Twitter Emotion: CSV, no header (id,text,category); drops 'nocode' and "
        "multi-label rows such as 'happy|sad'",
        dict(
            format="csv",
            header=False,
            columns=["id", "text", "category"],
            text_col="text",
            label_col="category",
            drop_labels=["nocode"],
            drop_multilabel="|",
        ),
    ),
    "covid": Preset(
        "Coronavirus tweets NLP: CSV with header, OriginalTweet / Sentiment, ISO-8859-1",
        dict(
            format="csv",
            header=True,
            text_col="OriginalTweet",
            label_col="Sentiment",
            encoding="ISO-8859-1",
        ),
    ),
    "climate": Preset(
        "Twitter climate-change sentiment: CSV with header, message / sentiment "
        "(-1 anti, 0 neutral, 1 pro, 2 news)",
        dict(
            format="csv",
            header=True,
            text_col="message",
            label_col="sentiment",
            label_names={"-1": "anti", "0": "neutral", "1": "pro", "2": "news"},
        ),
    ),
    "cola": Preset(
        "CoLA: TSV, no header (source, label, notes, sentence); 0 unacceptable, 1 acceptable",
        dict(
            format="tsv",
            header=False,
            columns=["source", "label", "notes", "sentence"],
            text_col="sentence",
            label_col="label",
            label_names={"0": "unacceptable", "1": "acceptable"},
        ),
    ),
}


def resolve_data_config(cfg: DataConfig) -> DataConfig:
    """Fill the fields a preset defines and the user left unset; explicit settings win."""
    if cfg.preset is None:
        return cfg
    if cfg.preset not in PRESETS:
        raise ConfigError(
            f"unknown preset {cfg.preset!r}; choose one of {', '.join(PRESETS)}"
            + suggest(cfg.preset, PRESETS)
        )
    values = dataclasses.asdict(cfg)
    for key, value in PRESETS[cfg.preset].settings.items():
        if key in ADDITIVE_KEYS:  # the preset's list, then the user's additions
            values[key] = list(dict.fromkeys([*value, *(values.get(key) or [])]))
        elif values.get(key) in (None, [], {}):
            values[key] = value
    return DataConfig(**values)


# List options that add to a preset's list instead of replacing it: `--preset smile
# --drop-labels surprise` still drops SMILE's 'nocode' rows.
ADDITIVE_KEYS = ("drop_labels",)


def suggest(word: str, options) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=3, cutoff=0.5)
    if not close:
        # Case-only differences (sentiment vs Sentiment) score low with difflib.
        close = [str(o) for o in options if str(o).lower() == str(word).lower()]
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


__all__ = ["PRESETS", "Preset", "resolve_data_config", "suggest"]
