"""Sentence embeddings from a frozen encoder: the features of ``tweetsent audit``'s fast mode
and of ``tweetsent suggest``'s diversity step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tweetsent.errors import ModelError
from tweetsent.modeling.loading import load_tokenizer, resolve_model


def sentence_embeddings(
    texts: Sequence[str], model: str | None = None, *, batch_size: int = 64
) -> np.ndarray:
    """L2-normalised mean-pooled last hidden states of a frozen encoder, one row per text.

    The embedded MiniLM is a sentence-transformers model trained for exactly this pooling.
    Texts are sorted by length and padded per batch, so little work is spent on padding.
    """
    import torch
    from transformers import AutoModel

    name = resolve_model(model)
    tokenizer = load_tokenizer(name)
    try:
        encoder = AutoModel.from_pretrained(name, use_safetensors=True, trust_remote_code=False)
    except Exception as exc:
        raise ModelError(f"{name}: cannot load the encoder ({exc})") from None
    encoder.eval()
    texts = list(texts)
    out = np.zeros((len(texts), encoder.config.hidden_size), dtype=np.float32)
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=128)["input_ids"]]
    order = np.argsort(lengths, kind="stable")
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer(
                [texts[i] for i in rows],
                truncation=True,
                max_length=128,
                padding=True,
                return_tensors="pt",
            )
            hidden = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            out[rows] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return out
