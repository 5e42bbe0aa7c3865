"""Cells of the CSV files we write, made safe to open in a spreadsheet."""

from __future__ import annotations

import re

# A cell starting with one of these is run as a formula by spreadsheet programs (CSV
# injection): '=HYPERLINK(...)' as a label or tweet must arrive as text. OWASP's advice, done
# here because pandas' to_csv has no such option: prefix such cells with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value):
    """``value``, or ``'value`` when a spreadsheet would read it as a formula (numbers such as
    ``-1`` stay as they are: a number is not a formula)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


__all__ = ["spreadsheet_safe"]
