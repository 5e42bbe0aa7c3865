"""Reading labelled tweet tables: formats, decoding, columns and label cleaning."""

from __future__ import annotations

import csv
import io
import json
import logging
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tweetsent import fileio
from tweetsent.config import DataConfig
from tweetsent.data.checks import read_bytes_checked
from tweetsent.data.delimited import (
    first_line,
    read_delimited,
)
from tweetsent.data.encoding import decode_bytes
from tweetsent.data.lookalike import check_lookalike_labels, is_blank
from tweetsent.data.presets import resolve_data_config, suggest
from tweetsent.data.saved_dataset import is_saved_dataset, read_saved_dataset
from tweetsent.errors import ConfigError, DataError
from tweetsent.rules import positive_int

logger = logging.getLogger(__name__)


SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass
class LabelledData:
    """Texts with their string labels, and how many rows cleaning dropped and why."""

    texts: list[str]
    labels: list[str]
    source: str = ""
    dropped: dict[str, int] = field(default_factory=dict)
    # Each kept row's number in the file (1 = the first data row), where loaded from a file.
    rows: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def label_set(self) -> list[str]:
        return sorted(set(self.labels))

    def distribution(self) -> pd.DataFrame:
        """Class counts and percentages, largest class first."""
        counts = Counter(self.labels)
        frame = pd.DataFrame(
            sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), columns=["label", "count"]
        )
        frame["percent"] = 100.0 * frame["count"] / max(len(self.labels), 1)
        return frame

    def subset(self, indices) -> LabelledData:
        indices = list(indices)
        rows = [self.rows[i] for i in indices] if self.rows else []
        texts, labels = [self.texts[i] for i in indices], [self.labels[i] for i in indices]
        return LabelledData(texts, labels, self.source, {}, rows)


def detect_format(path: Path, cfg: DataConfig, text: str | None = None) -> str:
    """The format: ``--format``, else the suffix's, else what the first KB looks like."""
    if cfg.format:
        return cfg.format
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        if text is None:  # streaming readers: a look at the first KB
            with open(path, "rb") as handle:
                text = handle.read(1024).decode("utf-8", errors="replace")
        fmt = "tsv" if sniff_delimiter(text) == "\t" else "csv"
        what = "tab-separated" if fmt == "tsv" else "comma-separated"
        logger.warning(
            "warning: %s: unknown suffix %r; it looks %s, so it is read as %s (--format to choose)",
            path,
            path.suffix,
            what,
            fmt.upper(),
        )
    return fmt


def sniff_delimiter(text: str) -> str | None:
    """The delimiter ``csv.Sniffer`` sees in the first KB (comma, tab, semicolon, bar)."""
    try:
        return csv.Sniffer().sniff(text[:1024], delimiters=",\t;|").delimiter
    except csv.Error:
        return None


def delimiter_hint(text: str, fmt: str) -> str:
    """A hint for a column error when the file's delimiter is not the one it was read with."""
    found = sniff_delimiter(text)
    if found == "\t" and fmt != "tsv":
        return "; the file looks tab-separated: pass --format tsv"
    if found == "," and fmt == "tsv":
        return "; the file looks comma-separated: pass --format csv"
    if found in (";", "|"):
        return f"; the file looks {found!r}-separated, which tweetsent does not read: convert it"
    return ""


def check_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file")
    if path.is_file() and path.stat().st_size == 0:  # a pipe's size says nothing: read it
        raise DataError(f"{path}: file is empty")
    fileio.note_input(path)
    return path


