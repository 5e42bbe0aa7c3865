"""The stratified train / validation split."""

from __future__ import annotations

from collections import Counter

from tweetsent.data.reading import LabelledData
from tweetsent.errors import DataError


def stratified_split(
    data: LabelledData, val_size: float, seed: int
) -> tuple[LabelledData, LabelledData]:
    """Split keeping class proportions, as ``train_test_split(..., stratify=labels)`` does."""
    from sklearn.model_selection import train_test_split

    counts = Counter(data.labels)
    if len(counts) < 2:
        raise DataError(
            f"{data.source}: only one class ({next(iter(counts))!r}); "
            "a classifier needs at least two"
        )
    small = sorted((n, label) for label, n in counts.items() if n < 2)
    if small:
        n, label = small[0]
        raise DataError(
            f"{data.source}: class {label!r} has only {n} row; a stratified split needs at "
            f"least 2 per class (drop it with --drop-labels {label!r} or add rows)"
        )
    n_val = int(-(-val_size * len(data) // 1))  # ceil, as scikit-learn does
    if n_val < len(counts) or len(data) - n_val < len(counts):
        raise DataError(
            f"{data.source}: {len(data)} rows cannot be split {1 - val_size:.0%}/{val_size:.0%} "
            f"with every one of the {len(counts)} classes on both sides; change --val-size"
        )
    train_idx, val_idx = train_test_split(
        list(range(len(data))), test_size=val_size, random_state=seed, stratify=data.labels
    )
    train = data.subset(train_idx)
    train.dropped = dict(data.dropped)  # what cleaning dropped from the file: the run's summary
    return train, data.subset(val_idx)


__all__ = ["stratified_split"]
