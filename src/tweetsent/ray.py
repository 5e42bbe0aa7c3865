"""Moved to :mod:`tweetsent.batch.ray`: the old path stays for one release."""

import warnings

from tweetsent.batch.ray import (
    connect,
    default_workers,
    input_files,
    merge_output,
    predict_dataset,
    predict_files,
    read_input,
)

warnings.warn(
    "tweetsent.ray is deprecated: import from tweetsent.batch.ray", DeprecationWarning, stacklevel=2
)

__all__ = [
    "connect",
    "default_workers",
    "input_files",
    "merge_output",
    "predict_dataset",
    "predict_files",
    "read_input",
]
