"""Exact and near-duplicate tweets (after tweet normalisation), for ``tweetsent audit`` (copies
that carry different labels) and ``tweetsent suggest`` (a repeated tweet needs one label)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from tweetsent.data.normalize import normalize_tweet

# Two tweets whose character n-gram TF-IDF vectors (of duplicate_key) have at least this cosine
# are near-duplicates: copies that differ by mentions, links or a word or two.
NEAR_DUPLICATE = 0.9


def duplicate_key(text: str) -> str:
    """A tweet reduced to what a copy keeps: normalised (mentions, links, entities, mojibake),
    lower-cased, letters and digits only."""

    text = normalize_tweet(str(text)).lower()
    text = re.sub(r"\b(rt|via)\b|@user|\bhttp\b", " ", text)
    return " ".join(re.findall(r"\w+", text))


def conflicting_duplicates(
    texts: Sequence[str], labels: Sequence[str], rows: Sequence[int] | None = None
) -> pd.DataFrame:
    """Groups of exact or near-duplicate tweets whose labels differ: ``group``, ``row``,
    ``text``, ``given_label``, ``similarity`` (the lowest cosine within the group; 1: exact)."""
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import TfidfVectorizer

    rows = list(rows) if rows is not None else list(range(1, len(texts) + 1))
    keys = [duplicate_key(t) for t in texts]
    columns = ["group", "row", "text", "given_label", "similarity"]
    nonempty = [i for i, k in enumerate(keys) if k]
    if len(nonempty) < 2:
        return pd.DataFrame(columns=columns)
    # Character n-grams within word boundaries: robust to a changed suffix, emoji or typo.
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    matrix = vectors.fit_transform([keys[i] for i in nonempty])
    similar = _similar_pairs(matrix, NEAR_DUPLICATE)
    n_groups, component = connected_components(similar, directed=False)
    out = []
    group_id = 0
    for g in range(n_groups):
        members = np.flatnonzero(component == g)
        if len(members) < 2:
            continue
        original = [nonempty[m] for m in members]
        if len({labels[i] for i in original}) < 2:
            continue  # copies that agree are harmless
        group_id += 1
        block = (matrix[members] @ matrix[members].T).toarray()
        lowest = float(block.min())
        for i in original:
            out.append([group_id, rows[i], texts[i], labels[i], round(min(lowest, 1.0), 4)])
    return pd.DataFrame(out, columns=columns)


def _similar_pairs(matrix, threshold: float, chunk: int = 2048):
    """A sparse adjacency of rows whose cosine (TF-IDF rows are unit length) reaches threshold;
    computed in chunks of rows, so memory stays bounded on large files."""
    from scipy import sparse

    parts = []
    for start in range(0, matrix.shape[0], chunk):
        block = matrix[start : start + chunk] @ matrix.T
        block = block.multiply(block >= threshold - 1e-9)
        parts.append(sparse.csr_matrix(block))
    return sparse.vstack(parts).tocsr()
