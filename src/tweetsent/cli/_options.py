"""Flags generated from a config dataclass's fields, so an option is written once.

Each field of ``TrainConfig`` (and of ``ServeConfig``) carries its help text, rule and flag
shape in its metadata (``tweetsent.rules.option``); this module turns them into argparse
arguments and back into config values. Flags default to ``SUPPRESS``: only what the user typed
overrides a ``--config`` file, a preset or the dataclass's default. The same idea as
transformers' ``HfArgumentParser``, which cannot express our flag shapes (``--early-stopping``,
``--x/--no-x``, groups) or SUPPRESS.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tweetsent.cli._util import DATA_KEYS
from tweetsent.config import DataConfig, TrainConfig
from tweetsent.rules import flag_type
from tweetsent.rundir import RunDir

SUPPRESS = argparse.SUPPRESS


def flag_fields(cls, only: Iterable[str] | None = None) -> list[dataclasses.Field]:
    """The fields of ``cls`` that have a flag, in declaration order (``only``: a subset)."""
    wanted = set(only) if only is not None else None
    return [
        f
        for f in dataclasses.fields(cls)
        if f.metadata.get("flag", True) is not False
        and "help" in f.metadata
        and (wanted is None or f.name in wanted)
    ]


def flag_name(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _base_type(cls, f: dataclasses.Field):
    hint = typing.get_type_hints(cls)[f.name]
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        return hint  # list[str] stays a list
    members = [a for a in typing.get_args(hint) if a is not type(None)]
    return members[0] if members else hint


def _shown(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def add_config_args(parser: argparse.ArgumentParser, cls, only: Iterable[str] | None = None):
    """Add one flag per field of ``cls`` (or of ``only``), grouped by their ``group`` (none:
    the parser's own options).

    The help states the default: where the field's help has ``{default}``, there; else after
    it. Returns the argument groups and the mutually exclusive groups by name, so a command can
    add flags of its own beside them (e.g. ``--bf16`` next to ``--precision``).
    """
    defaults = cls()
    groups: dict[str, argparse._ArgumentGroup] = {}
    exclusive: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for f in flag_fields(cls, only):
        meta = f.metadata
        title = meta.get("group")
        if title is not None and title not in groups:
            groups[title] = parser.add_argument_group(title)
        group = parser if title is None else groups[title]
        if meta.get("exclusive"):
            key = meta["exclusive"]
            group = exclusive.get(key) or exclusive.setdefault(
                key, group.add_mutually_exclusive_group()
            )
        default = getattr(defaults, f.name)
        kind = _base_type(cls, f)
        kwargs: dict = {"dest": f.name, "default": SUPPRESS}
        help_text = meta["help"]
        if "{default}" in help_text:
            help_text = help_text.replace("{default}", _shown(default))
        elif default not in (None, []):
            help_text = f"{help_text}; default {_shown(default)}"
        if kind is bool:
            negatable = meta.get("negatable", False)
            kwargs["action"] = argparse.BooleanOptionalAction if negatable else "store_true"
        elif typing.get_origin(kind) is list:  # --unlabelled A B (repeatable)
            kwargs.update(nargs="+", action="extend", metavar=meta.get("metavar"))
        else:
            kwargs["type"] = meta.get("parse") or _flag_type(kind, meta.get("rule"), f.name)
            choices = _choices(meta)
            if choices:
                kwargs["choices"] = choices
            if meta.get("metavar"):
                kwargs["metavar"] = meta["metavar"]
        group.add_argument(flag_name(f), help=help_text.replace("%", "%%"), **kwargs)
    return groups, exclusive


def _flag_type(kind, rule, name: str):
    """Numbers parsed and checked by the field's own rule, so a bad value is a usage error."""
    if kind not in (int, float):
        return str
    return flag_type(kind, rule, name) if rule is not None else kind


def _choices(meta) -> tuple[str, ...] | None:
    return getattr(meta.get("rule"), "choices", None)  # set by config.one_of


@dataclasses.dataclass(frozen=True)
class Options:
    """A command's options, read from argparse's Namespace once, by :meth:`from_args`.

    Each command declares its own subclass: its fields are the command's options, with the
    value a flag takes when it was not typed (argparse leaves a ``SUPPRESS`` flag out of the
    Namespace). ``flags`` holds every value typed, by destination, for the options that feed a
    config dataclass (``TrainConfig``, ``ServeConfig``, ``DataConfig``); ``gave`` answers "was
    this flag typed". Nothing below a command's function looks at the Namespace.
    """

    flags: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_args(cls, namespace: argparse.Namespace):
        typed = {k: v for k, v in vars(namespace).items() if k != "func"}
        own = {f.name for f in dataclasses.fields(cls)} - {"flags"}
        values = {k: v for k, v in typed.items() if k in own}
        return cls(**values, flags=MappingProxyType(typed))

    def gave(self, name: str) -> bool:
        return name in self.flags

    def data_overrides(self) -> dict:
        """The data options typed (``--text-col`` ...), as ``DataConfig`` fields."""
        return {k: self.flags[k] for k in DATA_KEYS if k in self.flags}

    def data_config(self, base: DataConfig | None = None) -> DataConfig:
        """The data options typed; when none were, ``base`` (e.g. the run's own) if given."""
        given = self.data_overrides()
        if not given and base is not None:
            return base
        return DataConfig(**given)


def given_values(options: Options, cls, only: Iterable[str] | None = None) -> dict:
    """The fields of ``cls`` the user gave a flag for: ``{field: value}``."""
    flags = options.flags
    return {f.name: flags[f.name] for f in flag_fields(cls, only) if f.name in flags}


def given_flags(options: Options, cls, only: Iterable[str] | None = None) -> list[str]:
    return [flag_name(f) for f in flag_fields(cls, only) if f.name in options.flags]


def config_from(options: Options) -> TrainConfig:
    """A TrainConfig from ``--config`` (if given), overridden by the flags typed."""
    flags = options.flags
    values = TrainConfig.load(flags["config"]).to_dict() if "config" in flags else {}
    if "data" in flags:
        values["data_path"] = flags["data"]
    values.update(given_values(options, TrainConfig))
    if "val_file" in flags:
        values["val_size"] = TrainConfig().val_size
    data = dict(values.get("data") or {})
    overrides = options.data_overrides()
    if "preset" in overrides and overrides["preset"] != data.get("preset"):
        data = {}  # a new preset replaces the settings the old one had filled in
    data.update(overrides)
    values["data"] = data
    config = TrainConfig.from_dict(values)
    if "config" in flags:  # repeating a run: on the data it trained on, or say so
        RunDir(Path(flags["config"]).parent).check_inputs_unchanged(config)
    return config
