"""Evaluation: metrics for imbalanced data, scoring a run on a file, the run report, inspection."""

from tweetsent.evaluation.evaluate import evaluate
from tweetsent.evaluation.metrics import classification_metrics, cross_entropy, format_per_class

__all__ = ["classification_metrics", "cross_entropy", "evaluate", "format_per_class"]
