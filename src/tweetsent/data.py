"""Reading labelled tweet tables: formats, presets, label cleaning and the stratified split."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import difflib
import io
import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tweetsent.config import FORMATS, DataConfig
from tweetsent.errors import ConfigError, DataError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preset:
    description: str
    settings: dict


PRESETS: dict[str, Preset] = {
    "smile": Preset(
        "SMILE Twitter Emotion: CSV, no header (id,text,category); drops 'nocode' and "
        "multi-label rows such as 'happy|sad'",
        dict(
            format="csv",
            header=False,
            columns=["id", "text", "category"],
            text_col="text",
            label_col="category",
            drop_labels=["nocode"],
            drop_multilabel="|",
        ),
    ),
    "covid": Preset(
        "Coronavirus tweets NLP: CSV with header, OriginalTweet / Sentiment, ISO-8859-1",
        dict(
            format="csv",
            header=True,
            text_col="OriginalTweet",
            label_col="Sentiment",
            encoding="ISO-8859-1",
        ),
    ),
    "climate": Preset(
        "Twitter climate-change sentiment: CSV with header, message / sentiment "
        "(-1 anti, 0 neutral, 1 pro, 2 news)",
        dict(
            format="csv",
            header=True,
            text_col="message",
            label_col="sentiment",
            label_names={"-1": "anti", "0": "neutral", "1": "pro", "2": "news"},
        ),
    ),
    "cola": Preset(
        "CoLA: TSV, no header (source, label, notes, sentence); 0 unacceptable, 1 acceptable",
        dict(
            format="tsv",
            header=False,
            columns=["source", "label", "notes", "sentence"],
            text_col="sentence",
            label_col="label",
            label_names={"0": "unacceptable", "1": "acceptable"},
        ),
    ),
}

SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_UTF8_BOM = b"\xef\xbb\xbf"


def resolve_data_config(cfg: DataConfig) -> DataConfig:
    """Fill the fields a preset defines and the user left unset; explicit settings win."""
    if cfg.preset is None:
        return cfg
    if cfg.preset not in PRESETS:
        raise ConfigError(
            f"unknown preset {cfg.preset!r}; choose one of {', '.join(PRESETS)}"
            + _suggest(cfg.preset, PRESETS)
        )
    values = dataclasses.asdict(cfg)
    for key, value in PRESETS[cfg.preset].settings.items():
        if key in ADDITIVE_KEYS:  # the preset's list, then the user's additions
            values[key] = list(dict.fromkeys([*value, *(values.get(key) or [])]))
        elif values.get(key) in (None, [], {}):
            values[key] = value
    return DataConfig(**values)


# List options that add to a preset's list instead of replacing it: `--preset smile
# --drop-labels surprise` still drops SMILE's 'nocode' rows.
ADDITIVE_KEYS = ("drop_labels",)


@dataclass
class LabelledData:
    """Texts with their string labels, and how many rows cleaning dropped and why."""

    texts: list[str]
    labels: list[str]
    source: str = ""
    dropped: dict[str, int] = field(default_factory=dict)

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
        return LabelledData(
            [self.texts[i] for i in indices], [self.labels[i] for i in indices], self.source, {}
        )


def detect_format(path: Path, cfg: DataConfig) -> str:
    if cfg.format:
        return cfg.format
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        logger.warning("%s: unknown suffix %r, reading it as CSV", path, path.suffix)
        return "csv"
    return fmt


def check_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file")
    if path.is_file() and path.stat().st_size == 0:  # a pipe's size says nothing: read it
        raise DataError(f"{path}: file is empty")
    return path


def is_stream(path: str | Path) -> bool:
    """A pipe, FIFO or terminal (``/dev/stdin``, ``<(cat f)``): readable once, not seekable."""
    path = Path(path)
    return path.exists() and not path.is_file() and not path.is_dir()


_HEAD_BYTES = 1 << 16


def read_bytes_checked(path: Path, encoding: str | None) -> bytes:
    """The whole file, refused as binary from its first 64 KiB before the rest is read (a
    2 GB binary file costs no 2 GB of memory), and a one-line error if it does not fit."""
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES + len(_UTF8_BOM))
        if not head:
            raise DataError(f"{path}: file is empty")
        refuse_binary(head, path, encoding)
        try:
            if fh.seekable():
                fh.seek(0)
                return fh.read()
            return head + fh.read()
        except MemoryError:
            size = path.stat().st_size if path.is_file() else 0
            shown = f" ({size / 1e9:.1f} GB)" if size else ""
            raise DataError(
                f"{path}: too large to load into memory{shown}; training, evaluation and "
                "inspection read the whole file, so use part of it (tweetsent predict --input "
                "streams files of any size)"
            ) from None


def refuse_binary(head: bytes, path: Path, encoding: str | None) -> None:
    """The binary-file checks of ``decode_bytes`` on a file's first bytes only."""
    head = head.removeprefix(_UTF8_BOM)
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff")) and not encoding
    utf16 = utf16 or (encoding or "").lower().replace("-", "").replace("_", "").startswith("utf16")
    if utf16:
        return
    if b"\x00" in head[:_HEAD_BYTES]:
        raise DataError(f"{path}: looks like a binary file, not a text table (NUL bytes)")
    try:
        text = head.decode(encoding or "utf-8", errors="ignore")
    except LookupError:
        raise ConfigError(f"unknown encoding {encoding!r}") from None
    controls = sum(1 for ch in text[:_HEAD_BYTES] if ord(ch) < 32 and ch not in "\t\n\r")
    if controls > 0.01 * min(len(text), _HEAD_BYTES):
        raise DataError(f"{path}: looks like a binary file, not a text table (control bytes)")


