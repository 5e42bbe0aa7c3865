"""Validation rules and the ``option`` field helper of the config dataclasses.

Each config field names its rule in its metadata; ``validate`` applies them all, so a new
option is one edit (its field) and a wrong value, from a flag or a --config file, is one line
naming the field. Own code rather than pydantic: a dozen rules, and the dataclasses stay plain
(``to_dict`` / ``from_dict`` as Trainer's arguments, no model classes in saved runs).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import field
from typing import Any

from tweetsent.errors import ConfigError


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(name: str, value: Any) -> None:
    if not (is_int(value) and value > 0):
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


AUTO = "auto"


def positive_int_or_auto(name: str, value: Any) -> None:
    if value != AUTO and not (is_int(value) and value > 0):
        raise ConfigError(f"{name} must be a positive integer or auto, got {value!r}")


def int_or_auto(text: str) -> int | str:
    """argparse type of an ``int | "auto"`` option."""
    return text if text == AUTO else int(text)


def non_negative_int(name: str, value: Any) -> None:
    if not (is_int(value) and value >= 0):
        raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")


SEED_RANGE = 2**32  # numpy's and scikit-learn's seeds: 0 .. 2**32 - 1


def seed(name: str, value: Any) -> None:
    if not (is_int(value) and 0 <= value < SEED_RANGE):
        raise ConfigError(f"{name} must be an integer from 0 to {SEED_RANGE - 1}, got {value!r}")


def flag_type(
    kind: type, rule: Callable[[str, Any], None], name: str = "the value"
) -> Callable[[str], Any]:
    """An argparse ``type`` that parses a flag's text with ``kind`` and checks it with ``rule``:
    a hand-written numeric flag keeps the same rule as the config field it stands beside, and a
    bad value is argparse's one-line usage error, never a traceback from deep in a library."""
    import argparse  # the command line's own module; rules are used without it too

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {kind.__name__}: {text!r}") from None
        try:
            rule(name, value)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix("the value ")) from None
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its message
    return parse


def integer(name: str, value: Any) -> None:
    if not is_int(value):
        raise ConfigError(f"{name} must be an integer, got {value!r}")


def positive_number(name: str, value: Any) -> None:
    if not (_is_number(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")


def non_negative_number(name: str, value: Any) -> None:
    if not (_is_number(value) and value >= 0):
        raise ConfigError(f"{name} must be a non-negative number, got {value!r}")


def boolean(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")


def text(name: str, value: Any) -> None:
    if not (isinstance(value, str) and value):
        raise ConfigError(f"{name} must be a non-empty string, got {value!r}")


def optional(rule: Rule) -> Rule:
    def check(name: str, value: Any) -> None:
        if value is not None:
            rule(name, value)

    check.choices = getattr(rule, "choices", None)  # type: ignore[attr-defined]
    return check


def interval(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Rule:
    """A number in [low, high], each end open when asked: ``interval(0, 1, high_open=True)``."""
    shown = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low_open and high_open:
        shown = f"between {low:g} and {high:g} (exclusive)"

    def check(name: str, value: Any) -> None:
        inside = _is_number(value) and (low < value if low_open else low <= value)
        if not (inside and (value < high if high_open else value <= high)):
            raise ConfigError(f"{name} must be {shown}, got {value!r}")

    return check


def between(low: float, high: float, *, integer: bool = False) -> Rule:
    """A number (``integer``: an integer) from ``low`` to ``high``, both included."""

    def check(name: str, value: Any) -> None:
        if integer and not is_int(value):
            raise ConfigError(f"{name} must be an integer, got {value!r}")
        if not (_is_number(value) and low <= value <= high):
            raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value!r}")

    return check


def one_of(choices: tuple[str, ...]) -> Rule:
    def check(name: str, value: Any) -> None:
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")

    check.choices = choices  # type: ignore[attr-defined]  # the CLI lists them
    return check


def strings(name: str, value: Any) -> None:
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise ConfigError(f"{name} must be a list of strings, got {value!r}")


def option(default: Any = dataclasses.MISSING, *, help: str, rule: Rule | None = None, **cli):
    """A config field with its help text, its validation rule and how its flag looks.

    ``cli`` keys: ``flag`` (name, default ``--field-name``; False: no flag), ``metavar``,
    ``group`` (help section), ``negatable`` (booleans: ``--x/--no-x``; else ``--x`` only),
    ``choices``.
    """
    metadata = {"help": help, "rule": rule, **cli}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def validate(config: Any, skip: tuple[str, ...] = ()) -> None:
    for f in dataclasses.fields(config):
        rule = None if f.name in skip else f.metadata.get("rule")
        if rule is not None:
            rule(f.name, getattr(config, f.name))


Rule = Callable[[str, Any], None]
