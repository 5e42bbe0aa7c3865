"""Training: the run (``train``, ``resume``), the fit, the Trainer recipe, losses, callbacks,
checkpoints, distributed runs, cross-validation / search, and the TF-IDF baseline."""

from tweetsent.data.prepare import prepare_data
from tweetsent.training.run import TrainResult, resume, train

__all__ = ["TrainResult", "prepare_data", "resume", "train"]