def decode_bytes(raw: bytes, path: Path, encoding: str | None) -> str:
    """Decode a text file, refusing binary data and bytes no candidate encoding can read.

    Without ``--encoding``: UTF-8 (a byte-order mark says UTF-8 or UTF-16), else cp1252 with a
    warning, else a one-line error. cp1252 is the documented fallback because scraped files
    from Windows tools are mostly cp1252, and it reads genuine latin-1 text identically (they
    differ only in 0x80-0x9F, which latin-1 text does not use). Bytes cp1252 leaves undefined
    (0x81, 0x8D, 0x8F, 0x90, 0x9D) mean the file is in some other encoding: decoding it as
    latin-1 anyway would train on silently garbled text, so we stop and ask for --encoding.
    """
    # A UTF-8 byte-order mark can sit in front of files that are otherwise latin-1 (COVID data).
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM) :]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")) and not encoding:
        encoding = "utf-16"  # Excel's "Unicode text" export
    utf16 = (encoding or "").lower().replace("-", "").replace("_", "").startswith("utf16")
    if b"\x00" in raw[:65536] and not utf16:
        raise DataError(f"{path}: looks like a binary file, not a text table (NUL bytes)")
    if encoding:
        try:
            text = raw.decode(encoding)
        except LookupError:
            raise ConfigError(f"unknown encoding {encoding!r}") from None
        except UnicodeError as exc:
            raise DataError(
                f"{path}: cannot be decoded as {encoding} ({_where(raw, exc)}); "
                "pass the right --encoding"
            ) from None
        text = text.removeprefix("\ufeff")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError as exc2:
                raise DataError(
                    f"{path}: neither UTF-8 ({_where(raw, exc)}) nor cp1252 "
                    f"({_where(raw, exc2)}); pass --encoding, e.g. --encoding latin-1"
                ) from None
            logger.warning(
                "%s: not valid UTF-8 (%s), read as cp1252; pass --encoding to choose",
                path,
                _where(raw, exc),
            )
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\n\r")
    if controls > 0.01 * min(len(text), 65536):
        raise DataError(f"{path}: looks like a binary file, not a text table (control bytes)")
    return text


def _where(raw: bytes, exc: UnicodeError) -> str:
    start = getattr(exc, "start", 0)
    line = raw.count(b"\n", 0, start) + 1
    return f"line {line}, byte 0x{raw[start]:02x}" if start < len(raw) else f"line {line}"


