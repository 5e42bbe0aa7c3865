"""tweetsent: fine-tune BERT-family encoders to classify tweets, evaluate, predict and serve."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "DataConfig",
    "TrainConfig",
    "TweetClassifier",
    "TweetsentError",
    "evaluate",
    "load_labelled",
    "train",
    "__version__",
]


def __getattr__(name: str):
    # Lazy: `tweetsent --help` and `import tweetsent` stay fast (no torch import).
    if name in ("DataConfig", "TrainConfig"):
        from tweetsent import config

        return getattr(config, name)
    if name == "TweetClassifier":
        from tweetsent.inference.predictor import TweetClassifier

        return TweetClassifier
    if name == "TweetsentError":
        from tweetsent.errors import TweetsentError

        return TweetsentError
    if name == "train":
        from tweetsent.training.run import train

        return train
    if name == "evaluate":
        from tweetsent.evaluation.evaluate import evaluate

        return evaluate
    if name == "load_labelled":
        from tweetsent.data.reading import load_labelled

        return load_labelled
    raise AttributeError(f"module 'tweetsent' has no attribute {name!r}")
