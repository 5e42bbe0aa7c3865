"""``tweetsent serve``: the HTTP prediction service and its web page.

The service calls the same :class:`~tweetsent.inference.TweetClassifier` as the CLI and the
Python API; :mod:`~tweetsent.serving.batching` gathers concurrent requests into batches.
"""

from __future__ import annotations

import importlib

# Loaded on first use: the CLI reads ServeConfig (serving.settings) to build its flags, and
# `tweetsent --help` must not import FastAPI for that.
_LAZY = {
    "create_app": "tweetsent.serving.app",
    "MicroBatcher": "tweetsent.serving.batching",
    "model_info": "tweetsent.serving.server",
    "serve": "tweetsent.serving.server",
}

__all__ = ["MicroBatcher", "create_app", "model_info", "serve"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
