"""tweetsent: fine-tune BERT-family encoders to classify tweets, evaluate, predict and serve.

The public API, one import away (``from tweetsent import train, TweetClassifier``). Importing
it loads pandas and numpy, never torch or transformers: those load when a model is built or
loaded, so a usage or data error is reported before seconds of imports.
"""

from __future__ import annotations

__version__ = "0.2.0"

from tweetsent.adapt import AdaptConfig, AdaptResult, adapt
from tweetsent.audit import AuditResult, audit, audit_finetune, write_audit
from tweetsent.batch import merge_shards, predict_file
from tweetsent.config import DataConfig, TrainConfig
from tweetsent.data.reading import load_labelled
from tweetsent.distill import DistillSettings, distill
from tweetsent.errors import TweetsentError
from tweetsent.evaluation import evaluate
from tweetsent.export import export_run as export
from tweetsent.inference import TweetClassifier
from tweetsent.rundir import RunDir
from tweetsent.serving import ServeConfig, serve
from tweetsent.suggest import suggest, write_suggestions
from tweetsent.training import TrainResult, resume, train
from tweetsent.training.tuning import cross_validate, search

__all__ = [
    "AdaptConfig",
    "AdaptResult",
    "AuditResult",
    "DataConfig",
    "DistillSettings",
    "RunDir",
    "ServeConfig",
    "TrainConfig",
    "TrainResult",
    "TweetClassifier",
    "TweetsentError",
    "__version__",
    "adapt",
    "audit",
    "audit_finetune",
    "cross_validate",
    "distill",
    "evaluate",
    "export",
    "load_labelled",
    "merge_shards",
    "predict_file",
    "resume",
    "search",
    "serve",
    "suggest",
    "train",
    "write_audit",
    "write_suggestions",
]
