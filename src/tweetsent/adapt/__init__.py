"""Task-adaptive pretraining: ``tweetsent adapt`` and ``train --adapt``.

The backbone continues its pretraining on the user's unlabelled tweets (masked-language
modelling or SimCSE) before it is fine-tuned. torch and transformers load only when an
adaptation runs.
"""

from tweetsent.adapt.config import AdaptConfig
from tweetsent.adapt.core import AdaptResult, adapt, auto_epochs, has_progress, read_texts
from tweetsent.adapt.in_run import adapt_for_run, adaptation_config, check_unlabelled

__all__ = [
    "AdaptConfig",
    "AdaptResult",
    "adapt",
    "adapt_for_run",
    "adaptation_config",
    "auto_epochs",
    "check_unlabelled",
    "has_progress",
    "read_texts",
]
