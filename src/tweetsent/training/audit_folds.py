"""Moved to :mod:`tweetsent.audit`: the old path stays for one release."""

import warnings

from tweetsent.audit import audit_finetune

warnings.warn(
    "tweetsent.training.audit_folds is deprecated: import from tweetsent.audit",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["audit_finetune"]