def read_table(path: str | Path, cfg: DataConfig) -> pd.DataFrame:
    """Read a CSV / TSV / JSON Lines / Parquet file into a frame of strings (missing as NaN)."""
    cfg = resolve_data_config(cfg)
    path = check_file(path)
    fmt = detect_format(path, cfg)
    header = True if cfg.header is None else cfg.header
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for corrupt files
            raise DataError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
        frame = _values_to_str(frame)
    else:
        raw = read_bytes_checked(path, cfg.encoding)
        try:
            text = decode_bytes(raw, path, cfg.encoding)
        except MemoryError:
            raise DataError(f"{path}: too large to load into memory") from None
        del raw
        if fmt == "jsonl":
            frame = _read_jsonl(text, path)
        else:
            frame = _read_delimited(text, path, fmt, header, cfg.columns)
    frame.columns = [str(c) for c in frame.columns]
    # Strings or NaN, object dtype: an empty or all-null column must not turn into floats.
    return frame.astype(object)


def _read_delimited(text: str, path: Path, fmt: str, header: bool, columns) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep="\t" if fmt == "tsv" else ",",
            header=0 if header else None,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            # CoLA-style TSVs hold bare quote characters inside sentences.
            quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL,
            on_bad_lines="error",
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no rows or columns") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise DataError(f"{path}: malformed {fmt.upper()} ({_first_line(exc)})") from None
    if not header and columns:
        if len(columns) != frame.shape[1]:
            raise DataError(
                f"{path}: expected {len(columns)} columns ({', '.join(columns)}), "
                f"found {frame.shape[1]}"
            )
        frame.columns = columns
    return frame


def _read_jsonl(text: str, path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_json(io.StringIO(text), lines=True, dtype=False)
    except (ValueError, TypeError) as exc:  # TypeError: a line that is null, a number, a list
        raise DataError(f"{path}: malformed JSON Lines ({_jsonl_problem(text, exc)})") from None
    return _values_to_str(frame)


def _jsonl_problem(lines, exc: BaseException) -> str:
    """Which line of a JSON Lines text is not a JSON object; pandas' own message does not say."""
    if isinstance(lines, str):
        lines = io.StringIO(lines)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line.removeprefix("\ufeff"))
        except ValueError as bad:
            return f"line {number}: {_first_line(bad)}"
        if not isinstance(value, dict):
            return f"line {number}: {json.dumps(value)[:40]} is not a JSON object"
    return _first_line(exc)


def _values_to_str(frame: pd.DataFrame) -> pd.DataFrame:
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
            f"{path}: no column {column!r}{_suggest(column, frame.columns)} "
            f"(columns: {_show_columns(frame.columns)})"
        )
    return column


def _show_columns(columns, most: int = 12, width: int = 40) -> str:
    """Column names for an error line; a header of garbage must not become a page of text."""
    names = [" ".join(str(c).split()) for c in columns]
    shown = [n if len(n) <= width else n[: width - 3] + "..." for n in names[:most]]
    more = f", ... ({len(names) - most} more)" if len(names) > most else ""
    return ", ".join(shown) + more


def load_labelled(path: str | Path, cfg: DataConfig, *, limit: int | None = None) -> LabelledData:
    """Load texts and labels, dropping unusable rows and counting each reason."""
    cfg = resolve_data_config(cfg)
    frame = read_table(path, cfg)
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

    drop("empty text", texts.map(is_blank))
    drop("missing label", labels.map(is_blank))
    if cfg.drop_multilabel:
        drop("multi-label", labels.fillna("").str.contains(cfg.drop_multilabel, regex=False))
    if cfg.drop_labels:
        dropped_labels = [unicodedata.normalize("NFC", x) for x in cfg.drop_labels]
        drop("dropped label", labels.isin(dropped_labels))
    check_lookalike_labels(labels[keep], path, cfg.drop_multilabel)
    for reason, count in dropped.items():
        logger.debug("%s: skipped %d row(s): %s", path, count, reason)

    data = LabelledData(texts[keep].tolist(), labels[keep].tolist(), str(path), dropped)
    if len(data) == 0:
        why = ", ".join(f"{n} {r}" for r, n in dropped.items()) or "the file has no data rows"
        raise DataError(f"{path}: no usable rows after cleaning ({why})")
    if limit is not None and limit < len(data):
        data = data.subset(range(limit))
        data.dropped = dropped
    return data


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
    return data.subset(train_idx), data.subset(val_idx)


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=3, cutoff=0.5)
    if not close:
        # Case-only differences (sentiment vs Sentiment) score low with difflib.
        close = [str(o) for o in options if str(o).lower() == str(word).lower()]
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# --- Streaming: the same tables, read chunk by chunk in constant memory -----------------------
_SCAN_BLOCK = 1 << 16


