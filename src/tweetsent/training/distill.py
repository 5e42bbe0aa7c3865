"""Moved to :mod:`tweetsent.distill`: the old path stays for one release."""

import warnings

from tweetsent.distill import DistillSettings, distill, kept_layers, make_student

warnings.warn(
    "tweetsent.training.distill is deprecated: import from tweetsent.distill",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["DistillSettings", "distill", "kept_layers", "make_student"]
