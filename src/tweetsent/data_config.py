"""``DataConfig``: how to read a labelled table and clean its labels (``--text-col``,
``--preset`` ...), validated on construction; part of every run's ``config.json``."""

from __future__ import annotations

from dataclasses import dataclass

from tweetsent.errors import ConfigError
from tweetsent.rules import boolean, is_int, one_of, option, optional, strings, text, validate

FORMATS = ("csv", "tsv", "jsonl", "parquet")


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


__all__ = ["FORMATS", "DataConfig"]
