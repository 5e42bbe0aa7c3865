"""Moved to :mod:`tweetsent.batch.spark`: the old path stays for one release."""

import warnings

from tweetsent.batch.spark import predict_udf, run_labels

warnings.warn(
    "tweetsent.spark is deprecated: import from tweetsent.batch.spark",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["predict_udf", "run_labels"]
