"""``tweetsent serve``: the HTTP prediction service and its web page.

The service calls the same :class:`~tweetsent.inference.TweetClassifier` as the CLI and the
Python API; :mod:`~tweetsent.serving.batching` gathers concurrent requests into batches.
"""

from tweetsent.serving.app import create_app
from tweetsent.serving.batching import MicroBatcher
from tweetsent.serving.server import model_info, serve

__all__ = ["MicroBatcher", "create_app", "model_info", "serve"]
