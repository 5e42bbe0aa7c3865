"""CSV and TSV: the ``pd.read_csv`` options of every read (whole or streamed), a TSV's quoting
told from its text, and the checks pandas leaves to its caller (a header naming a column twice,
a first row longer than the header)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from tweetsent.errors import DataError


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def csv_options(fmt: str, header: bool, sample: str = "") -> dict:
    """``pd.read_csv`` options of every CSV / TSV read, whole or streamed in chunks; ``sample``:
    the text (or its start), from which a TSV's quoting is told."""
    sep = "\t" if fmt == "tsv" else ","
    return {
        "sep": sep,
        "header": 0 if header else None,
        "dtype": str,
        "keep_default_na": False,
        "na_values": [""],
        "quoting": tsv_quoting(sample) if fmt == "tsv" else csv.QUOTE_MINIMAL,
        # In a file of one column a blank line is an empty text: predict keeps one output row
        # per input row. With more columns it is no record, and skipped.
        "skip_blank_lines": sep in sample.split("\n", 1)[0],
        "on_bad_lines": "error",
    }


def check_header(sample: str, fmt: str, header: bool, path) -> None:
    """Refuse a header naming a column twice: pandas would rename the second (``text.1``), and
    the output would not copy the input's columns.

    Raises:
        DataError: a column name appears twice.
    """
    if not header:
        return
    delimiter = "\t" if fmt == "tsv" else ","
    try:
        first = next(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), [])
    except csv.Error:  # pandas names what is malformed
        return
    seen = set()
    for name in first:
        if name in seen and name.strip():
            raise DataError(f"{path}: the header names column {name!r} twice; rename one")
        seen.add(name)


_HEADER_CHARS = 1 << 16  # a header is read from the text's start

_QUOTED_START = re.compile(r'(?:^|\t)"', re.M)


def tsv_quoting(sample: str) -> int:
    """How a TSV quotes. CoLA-style files hold bare quote characters inside sentences (no
    quoting: a quote is a character); pandas' ``to_csv(sep="\t")`` quotes a field that holds a
    tab, a newline or a quote, and doubles its quotes. Quoted when some field starts with a
    quote and reading the sample with quoting gives every record the first one's field count."""
    if not _QUOTED_START.search(sample):
        return csv.QUOTE_NONE
    complete = sample if sample.endswith("\n") else sample[: sample.rfind("\n") + 1]
    try:
        records = list(csv.reader(io.StringIO(complete, newline=""), delimiter="\t", strict=True))
    except csv.Error:
        return csv.QUOTE_NONE
    widths = {len(r) for r in records if r}
    return csv.QUOTE_MINIMAL if len(widths) == 1 else csv.QUOTE_NONE


def read_delimited(text: str, path: Path, fmt: str, header: bool, columns) -> pd.DataFrame:
    check_header(text[:_HEADER_CHARS], fmt, header, path)
    try:
        frame = pd.read_csv(io.StringIO(text), **csv_options(fmt, header, text))
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no rows or columns") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise DataError(f"{path}: malformed {fmt.upper()} ({first_line(exc)})") from None
    return checked_delimited(frame, path, fmt, header, columns)


def checked_delimited(frame: pd.DataFrame, path, fmt: str, header: bool, columns) -> pd.DataFrame:
    """What every CSV / TSV read (whole or a streamed chunk) checks and names after pandas.

    pandas reads a first row with more fields than the header as "the first columns are the
    index": ``hello, world,happy`` under ``text,label`` silently becomes text " world", label
    "happy", and the next rows shift. Refused, as a row with too many fields anywhere else is.
    """
    if not isinstance(frame.index, pd.RangeIndex):
        sep = "tab" if fmt == "tsv" else "comma"
        raise DataError(
            f"{path}: the first row has more fields than the header ({frame.shape[1]}); "
            f"quote a text that holds a {sep}"
        )
    if not header and columns:
        if len(columns) != frame.shape[1]:
            raise DataError(
                f"{path}: expected {len(columns)} columns ({', '.join(columns)}), "
                f"found {frame.shape[1]}"
            )
        frame.columns = columns
    return frame


__all__ = ["check_header", "checked_delimited", "csv_options", "read_delimited", "tsv_quoting"]
