"""Looking at a labelled file before training: class balance and token lengths."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tweetsent import fileio
from tweetsent.config import DataConfig
from tweetsent.data.reading import LabelledData, load_labelled
from tweetsent.modeling.loading import load_tokenizer, resolve_model

logger = logging.getLogger(__name__)

IMBALANCE_RATIO = 10.0  # largest / smallest class above this gets a warning
MIN_SPLIT_ROWS = 2  # a stratified split needs at least this many rows in a class


@dataclass
class Inspection:
    data: LabelledData
    distribution: pd.DataFrame
    token_lengths: np.ndarray
    length_stats: dict
    suggested_max_length: int
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "rows": len(self.data),
            "dropped": self.data.dropped,
            "distribution": self.distribution.to_dict(orient="records"),
            "token_lengths": self.length_stats,
            "suggested_max_length": self.suggested_max_length,
            "warnings": self.warnings,
        }


def suggest_max_length(lengths: np.ndarray) -> int:
    """The 99th percentile rounded up to a multiple of 8, capped at 512: few tweets truncated."""
    p99 = float(np.percentile(lengths, 99)) if len(lengths) else 8
    return int(min(512, max(8, 8 * int(np.ceil(p99 / 8)))))


def inspect_data(
    path: str | Path, data_config: DataConfig, *, model: str | None = None, limit: int | None = None
) -> Inspection:

    data = load_labelled(path, data_config, limit=limit)
    tokenizer = load_tokenizer(resolve_model(model))
    lengths = np.array([len(ids) for ids in tokenizer(data.texts, truncation=False)["input_ids"]])
    stats = {
        "mean": float(lengths.mean()),
        "p50": float(np.percentile(lengths, 50)),
        "p95": float(np.percentile(lengths, 95)),
        "p99": float(np.percentile(lengths, 99)),
        "max": int(lengths.max()),
    }
    dist = data.distribution()
    warnings = []
    counts = dist.set_index("label")["count"]
    if len(counts) == 1:
        warnings.append(f"only one class ({counts.index[0]!r}): nothing to classify")
    elif counts.max() / counts.min() > IMBALANCE_RATIO:
        warnings.append(
            f"strong imbalance: {counts.idxmax()!r} has {counts.max()} rows, {counts.idxmin()!r} "
            f"only {counts.min()} ({counts.max() / counts.min():.0f}x); watch f1_macro and "
            "per-class accuracy, not accuracy alone"
        )
    for label, n in counts.items():
        if n < MIN_SPLIT_ROWS:
            warnings.append(
                f"class {label!r} has {n} row(s): too few to split; drop it (--drop-labels) "
                "or add rows"
            )
    if stats["max"] > 512:
        warnings.append(f"{int((lengths > 512).sum())} text(s) exceed 512 tokens and are truncated")
    return Inspection(data, dist, lengths, stats, suggest_max_length(lengths), warnings)


def plot_inspection(result: Inspection, path: str | Path) -> None:
    """One PNG: class distribution (left) and token-length histogram (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    dist = result.distribution
    left.barh(dist["label"][::-1], dist["count"][::-1], color="tab:blue")
    for y, (count, pct) in enumerate(zip(dist["count"][::-1], dist["percent"][::-1], strict=True)):
        left.text(count, y, f" {count} ({pct:.1f}%)", va="center", fontsize=8)
    # Room on the right for the longest bar's annotation, which would cross the frame.
    left.set_xlim(0, dist["count"].max() * 1.35)
    left.set(title="Class distribution", xlabel="rows")
    right.hist(result.token_lengths, bins=40, color="tab:orange")
    right.axvline(
        result.suggested_max_length,
        color="black",
        ls="--",
        label=f"suggested max length {result.suggested_max_length}",
    )
    right.set(title="Tokens per text", xlabel="tokens", ylabel="texts")
    right.legend(fontsize=8)
    fig.tight_layout()
    try:
        with fileio.atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
