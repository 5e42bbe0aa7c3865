"""Models: finding and loading backbones, tokenizers and fine-tuned classifiers, and their heads."""

from tweetsent.modeling.loading import (
    build_classifier,
    default_model_path,
    load_classifier,
    load_tokenizer,
    resolve_model,
)

__all__ = [
    "build_classifier",
    "default_model_path",
    "load_classifier",
    "load_tokenizer",
    "resolve_model",
]