def stream_encoding(path: Path, encoding: str | None) -> tuple[str, int]:
    """The encoding ``decode_bytes`` would choose for ``path``, found without loading the file.

    Returns ``(encoding, offset)``: decode from byte ``offset`` (past a UTF-8 byte-order mark).
    The same rules and messages as ``decode_bytes``: binary files refused, an explicit encoding
    checked to the last byte, else UTF-8, falling back to cp1252 (then latin-1) with a warning.
    """
    with path.open("rb") as fh:
        head = fh.read(4 * 65536 + len(_UTF8_BOM))
    offset = len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0
    head = head[offset:]
    if b"\x00" in head[:65536]:
        raise DataError(f"{path}: looks like a binary file, not a text table (NUL bytes)")
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ConfigError(f"unknown encoding {encoding!r}") from None
        bad = _first_undecodable(path, offset, encoding)
        if bad is not None:
            raise DataError(
                f"{path}: cannot be decoded as {encoding} (byte {bad}); pass the right --encoding"
            )
        return encoding, offset
    used = "utf-8"
    bad = _first_undecodable(path, offset, "utf-8")
    if bad is not None:
        used = "cp1252" if _first_undecodable(path, offset, "cp1252") is None else "latin-1"
        logger.warning(
            "%s: not valid UTF-8 (byte %d), read as %s; pass --encoding to choose", path, bad, used
        )
    # The head holds at least 65,536 characters unless it is the whole file, as in decode_bytes.
    text = head.decode(used, errors="ignore")
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\n\r")
    if controls > 0.01 * min(len(text), 65536):
        raise DataError(f"{path}: looks like a binary file, not a text table (control bytes)")
    return used, offset


def _first_undecodable(path: Path, offset: int, encoding: str) -> int | None:
    """Byte position (after ``offset``) of the first byte ``encoding`` rejects, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    done = 0
    with path.open("rb") as fh:
        fh.seek(offset)
        while True:
            block = fh.read(_SCAN_BLOCK)
            pending = len(decoder.getstate()[0])  # bytes of a character cut by the block end
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                return done - pending + exc.start
            if not block:
                return None
            done += len(block)


def read_table_chunks(path: str | Path, cfg: DataConfig, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Read a table as consecutive frames of exactly ``chunk_rows`` rows (the last may be short).

    The streaming twin of ``read_table``: same formats, options, encoding rules and errors, but
    memory bounded by a chunk whatever the file size. Parquet is read batch by batch through
    pyarrow. Frames are numbered on from the previous one (row ``i`` of the file has index
    ``i``). A table without rows yields one empty frame, so its columns are still known.

    >>> for chunk in read_table_chunks("tweets.csv", DataConfig(), 1000): ...  # doctest: +SKIP
    """
    if not isinstance(chunk_rows, int) or chunk_rows <= 0:
        raise ConfigError(f"chunk size must be a positive number of rows, got {chunk_rows!r}")
    cfg = resolve_data_config(cfg)
    path = check_file(path)
    fmt = detect_format(path, cfg)
    if fmt == "parquet":
        frames = _parquet_chunks(path, chunk_rows)
    else:
        encoding, offset = stream_encoding(path, cfg.encoding)
        frames = _text_chunks(path, fmt, cfg, encoding, offset, chunk_rows)
    return _exact_chunks(frames, chunk_rows)


