"""``tweetsent serve``: the HTTP prediction service and its web page.

The service calls the same :class:`~tweetsent.inference.TweetClassifier` as the CLI and the
Python API; :mod:`~tweetsent.serving.batching` gathers concurrent requests into batches;
:func:`~tweetsent.serving.app.create_app` builds the FastAPI application.
"""

from tweetsent.serving.batching import MicroBatcher
from tweetsent.serving.server import model_info, serve
from tweetsent.serving.settings import ServeConfig

__all__ = ["MicroBatcher", "ServeConfig", "model_info", "serve"]
