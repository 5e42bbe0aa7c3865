"""Moved to :mod:`tweetsent.audit`: the old path stays for one release."""

import warnings

from tweetsent.audit import AuditResult, audit, audit_markdown, write_audit

warnings.warn(
    "tweetsent.evaluation.audit is deprecated: import from tweetsent.audit",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["AuditResult", "audit", "audit_markdown", "write_audit"]
