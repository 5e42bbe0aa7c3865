"""Inference: the predictor (raw tweets → labels), its engines, and prediction over files."""

# Lazy (PEP 562): `tweetsent predict RUN "a tweet"` needs neither pandas (files) nor, with an
# ONNX export, torch or transformers; importing them here would cost seconds of start-up.
_WHERE = {
    "TweetClassifier": "predictor",
    "merge_shards": "files",
    "predict_file": "files",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'tweetsent.inference' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"tweetsent.inference.{_WHERE[name]}"), name)
