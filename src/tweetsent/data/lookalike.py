"""Labels and texts that look like something else: invisible-only strings, and label spellings
that differ only in look-alike letters of other scripts or invisible characters."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from tweetsent.errors import DataError

# Characters that show nothing: whitespace, zero-width and direction marks, word joiners, the
# BOM, Hangul fillers, the braille blank, variation selectors and emoji tag characters. A text
# or label made only of these is empty for every purpose (a tokenizer reads nothing in it).
_VISIBLE = re.compile(
    "[^\\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    "\U000e0000-\U000e007f]"
)


def is_blank(value) -> bool:
    """True for a missing value or a string with nothing visible in it."""
    return not isinstance(value, str) or _VISIBLE.search(value) is None


# Letters of other scripts drawn like Latin ones (Cyrillic, Greek). A label typed with one of
# them is a different string that looks the same, and would silently become a class of its own.
# A short table of our own for the scripts met in practice; Unicode's full confusables list
# (TR39) is in no dependency we have.
_HOMOGLYPHS = str.maketrans(
    "\u0430\u0435\u0456\u0458\u043e\u0440\u0441\u0443\u0445\u0455\u0501\u051b\u051d\u04bb"
    "\u0410\u0412\u0415\u0406\u0408\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0405"
    "\u04ae\u03bf\u03bd\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1"
    "\u03a4\u03a5\u03a7",
    "aeijopcyxsdqwhABEIJKMHOPCTXSYovABEZHIKMNOPTYX",
)


def label_skeleton(label: str) -> str:
    """What a label looks like: compatibility forms folded (NFKC), look-alike letters of other
    scripts mapped to Latin, invisible characters dropped."""
    folded = unicodedata.normalize("NFKC", label).translate(_HOMOGLYPHS)
    return "".join(ch for ch in folded if _VISIBLE.match(ch) or ch == " ")


def check_lookalike_labels(labels: pd.Series, path, sep: str | None = None) -> None:
    """Refuse two different labels that look the same (``'angry'`` with a Cyrillic ``а``)."""
    first_row: dict[str, int] = {}
    for row, value in labels.items():
        for label in value.split(sep) if sep else [value]:
            first_row.setdefault(label.strip(), int(row) + 1)
    seen: dict[str, str] = {}
    for label in first_row:
        key = label_skeleton(label)
        other = seen.setdefault(key, label)
        if other != label:
            where = next(
                (i for i, (a, b) in enumerate(zip(other, label, strict=False)) if a != b),
                min(len(other), len(label)),
            )
            raise DataError(
                f"{path}: labels {ascii(other)} (row {first_row[other]}) and {ascii(label)} "
                f"(row {first_row[label]}) look alike but differ ({_char_name(other, where)} vs "
                f"{_char_name(label, where)}); spell each class one way"
            )


def _char_name(text: str, at: int) -> str:
    if at >= len(text):
        return "nothing"
    return f"U+{ord(text[at]):04X} {unicodedata.name(text[at], 'unnamed')}"


__all__ = ["check_lookalike_labels", "is_blank", "label_skeleton"]