def read_table(path: str | Path, cfg: DataConfig) -> pd.DataFrame:
    """Read a CSV / TSV / JSON Lines / Parquet file into a frame of strings (missing as NaN)."""
    cfg = resolve_data_config(cfg)
    if is_saved_dataset(Path(path)):
        fileio.note_input(path)
        return values_to_str(read_saved_dataset(Path(path))).astype(object)
    path = check_file(path)
    fmt = detect_format(path, cfg) if path.suffix.lower() == ".parquet" else None
    header = True if cfg.header is None else cfg.header
    if fmt == "parquet" or cfg.format == "parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for corrupt files
            raise DataError(f"{path}: not a readable Parquet file ({first_line(exc)})") from None
        frame = values_to_str(frame)
    else:
        raw = read_bytes_checked(path, cfg.encoding)  # binary files refused from their head
        try:
            text = decode_bytes(raw, path, cfg.encoding)
        except MemoryError:
            raise DataError(f"{path}: too large to load into memory") from None
        del raw
        fmt = detect_format(path, cfg, text)
        if fmt == "jsonl":
            frame = _read_jsonl(text, path)
        else:
            frame = read_delimited(text, path, fmt, header, cfg.columns)
            frame.attrs["column_hint"] = delimiter_hint(text, fmt)
    frame.columns = [str(c) for c in frame.columns]
    # Strings or NaN, object dtype: an empty or all-null column must not turn into floats.
    return frame.astype(object)


def _read_jsonl(text: str, path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_json(io.StringIO(text), lines=True, dtype=False)
    except (ValueError, TypeError) as exc:  # TypeError: a line that is null, a number, a list
        raise DataError(f"{path}: malformed JSON Lines ({jsonl_problem(text, exc)})") from None
    return values_to_str(frame)


def jsonl_problem(lines, exc: BaseException) -> str:
    """Which line of a JSON Lines text is not a JSON object; pandas' own message does not say."""
    if isinstance(lines, str):
        lines = io.StringIO(lines)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line.removeprefix("\ufeff"))
        except ValueError as bad:
            return f"line {number}: {first_line(bad)}"
        if not isinstance(value, dict):
            return f"line {number}: {json.dumps(value)[:40]} is not a JSON object"
    return first_line(exc)


def values_to_str(frame: pd.DataFrame) -> pd.DataFrame:
    # Typed formats give numbers; an integer column with a null becomes float, and a label
    # must stay "1", not "1.0". Every other reader yields strings, so these do too.
    return frame.apply(lambda col: col.map(_value_to_str))


def _value_to_str(value):
    if value is None or (isinstance(value, float) and value != value):
        return float("nan")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def require_column(frame: pd.DataFrame, column: str | None, role: str, path) -> str:
    if column is None:
        raise ConfigError(
            f"{path}: no {role} column chosen; pass --preset or --{role}-col "
            f"(columns: {_show_columns(frame.columns)})"
        )
    if column not in frame.columns:
        raise DataError(
            f"{path}: no column {column!r}{suggest(column, frame.columns)} "
            f"(columns: {_show_columns(frame.columns)}){frame.attrs.get('column_hint', '')}"
        )
    return column


def _show_columns(columns, most: int = 12, width: int = 40) -> str:
    """Column names for an error line; a header of garbage must not become a page of text."""
    names = [" ".join(str(c).split()) for c in columns]
    shown = [n if len(n) <= width else n[: width - 3] + "..." for n in names[:most]]
    more = f", ... ({len(names) - most} more)" if len(names) > most else ""
    return ", ".join(shown) + more


def load_labelled(path: str | Path, cfg: DataConfig, *, limit: int | None = None) -> LabelledData:
    """Load texts and labels, dropping unusable rows and counting each reason.

    Args:
        path: a CSV, TSV, JSON Lines or Parquet file, or a ``datasets`` folder.
        cfg: how to read it (preset, columns, format, encoding, label cleaning).
        limit: keep only the first ``limit`` usable rows.

    Returns:
        The texts, labels and the count of dropped rows by reason.

    Raises:
        ConfigError: ``limit`` is not a positive integer.
        DataError: the file cannot be read, a column is missing, or no rows are left.
    """
    if limit is not None:
        positive_int("limit", limit)
    cfg = resolve_data_config(cfg)
    texts, labels, keep, _, dropped = _sorted_rows(read_table(path, cfg), cfg, path)
    check_lookalike_labels(labels[keep], path, cfg.drop_multilabel)
    for reason, count in dropped.items():
        logger.debug("%s: skipped %d row(s): %s", path, count, reason)

    rows = [int(i) + 1 for i in texts.index[keep]]
    data = LabelledData(texts[keep].tolist(), labels[keep].tolist(), str(path), dropped, rows)
    if len(data) == 0:
        why = ", ".join(f"{n} {r}" for r, n in dropped.items()) or "the file has no data rows"
        raise DataError(f"{path}: no usable rows after cleaning ({why})")
    if limit is not None and limit < len(data):
        data = data.subset(range(limit))
        data.dropped = dropped
    return data


