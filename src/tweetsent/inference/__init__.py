"""Inference: the predictor (raw tweets → labels), its engines and backends, calibration."""

from tweetsent.inference.predictor import TweetClassifier

__all__ = ["TweetClassifier"]
