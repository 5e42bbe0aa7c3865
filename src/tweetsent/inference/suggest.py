"""Moved to :mod:`tweetsent.suggest`: the old path stays for one release."""

import warnings

from tweetsent.suggest import STRATEGIES, select, suggest, uncertainty, write_suggestions

warnings.warn(
    "tweetsent.inference.suggest is deprecated: import from tweetsent.suggest",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["STRATEGIES", "select", "suggest", "uncertainty", "write_suggestions"]