def load_unlabelled(path: str | Path, cfg: DataConfig) -> list[str]:
    """The texts of the rows :func:`load_labelled` drops for their label (missing, multi-label,
    or a dropped label such as SMILE's ``nocode``): a labelled file's own unlabelled tweets."""
    cfg = resolve_data_config(cfg)
    texts, _, _, unlabelled, _ = _sorted_rows(read_table(path, cfg), cfg, path)
    return texts[unlabelled].tolist()


def _sorted_rows(frame: pd.DataFrame, cfg: DataConfig, path):
    """Texts, labels, the usable rows, the rows with a text but no usable label, and how many
    rows each cleaning reason dropped."""
    text_col = require_column(frame, cfg.text_col, "text", path)
    label_col = require_column(frame, cfg.label_col, "label", path)
    texts = clip_long_texts(frame[text_col], path)
    # NFC: an 'é' typed as e + combining accent is the same label as the composed 'é'.
    labels = frame[label_col].map(
        lambda v: unicodedata.normalize("NFC", v.strip()) if isinstance(v, str) else v
    )
    labels = labels.map(lambda v: cfg.label_names.get(v, v) if isinstance(v, str) else v)

    keep = pd.Series(True, index=frame.index)
    dropped: dict[str, int] = {}

    def drop(reason: str, mask: pd.Series) -> None:
        mask = mask & keep
        if mask.any():
            dropped[reason] = int(mask.sum())
            keep[mask] = False

    drop("empty text", texts.map(is_blank))  # invisible-only texts count as empty
    has_text = keep.copy()
    drop("missing label", labels.map(is_blank))
    if cfg.drop_multilabel:
        drop("multi-label", labels.fillna("").str.contains(cfg.drop_multilabel, regex=False))
    if cfg.drop_labels:
        dropped_labels = [unicodedata.normalize("NFC", x) for x in cfg.drop_labels]
        drop("dropped label", labels.isin(dropped_labels))
    return texts, labels, keep, has_text & ~keep, dropped


def load_texts(path: str | Path, cfg: DataConfig) -> list[str]:
    """Load the text column only (for prediction); empty texts are kept as ''."""
    cfg = resolve_data_config(cfg)
    frame = read_table(path, cfg)
    text_col = cfg.text_col
    if text_col is None and frame.shape[1] == 1:
        text_col = frame.columns[0]
    text_col = require_column(frame, text_col, "text", path)
    return clip_long_texts(frame[text_col], path).fillna("").astype(str).tolist()


# A tweet is at most 280 characters and models read at most 512 tokens; 20,000 characters
# hold 512 tokens of any real text. Longer cells (a runaway quote swallowing a file, a pasted
# book) are cut here so tokenising them costs nothing; the tokenizer truncates the rest.
MAX_TEXT_CHARS = 20_000


def clip_long_texts(texts: pd.Series, path) -> pd.Series:
    """Cut texts longer than ``MAX_TEXT_CHARS`` characters, with a warning and a count."""
    lengths = texts.map(lambda t: len(t) if isinstance(t, str) else 0)
    long = lengths > MAX_TEXT_CHARS
    if not long.any():
        return texts
    logger.warning(
        "%s: %d text(s) longer than %d characters (longest %d) were cut to that length",
        path,
        int(long.sum()),
        MAX_TEXT_CHARS,
        int(lengths.max()),
    )
    return texts.map(lambda t: t[:MAX_TEXT_CHARS] if isinstance(t, str) else t)


__all__ = [
    "MAX_TEXT_CHARS",
    "LabelledData",
    "check_file",
    "decode_bytes",
    "detect_format",
    "load_labelled",
    "load_texts",
    "read_table",
    "require_column",
]
