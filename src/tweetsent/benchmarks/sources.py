"""The tweets a benchmark runs on: data files (with presets) and a run's own validation split."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from tweetsent.config import DataConfig
from tweetsent.data.prepare import prepare_data
from tweetsent.data.presets import PRESETS
from tweetsent.data.reading import LabelledData, load_texts
from tweetsent.errors import ConfigError, DataError
from tweetsent.rundir import RunDir


def parse_source(spec: str) -> tuple[str, DataConfig]:
    """``FILE`` or ``FILE:PRESET`` (e.g. ``Corona_NLP_test.csv:covid``)."""
    path, sep, preset = spec.rpartition(":")
    if sep and preset in PRESETS:
        return path, DataConfig(preset=preset)
    return spec, DataConfig()


def sample_texts(sources: Sequence[tuple[str | Path, DataConfig]], n: int) -> list[str]:
    """Up to ``n`` tweets, an equal share from each source (its first rows, in file order)."""
    if n <= 0:
        raise ConfigError(f"the number of tweets must be positive, got {n}")
    if not sources:
        raise ConfigError("no data to benchmark on")
    share = math.ceil(n / len(sources))
    texts: list[str] = []
    for path, config in sources:
        texts.extend(t for t in load_texts(path, config)[:share])
    if not texts:
        raise DataError("the benchmark data holds no tweets")
    return texts[:n]


def run_validation(run_dir: str | Path) -> LabelledData | None:
    """The validation split a run was trained with, re-made from its config (None if unknown)."""
    config = RunDir(run_dir).read_config()
    if config is None:
        return None
    if not config.data_path or not Path(config.data_path).is_file():
        return None
    return prepare_data(config)[1]


def load_sources(specs: Sequence[str]) -> list[tuple[str, DataConfig]]:
    return [parse_source(spec) for spec in specs]


__all__ = ["load_sources", "parse_source", "run_validation", "sample_texts"]