def _text_chunks(path: Path, fmt: str, cfg: DataConfig, encoding: str, offset: int, size: int):
    header = True if cfg.header is None else cfg.header
    with path.open("rb") as raw:
        raw.seek(offset)
        # newline="": the parser sees \r\n inside quoted fields as read_table does.
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        try:
            if fmt == "jsonl":
                reader = pd.read_json(text, lines=True, dtype=False, chunksize=size)
            else:
                reader = pd.read_csv(
                    text,
                    sep="\t" if fmt == "tsv" else ",",
                    header=0 if header else None,
                    dtype=str,
                    keep_default_na=False,
                    na_values=[""],
                    quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL,
                    on_bad_lines="error",
                    chunksize=size,
                )
            columns = None
            for frame in reader:
                if fmt == "jsonl":
                    frame = _values_to_str(frame)
                    columns = _same_json_columns(frame, columns, path)
                    frame = frame.reindex(columns=columns)
                elif not header and cfg.columns:
                    if len(cfg.columns) != frame.shape[1]:
                        raise DataError(
                            f"{path}: expected {len(cfg.columns)} columns "
                            f"({', '.join(cfg.columns)}), found {frame.shape[1]}"
                        )
                    frame.columns = cfg.columns
                frame.columns = [str(c) for c in frame.columns]
                yield frame
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: no rows or columns") from None
        except (pd.errors.ParserError, ValueError, TypeError, csv.Error) as exc:
            if fmt == "jsonl":
                with path.open(encoding=encoding, errors="replace", newline="") as lines:
                    problem = _jsonl_problem(lines, exc)
                raise DataError(f"{path}: malformed JSON Lines ({problem})") from None
            raise DataError(f"{path}: malformed {fmt.upper()} ({_first_line(exc)})") from None


def _same_json_columns(frame: pd.DataFrame, columns: list | None, path: Path) -> list:
    # A chunk cannot know the keys of later lines: the first chunk's keys make the columns.
    if columns is None:
        return list(frame.columns)
    extra = [c for c in frame.columns if c not in columns]
    if extra:
        logger.warning(
            "%s: key(s) %s first appear at row %d, after the columns were fixed; ignored",
            path,
            ", ".join(map(repr, extra)),
            frame.index[0] + 1,
        )
    return columns


def _parquet_chunks(path: Path, size: int):
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
        batches = source.iter_batches(batch_size=size)
        empty = True
        for batch in batches:
            empty = False
            # Integer columns with nulls stay integers, whichever chunk the nulls fall in.
            yield _values_to_str(batch.to_pandas(integer_object_nulls=True).rename(columns=str))
        if empty:
            yield source.schema_arrow.empty_table().to_pandas().rename(columns=str)
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise DataError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None


def _exact_chunks(frames, size: int) -> Iterator[pd.DataFrame]:
    """Re-cut frames of any length into frames of exactly ``size`` rows, numbered on."""
    pending: list[pd.DataFrame] = []
    held = 0
    start = 0
    first = None
    for frame in frames:
        if first is None:
            first = frame.iloc[:0]
        if len(frame) == 0:
            continue
        pending.append(frame)
        held += len(frame)
        while held >= size:
            joined = pd.concat(pending) if len(pending) > 1 else pending[0]
            chunk, rest = joined.iloc[:size], joined.iloc[size:]
            # object dtype, as read_table returns: strings or NaN, never floats
            yield chunk.set_axis(pd.RangeIndex(start, start + size)).astype(object)
            start += size
            pending, held = ([rest] if len(rest) else []), len(rest)
    if held:
        joined = pd.concat(pending) if len(pending) > 1 else pending[0]
        yield joined.set_axis(pd.RangeIndex(start, start + held)).astype(object)
    elif start == 0 and first is not None:
        yield first.reset_index(drop=True).astype(object)


__all__ = [
    "FORMATS",
    "PRESETS",
    "LabelledData",
    "load_labelled",
    "load_texts",
    "read_table",
    "read_table_chunks",
    "resolve_data_config",
    "stratified_split",
]
