"""Inference: the predictor (raw tweets → labels), its engines, and prediction over files."""

from tweetsent.inference.files import merge_shards, predict_file
from tweetsent.inference.predictor import TweetClassifier

__all__ = ["TweetClassifier", "merge_shards", "predict_file"]
