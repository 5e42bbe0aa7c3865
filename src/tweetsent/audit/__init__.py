"""``tweetsent audit``: find labels that are likely wrong, and duplicates that disagree.

Confident learning (cleanlab) over out-of-fold probabilities: from a linear probe on sentence
embeddings (:func:`audit`, fast) or from fine-tuned runs, one per fold
(:func:`audit_finetune`, slower and sharper).
"""

from tweetsent.audit.core import audit
from tweetsent.audit.folds import audit_finetune
from tweetsent.audit.report import AuditResult, audit_markdown, write_audit

__all__ = ["AuditResult", "audit", "audit_finetune", "audit_markdown", "write_audit"]
