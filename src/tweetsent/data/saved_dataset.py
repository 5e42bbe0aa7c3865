"""Hugging Face ``datasets`` folders (``save_to_disk``) as data, beside files."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from tweetsent.errors import DataError

logger = logging.getLogger(__name__)


def is_saved_dataset(path: Path) -> bool:
    """A folder written by Hugging Face ``datasets``' ``save_to_disk`` (one split or several)."""
    return path.is_dir() and any(
        (path / name).is_file() for name in ("dataset_info.json", "dataset_dict.json")
    )


def read_saved_dataset(path: Path) -> pd.DataFrame:
    """A ``save_to_disk`` folder as a frame: a Dataset, or a DatasetDict's ``train`` split (its
    only one when there is one); class-label columns as their names, as in a file."""
    from datasets import DatasetDict, load_from_disk

    try:
        dataset = load_from_disk(str(path))
    except Exception as exc:  # datasets raises many types for a damaged folder
        raise DataError(f"{path}: not a readable datasets folder ({first_line(exc)})") from None
    if isinstance(dataset, DatasetDict):
        splits = list(dataset)
        if "train" not in splits and len(splits) != 1:
            raise DataError(
                f"{path}: splits {', '.join(splits)} and none named 'train'; "
                f"give one split's folder ({path}/{splits[0]})"
            )
        split = "train" if "train" in splits else splits[0]
        logger.info("%s: reading its %r split", path, split)
        dataset = dataset[split]
    frame = dataset.to_pandas()
    for name, feature in dataset.features.items():
        if hasattr(feature, "int2str") and name in frame:  # ClassLabel: ids -> names
            frame[name] = frame[name].map(
                lambda i, f=feature: f.int2str(int(i)) if i >= 0 else None
            )
    return frame  # reading.read_table turns the cells into strings, as for every table


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


__all__ = ["is_saved_dataset", "read_saved_dataset"]
