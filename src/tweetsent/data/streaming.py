"""Streaming: the same tables as ``read_table``, read chunk by chunk in constant memory."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from tweetsent.config import DataConfig
from tweetsent.data.delimited import check_header, checked_delimited, csv_options, first_line
from tweetsent.data.encoding import stream_encoding
from tweetsent.data.presets import resolve_data_config
from tweetsent.data.reading import check_file, detect_format, jsonl_problem, values_to_str
from tweetsent.errors import ConfigError, DataError

logger = logging.getLogger(__name__)


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
                sample = _start_of(path, offset, encoding)
                check_header(sample, fmt, header, path)
                options = csv_options(fmt, header, sample)
                reader = pd.read_csv(text, **options, chunksize=size)
            columns = None
            for frame in reader:
                if fmt == "jsonl":
                    frame = values_to_str(frame)
                    columns = _same_json_columns(frame, columns, path)
                    frame = frame.reindex(columns=columns)
                else:
                    frame = checked_delimited(frame, path, fmt, header, cfg.columns)
                frame.columns = [str(c) for c in frame.columns]
                yield frame
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: no rows or columns") from None
        except (pd.errors.ParserError, ValueError, TypeError, csv.Error) as exc:
            if fmt == "jsonl":  # TypeError: a line that is null, a number, a list
                with path.open(encoding=encoding, errors="replace", newline="") as lines:
                    problem = jsonl_problem(lines, exc)
                raise DataError(f"{path}: malformed JSON Lines ({problem})") from None
            raise DataError(f"{path}: malformed {fmt.upper()} ({first_line(exc)})") from None


_SAMPLE_BYTES = 1 << 16  # a TSV's quoting and the header are told from its first 64 KiB


def _start_of(path: Path, offset: int, encoding: str) -> str:
    with path.open("rb") as raw:
        raw.seek(offset)
        head = raw.read(_SAMPLE_BYTES)
    return head.decode(encoding, errors="ignore")


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
            yield values_to_str(batch.to_pandas(integer_object_nulls=True).rename(columns=str))
        if empty:
            yield source.schema_arrow.empty_table().to_pandas().rename(columns=str)
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise DataError(f"{path}: not a readable Parquet file ({first_line(exc)})") from None


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


__all__ = ["read_table_chunks"]
