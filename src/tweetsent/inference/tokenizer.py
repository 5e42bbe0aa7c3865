"""A run's saved ``tokenizer.json`` through the ``tokenizers`` library alone.

Why not ``AutoTokenizer``: it imports transformers (and with it torch), seconds of start-up that
``tweetsent predict`` / ``serve`` with an ONNX export otherwise never pay. transformers' fast
tokenizers are this same ``tokenizers.Tokenizer`` read from the same file, with truncation set
as below, so the token ids are the same (tested against ``AutoTokenizer``).
"""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_INPUTS = ["input_ids", "token_type_ids", "attention_mask"]


class SavedTokenizer:
    """The part of a transformers fast tokenizer that :class:`TweetClassifier` calls."""

    def __init__(self, folder: str | Path):
        from tokenizers import Tokenizer

        folder = Path(folder)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._max_length = None
        try:
            settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            settings = {}
        pad = settings.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        self.pad_token_id = self._tokenizer.token_to_id(pad) if pad else None
        self.model_input_names = settings.get("model_input_names") or DEFAULT_INPUTS

    def __len__(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    @staticmethod
    def available(folder: str | Path) -> bool:
        return (Path(folder) / "tokenizer.json").is_file()

    def __call__(self, texts: list[str], *, truncation: bool = True, max_length=None, **_):
        """``{"input_ids": [[...], ...]}`` without padding, special tokens added, as
        ``tokenizer(texts, truncation=True, max_length=N, padding=False)`` gives."""
        length = max_length if truncation else None
        if length != self._max_length:
            if length:
                # transformers' defaults: longest_first, stride 0, from the right
                self._tokenizer.enable_truncation(length)
            else:
                self._tokenizer.no_truncation()
            self._max_length = length
        return {"input_ids": [e.ids for e in self._tokenizer.encode_batch(list(texts))]}


__all__ = ["SavedTokenizer"]
